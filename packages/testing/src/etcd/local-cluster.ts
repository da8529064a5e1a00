import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@ztap/cluster';
import { WaitTimeoutError } from '../errors.ts';
import { type EtcdBinary, resolveEtcdBinary } from './binary.ts';
import { trackDir, untrackDir } from './cleanup.ts';
import { type MemberStatus, memberStatus } from './etcd-api.ts';
import { isAddressInUse, LocalEtcdMember } from './local-member.ts';
import { freeLoopbackPorts } from './ports.ts';
import { pollUntil } from './timing.ts';
import type {
  EtcdCluster,
  EtcdClusterOptions,
  EtcdMember,
  EtcdServerTls,
  StartEtcdClusterOptions,
  WaitOptions,
} from './types.ts';

/** A cluster start that fails because a port was taken between picking and binding it is retried. */
const START_ATTEMPTS = 3;
const DEFAULT_STARTUP_TIMEOUT_MS = 20_000;
const DEFAULT_LEADER_TIMEOUT_MS = 10_000;
/** How long a leader whose followers are gone gets to exit on SIGTERM at teardown (see `stop()`). */
const LAST_LEADER_GRACE_MS = 500;

/** What each member said about the raft leader, for a timeout's message: `etcd-1 leads; etcd-2 follows etcd-1; etcd-3 is paused`. */
function describeStatuses(
  members: readonly LocalEtcdMember[],
  asked: readonly LocalEtcdMember[],
  statuses: readonly (MemberStatus | undefined)[],
): string {
  const names = new Map<string, string>();
  asked.forEach((member, index) => {
    const status = statuses[index];
    if (status) names.set(status.memberId, member.name);
  });
  return members
    .map((member) => {
      if (!member.running) return `${member.name} is not running`;
      if (member.paused) return `${member.name} is paused`;
      const status = statuses[asked.indexOf(member)];
      if (!status) return `${member.name} does not answer`;
      if (status.leaderId === '0') return `${member.name} knows no leader`;
      if (status.leaderId === status.memberId) return `${member.name} leads`;
      return `${member.name} follows ${names.get(status.leaderId) ?? `member ${status.leaderId}`}`;
    })
    .join('; ');
}

class LocalEtcdCluster implements EtcdCluster {
  readonly provider = 'local';
  readonly endpoints: readonly string[];
  readonly description: string;
  readonly members: readonly LocalEtcdMember[];
  readonly version: string;
  readonly tls: EtcdServerTls | undefined;
  readonly #root: string;
  #stopped: Promise<void> | undefined;

  constructor(
    binary: EtcdBinary,
    root: string,
    members: readonly LocalEtcdMember[],
    tls: EtcdServerTls | undefined,
  ) {
    this.#root = root;
    this.members = members;
    this.version = binary.version;
    this.tls = tls;
    this.endpoints = members.map((member) => member.clientUrl);
    const where = this.endpoints.map((url) => new URL(url).host).join(', ');
    const what = members.length === 1 ? 'local etcd' : `local etcd cluster of ${members.length},`;
    const secured = !tls ? '' : tls.clientCert ? ' over TLS with client certificates' : ' over TLS';
    this.description = `${what} ${binary.version} (${binary.path}) on ${where}${secured}`;
  }

  async leader(options: WaitOptions = {}): Promise<EtcdMember> {
    const { timeoutMs = DEFAULT_LEADER_TIMEOUT_MS, signal } = options;
    let seen = '';
    return pollUntil(
      async () => {
        const candidates = this.members.filter((member) => member.running && !member.paused);
        const statuses = await Promise.all(
          candidates.map((member) => memberStatus(member.clientUrl, 500, member.probeTls)),
        );
        seen = describeStatuses(this.members, candidates, statuses);
        const answered = statuses.filter((status) => status !== undefined);
        const leaderIndex = statuses.findIndex(
          (status) => status !== undefined && status.leaderId === status.memberId,
        );
        const leaderId = statuses[leaderIndex]?.memberId;
        // Settled: the leader says so and every member that answers follows it (a member that has not
        // heard of it yet would not forward requests).
        return answered.every((status) => status.leaderId === leaderId) ? candidates[leaderIndex] : undefined;
      },
      {
        timeoutMs,
        onTimeout: () => new WaitTimeoutError('the etcd members to agree on a raft leader', timeoutMs, seen),
        signal,
      },
    );
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      // Followers first, then the leader with a short grace: on SIGTERM a leader hands leadership to a
      // peer it believes alive, and one that just exited keeps it waiting for seconds (the transfer
      // timeout); its data is about to be deleted, so there is nothing to wait for.
      const leaders = await this.#currentLeaders();
      await Promise.all(
        this.members.filter((member) => !leaders.includes(member)).map((member) => member.stop()),
      );
      await Promise.all(leaders.map((member) => member.stop(LAST_LEADER_GRACE_MS)));
      await rm(this.#root, { recursive: true, force: true, maxRetries: 5 });
      untrackDir(this.#root);
    })();
    return this.#stopped;
  }

  /** The members that say they lead, asked once (no waiting for an election). */
  async #currentLeaders(): Promise<LocalEtcdMember[]> {
    const candidates = this.members.filter((member) => member.running && !member.paused);
    const statuses = await Promise.all(
      candidates.map((member) => memberStatus(member.clientUrl, 500, member.probeTls)),
    );
    return candidates.filter((_, index) => {
      const status = statuses[index];
      return status !== undefined && status.leaderId === status.memberId;
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

async function launch(
  binary: EtcdBinary,
  size: number,
  options: EtcdClusterOptions,
): Promise<LocalEtcdCluster> {
  const root = await mkdtemp(join(tmpdir(), 'ztap-etcd-'));
  trackDir(root);
  const ports = await freeLoopbackPorts(size * 2);
  const names = Array.from({ length: size }, (_, index) => `etcd-${index + 1}`);
  const advertised = await Promise.all(
    names.map(async (name, index) => {
      const peerUrl = `http://127.0.0.1:${ports[2 * index + 1]}`;
      return (await options.advertisePeerUrl?.({ name, index, peerUrl })) ?? peerUrl;
    }),
  );
  const initialCluster = names.map((name, index) => `${name}=${advertised[index]}`).join(',');
  const clusterToken = `ztap-${randomUUID()}`;
  const members = names.map(
    (name, index) =>
      new LocalEtcdMember({
        name,
        binary: binary.path,
        dir: join(root, name),
        clientPort: ports[2 * index] as number,
        peerPort: ports[2 * index + 1] as number,
        initialCluster,
        clusterToken,
        extraArgs: options.extraArgs ?? [],
        tls: options.tls,
        advertisePeerUrl: advertised[index],
      }),
  );
  const cluster = new LocalEtcdCluster(binary, root, members, options.tls);
  try {
    // All members first: none is healthy before a quorum of them runs.
    for (const member of members) await member.start();
    const timeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    await Promise.all(members.map((member) => member.waitForHealth({ timeoutMs, signal: options.signal })));
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/**
 * Starts `size` local etcd members (see {@link startEtcdCluster}); what `startEtcd` uses for one.
 */
export async function startLocalEtcd(size: number, options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  options.signal?.throwIfAborted();
  const binary = await resolveEtcdBinary();
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(binary, size, options);
    } catch (error) {
      if (!isAddressInUse(error) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

/**
 * Starts an etcd cluster of `options.members` local etcd processes (`ETCD_BIN`, else the `etcd` on
 * `PATH`) on free loopback ports, each with its own data dir under one fresh temp dir, and resolves once
 * every member is healthy. Its {@link EtcdCluster.members} can be killed, paused and restarted, and
 * {@link EtcdCluster.leader} finds the raft leader. Fast raft timers (heartbeat 25 ms, election timeout
 * 250 ms) keep etcd's own elections short.
 *
 * Throws a {@link NoEtcdError} (with install hints) when there is no binary, and an
 * {@link EtcdStartError} ending with the failing member's log when a member does not become healthy.
 * Whatever happens, the processes and dirs are gone by the time this process exits.
 *
 * @example
 * ```ts
 * await using etcd = await startEtcdCluster({ members: 3 });
 * const leader = await etcd.leader();
 * await leader.kill(); // SIGKILL: the other two elect a new raft leader and keep serving
 * ```
 */
export function startEtcdCluster(options: StartEtcdClusterOptions): Promise<EtcdCluster> {
  const { members, ...rest } = options;
  if (!Number.isInteger(members) || members < 1) {
    return Promise.reject(
      new ValidationError(
        'members',
        `must be a whole number of at least 1 (got ${JSON.stringify(members) ?? String(members)})`,
      ),
    );
  }
  return startLocalEtcd(members, rest);
}
