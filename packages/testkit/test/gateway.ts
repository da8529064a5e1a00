/** Plain requests to etcd's v3 JSON gateway and /health, for tests of the topology itself. */
const base64 = (text: string) => Buffer.from(text).toString('base64');

async function v3(endpoint: string, path: string, body: object): Promise<unknown> {
  const response = await fetch(`${endpoint}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`${path} via ${endpoint}: ${response.status} ${await response.text()}`);
  return response.json();
}

export async function put(endpoint: string, key: string, value: string): Promise<void> {
  await v3(endpoint, '/v3/kv/put', { key: base64(key), value: base64(value) });
}

/** A linearizable read. */
export async function get(endpoint: string, key: string): Promise<string | undefined> {
  const result = (await v3(endpoint, '/v3/kv/range', { key: base64(key) })) as { kvs?: { value?: string }[] };
  const value = result.kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
}

export async function memberNames(endpoint: string): Promise<string[]> {
  const result = (await v3(endpoint, '/v3/cluster/member/list', {})) as { members: { name: string }[] };
  return result.members.map((member) => member.name).sort();
}

/** Whether the member answers /health with health "true" (it has a leader and serves a quorum read). */
export async function isHealthy(endpoint: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok && ((await response.json()) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}
