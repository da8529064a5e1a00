/**
 * A fleet through an etcd outage: three candidates (node processes that write fenced and publish
 * policies while they lead) and a fleet of member agents, each with an etcd client of its own, many
 * per process (the bench's fleet processes); the whole etcd cluster frozen (SIGSTOP) for 3 × TTL, so
 * every lease expires at once and every agent comes back together. The oracle: at most one leader at
 * every instant and no stale fenced write accepted (the candidates), no member ever leads, every
 * agent registered again, and every agent's final policies equal etcd's.
 *
 * Small in `pnpm test` (24 agents); `pnpm test:chaos` runs ZTAP_CHAOS_FLEET_AGENTS (200) agents.
 */
import { describe, it } from 'vitest';
import { Fleet } from '../../packages/bench/src/fleet.ts';
import { eventually, within } from '../support/etcd.ts';
import { msBetween, nowNs, runTrials, TRIALS, TTL_MS, useEtcdCluster } from './harness.ts';

const etcd = useEtcdCluster();
const AGENTS = Number(process.env.ZTAP_CHAOS_FLEET_AGENTS ?? 24);
const PROCESSES = AGENTS >= 100 ? 4 : 2;

/** Per agent, the latest version of each policy it reported. */
function agentPolicies(fleet: Fleet): Map<string, Map<string, number>> {
  const byAgent = new Map<string, Map<string, number>>();
  for (const event of fleet.events('policy')) {
    let policies = byAgent.get(event.node);
    if (!policies) {
      policies = new Map();
      byAgent.set(event.node, policies);
    }
    const name = String(event.name);
    policies.set(name, Math.max(policies.get(name) ?? 0, Number(event.version)));
  }
  return byAgent;
}

describe('chaos: a fleet through an etcd outage', () => {
  it(
    `${AGENTS} agents and 3 candidates, the whole etcd frozen for 3 × TTL`,
    async () => {
      await runTrials(etcd, 'fleet-outage', TRIALS, async (trial) => {
        for (const id of ['c1', 'c2', 'c3'])
          await trial.node(id, { writeEveryMs: 100, policyEveryMs: 300, watchPolicies: true });
        await trial.leader();
        const fleet = Fleet.start({
          endpoints: etcd.cluster.endpoints,
          prefix: trial.prefix,
          agents: AGENTS,
          processes: PROCESSES,
          candidates: 0,
          electionTimeoutMs: TTL_MS,
          heartbeatMs: 500,
          startWindowMs: 1000,
        });
        try {
          const started = await fleet.waitAllStarted(120_000);
          await trial.acceptedWrite(0n);
          const pausedAt = nowNs();
          for (const member of etcd.cluster.members) member.pause();
          // The fault itself: the outage lasts 3 × TTL, so every lease expires in it.
          await new Promise((resolve) => setTimeout(resolve, 3 * TTL_MS));
          for (const member of etcd.cluster.members) member.resume();
          const resumedAt = nowNs();
          const write = await trial.acceptedWrite(resumedAt);
          // Every agent's lease expired in the outage: each must have registered again. Agents stamp
          // events in hrtime milliseconds, the same clock as nowNs().
          await eventually(
            () => fleet.firstPerAgent('live', Number(pausedAt) / 1e6).size === AGENTS,
            60_000,
            'every agent to register again',
          ).catch(() => {});
          const registered = fleet.firstPerAgent('live', Number(pausedAt) / 1e6).size;
          await trial.finish(
            'fleet through an etcd outage',
            {
              agents: AGENTS,
              failedStarts: started.failedStarts,
              writesResumedMs: msBetween(resumedAt, write.at),
              registeredAgain: registered,
            },
            {
              policies: true,
              checks: async () => {
                const violations: string[] = [];
                if (registered < AGENTS)
                  violations.push(`${AGENTS - registered} agents never registered again`);
                if (fleet.maxConcurrentLeaders() > 0) violations.push('a member (never a candidate) led');
                // The writers are quiet now: every agent must reach exactly what etcd holds.
                const expected = async () =>
                  Object.fromEntries(
                    (await etcd.client.getAll().prefix(`${trial.prefix}policies/`).exec()).kvs.map((kv) => [
                      kv.key.toString().slice(`${trial.prefix}policies/`.length),
                      Number(kv.mod_revision),
                    ]),
                  );
                const mismatches = async () => {
                  const want = await expected();
                  const have = agentPolicies(fleet);
                  return fleet.ids.filter((id) => {
                    const own = have.get(id) ?? new Map<string, number>();
                    return Object.entries(want).some(([name, version]) => own.get(name) !== version);
                  });
                };
                let stale: string[] = [];
                await eventually(
                  async () => {
                    stale = await mismatches();
                    return stale.length === 0;
                  },
                  20_000,
                  "every agent's policies to equal etcd's",
                ).catch(() => {});
                if (stale.length > 0)
                  violations.push(
                    `agents whose policies differ from etcd's: ${stale.slice(0, 10).join(', ')}`,
                  );
                return violations;
              },
            },
          );
        } finally {
          await within(fleet.stop(), 60_000, 'the fleet to stop').catch(() => {});
        }
      });
    },
    TRIALS * 240_000 + 60_000,
  );
});
