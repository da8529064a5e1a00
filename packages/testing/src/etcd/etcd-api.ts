import { httpRequest, targetOfUrl } from './http.ts';
import type { ProbeTls } from './tls.ts';

/**
 * Whether the etcd member at `clientUrl` says `{"health":"true"}`: it has a leader and served a quorum
 * read. Any failure (refused, timed out, unhealthy) is `false`.
 */
export async function isHealthy(clientUrl: string, timeoutMs: number, tls?: ProbeTls): Promise<boolean> {
  try {
    const response = await httpRequest(targetOfUrl(clientUrl, tls), { path: '/health', timeoutMs });
    return response.status === 200 && (JSON.parse(response.body) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}

/**
 * What a member says about itself: its raft member id and the leader it follows, as decimal strings;
 * `leaderId` is `'0'` while it knows no leader.
 */
export interface MemberStatus {
  readonly memberId: string;
  readonly leaderId: string;
}

/**
 * The member's status through the v3 gRPC gateway (`/v3/...`, etcd 3.4 and later), or `undefined` when it
 * does not answer within `timeoutMs`.
 */
export async function memberStatus(
  clientUrl: string,
  timeoutMs: number,
  tls?: ProbeTls,
): Promise<MemberStatus | undefined> {
  try {
    const response = await httpRequest(targetOfUrl(clientUrl, tls), {
      method: 'POST',
      path: '/v3/maintenance/status',
      body: '{}',
      timeoutMs,
    });
    if (response.status !== 200) return undefined;
    const status = JSON.parse(response.body) as { header?: { member_id?: string }; leader?: string };
    const memberId = status.header?.member_id;
    // The gateway leaves out zero values: no `leader` means none.
    return memberId ? { memberId, leaderId: status.leader ?? '0' } : undefined;
  } catch {
    return undefined;
  }
}

/** The server version etcd at `clientUrl` reports (`GET /version`), e.g. `3.4.23`. */
export async function etcdVersion(clientUrl: string, timeoutMs: number, tls?: ProbeTls): Promise<string> {
  const response = await httpRequest(targetOfUrl(clientUrl, tls), { path: '/version', timeoutMs });
  const version =
    response.status === 200 ? (JSON.parse(response.body) as { etcdserver?: unknown }).etcdserver : undefined;
  if (typeof version !== 'string')
    throw new Error(`etcd at ${clientUrl} answered /version with ${response.status} ${response.body}`);
  return version;
}

/** The member names the etcd at `clientUrl` lists (`/v3/cluster/member/list`), sorted. */
export async function listMemberNames(
  clientUrl: string,
  timeoutMs: number,
  tls?: ProbeTls,
): Promise<string[]> {
  const response = await httpRequest(targetOfUrl(clientUrl, tls), {
    method: 'POST',
    path: '/v3/cluster/member/list',
    body: '{}',
    timeoutMs,
  });
  if (response.status !== 200)
    throw new Error(`etcd at ${clientUrl} answered the member list with ${response.status} ${response.body}`);
  const { members = [] } = JSON.parse(response.body) as { members?: { name?: string }[] };
  return members.map((member) => member.name ?? '').sort();
}
