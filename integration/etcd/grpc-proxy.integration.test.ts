/**
 * etcd's gRPC proxy as a deployment: the conformance suites and the leader-safety tests with every
 * node connecting through `etcd grpc-proxy start` (the test's own client stays direct, to read what
 * is really in etcd), and what the proxy changes about leases checked against etcd itself.
 *
 * The proxy answers a client's keepalive with the answer to a keepalive of its own (it keeps each
 * lease alive itself, through one Go client, for as long as clients ask): the step-down deadline is
 * only safe if no answer vouches for a renewal etcd made before the client asked (docs/operations.md).
 */
import { isLeadershipLostError } from '@ztap/cluster';
import { startEtcd, startGrpcProxy, waitUntilLeads } from '@ztap/cluster-testing';
import { describe, expect, it } from 'vitest';
import { eventually, uniqueCluster, useEtcd } from '../support/etcd.ts';
import { describeEtcdConformance } from './etcd-conformance.ts';
import { describeEtcdPolicyConformance } from './etcd-policy-conformance.ts';
import { describeLeaderSafety, safetyFixture, TTL_MS } from './leader-safety.ts';

const etcd = useEtcd({ via: 'grpc-proxy' });
const { node } = safetyFixture(etcd);

describeEtcdConformance(etcd, 'etcd through the gRPC proxy');
describeEtcdPolicyConformance(etcd, 'etcd through the gRPC proxy');
describeLeaderSafety(etcd, 'through the gRPC proxy');

describe('leases through the gRPC proxy', () => {
  it('no keepalive answer vouches for more than etcd itself grants: the deadline stays within the lease', async () => {
    const a = node('a', uniqueCluster('proxy-lease'));
    const renewals: { validUntilMs: number }[] = [];
    a.onLeaseRenewed((renewal) => renewals.push(renewal));
    await a.start();
    await waitUntilLeads(a);
    const checks: { deadline: number; latestExpiry: number }[] = [];
    while (checks.length < 12) {
      await eventually(() => renewals.length > checks.length, 10_000, 'a renewal');
      const deadline = a.leadershipValidUntil as number;
      // etcd's own word, not the proxy's: its remaining TTL, truncated to whole seconds, bounds the
      // expiry from above by the answer's receipt + TTL + 1 s.
      const { TTL } = await etcd.client.leaseClient.leaseTimeToLive({ ID: a.leaseId as string });
      const latestExpiry = a.clock.monotonicNow() + (Number(TTL) + 1) * 1000;
      checks.push({ deadline, latestExpiry });
    }
    for (const { deadline, latestExpiry } of checks) expect(deadline).toBeLessThan(latestExpiry);
  }, 60_000);

  it('etcd frozen behind the proxy: the leader steps down at its deadline, and after etcd resumes one node leads', async () => {
    // An etcd of its own, from the local binary: freezing needs its process, which a container
    // (CI's shared etcd) does not hand out.
    const frozen = await startEtcd({ provider: 'local' });
    const proxy = await startGrpcProxy(frozen);
    try {
      const cluster = uniqueCluster('proxy-etcd-frozen');
      const endpoints = [...proxy.endpoints];
      const a = node('a', cluster, { requestTimeout: 500, endpoints });
      await a.start();
      await waitUntilLeads(a);
      const b = node('b', cluster, { endpoints });
      await b.start();
      const renewals: number[] = [];
      a.onLeaseRenewed(({ validUntilMs }) => renewals.push(validUntilMs));
      await eventually(() => renewals.length >= 2, 10_000, 'renewals through the proxy');
      const signal = a.leadershipSignal;
      let endedAt = 0;
      signal.addEventListener('abort', () => {
        endedAt = a.clock.monotonicNow();
      });
      const member = frozen.members[0];
      if (!member) throw new Error('a local etcd has a member');
      member.pause();
      try {
        await eventually(() => endedAt > 0, TTL_MS + 10_000, 'the leader to step down');
      } finally {
        member.resume();
      }
      expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('deadline');
      // Never later than the last answer allowed, whatever the proxy did meanwhile.
      expect(endedAt).toBeLessThanOrEqual((renewals.at(-1) as number) + 50);
      await eventually(
        () => [a, b].filter((election) => election.isLeader()).length === 1,
        20_000,
        'one leader after etcd resumed',
      );
      expect([a, b].filter((election) => election.isLeader())).toHaveLength(1);
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      await proxy.stop();
      await frozen.stop();
    }
  }, 60_000);
});
