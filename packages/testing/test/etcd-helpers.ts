import { readFileSync } from 'node:fs';
import { httpRequest, targetOfUrl } from '../src/etcd/http.ts';

const base64 = (text: string) => Buffer.from(text).toString('base64');

async function v3(endpoint: string, path: string, body: object): Promise<unknown> {
  const response = await httpRequest(targetOfUrl(endpoint), {
    method: 'POST',
    path,
    body: JSON.stringify(body),
    timeoutMs: 5_000,
  });
  if (response.status !== 200)
    throw new Error(`${path} via ${endpoint}: ${response.status} ${response.body}`);
  return JSON.parse(response.body);
}

/** Writes a key through etcd's v3 JSON gateway. */
export async function put(endpoint: string, key: string, value: string): Promise<void> {
  await v3(endpoint, '/v3/kv/put', { key: base64(key), value: base64(value) });
}

/** Reads a key (a linearizable read) through etcd's v3 JSON gateway. */
export async function get(endpoint: string, key: string): Promise<string | undefined> {
  const result = (await v3(endpoint, '/v3/kv/range', { key: base64(key) })) as { kvs?: { value?: string }[] };
  const value = result.kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
}

/** The names of the cluster's members, as the member at `endpoint` lists them. */
export async function memberNames(endpoint: string): Promise<string[]> {
  const result = (await v3(endpoint, '/v3/cluster/member/list', {})) as { members: { name: string }[] };
  return result.members.map((member) => member.name).sort();
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** The scheduler state of a process from /proc (Linux): `T` when stopped by SIGSTOP. */
export function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** The backend quota an etcd reports on /metrics: proves flags given to the launcher reached etcd. */
export async function quotaBackendBytes(endpoint: string): Promise<number> {
  const metrics = await httpRequest(targetOfUrl(endpoint), { path: '/metrics', timeoutMs: 5_000 });
  const line = metrics.body.split('\n').find((entry) => entry.startsWith('etcd_server_quota_backend_bytes '));
  return Number(line?.split(' ')[1]);
}
