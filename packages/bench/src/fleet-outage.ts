/**
 * One etcd outage of a running fleet: etcd frozen (SIGSTOP) for `freezeMs`, then resumed; where the
 * time to recover goes, per agent: lease loss detected, member record back (re-grant + re-register),
 * view rebuilt (re-list), new leader known.
 */
import { type Fleet, percentile } from './fleet.ts';
import { nowMs, sleep } from './time.ts';

export interface OutageResult {
  readonly freezeMs: number;
  /** Resume → the first agent leads (ms); undefined if none did within the wait. */
  readonly leaderMs: number | undefined;
  /** Resume → every agent is live again (ms). */
  readonly allLiveMs: number | undefined;
  /** Resume → every agent knows the new leader (ms). */
  readonly allKnowMs: number | undefined;
  readonly agentsLive: number;
  /** Leaderless time: the old leader's step-down → the new leader (ms). */
  readonly leaderlessMs: number | undefined;
  readonly maxConcurrentLeaders: number;
  /** Per phase, ms after resume: p50 / p99 / max over agents, and how many agents had one. */
  readonly phases: Readonly<Record<string, { n: number; p50: number; p99: number; max: number }>>;
}

export interface Freezable {
  pause(): void;
  resume(): void;
}

export async function freezeAndRecover(
  fleet: Fleet,
  etcd: Freezable,
  freezeMs: number,
  recoverTimeoutMs: number,
): Promise<OutageResult> {
  const frozenAt = nowMs();
  etcd.pause();
  await sleep(freezeMs);
  etcd.resume();
  const resumedAt = nowMs();
  const deadline = resumedAt + recoverTimeoutMs;
  const ids = fleet.ids;
  let leaderAt: number | undefined;
  let allLiveAt: number | undefined;
  let allKnowAt: number | undefined;
  while (nowMs() < deadline) {
    const lead = fleet.firstLeadSince(resumedAt);
    leaderAt ??= lead?.at;
    const live = fleet.firstPerAgent('live', frozenAt);
    if (allLiveAt === undefined && live.size === ids.length) allLiveAt = Math.max(...live.values());
    if (lead && allKnowAt === undefined) {
      const knows = fleet.firstPerAgent('knows', resumedAt, (event) => event.leader === lead.node);
      if (knows.size === ids.length) allKnowAt = Math.max(...knows.values());
    }
    if (leaderAt !== undefined && allLiveAt !== undefined && allKnowAt !== undefined) break;
    await sleep(100);
  }
  const stepDown = fleet
    .events('unlead', frozenAt)
    .sort((a, b) => a.at - b.at)
    .find((event) => event.at < (leaderAt ?? Number.POSITIVE_INFINITY));
  const phase = (kind: string, test?: (event: { readonly [field: string]: unknown }) => boolean) => {
    const values = [...fleet.firstPerAgent(kind, resumedAt, test).values()].map((at) => at - resumedAt);
    return {
      n: values.length,
      p50: Math.round(percentile(values, 50)),
      p99: Math.round(percentile(values, 99)),
      max: Math.round(Math.max(...values)),
    };
  };
  const since = (at: number | undefined) => (at === undefined ? undefined : Math.round(at - resumedAt));
  return {
    freezeMs,
    leaderMs: since(leaderAt),
    allLiveMs: since(allLiveAt),
    allKnowMs: since(allKnowAt),
    agentsLive: fleet.firstPerAgent('live', frozenAt).size,
    leaderlessMs:
      leaderAt !== undefined && stepDown !== undefined ? Math.round(leaderAt - stepDown.at) : undefined,
    maxConcurrentLeaders: fleet.maxConcurrentLeaders(),
    phases: {
      'lease loss detected': phase('lost'),
      're-listed': phase('resync'),
      'member record back': phase('live'),
      'knows a leader': phase('knows', (event) => event.leader !== null),
    },
  };
}
