import { EtcdElection } from '@ztap/cluster-etcd';
import {
  cutOffProxy,
  type EtcdHandle,
  startEtcd,
  waitForLeader,
  waitUntilLeads,
} from '@ztap/cluster-testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Settlement, settleInvoices } from './billing.ts';

let etcd: EtcdHandle;
beforeAll(async () => {
  // etcd in a container when Docker or Podman answers, else a local etcd binary; never a skip.
  etcd = await startEtcd();
}, 120_000);
afterAll(() => etcd?.stop());

/** A node of this test's cluster, with timings that make a failover take about two seconds. */
function node(nodeId: string, endpoints: readonly string[]) {
  return new EtcdElection({
    nodeId,
    nodeAddress: `${nodeId}.billing:8080`,
    endpoints: [...endpoints],
    cluster: 'billing-test',
    heartbeatInterval: 500,
    electionTimeout: 2000, // the lease TTL: etcd's minimum that ZTAP accepts
    initialLeadership: 0,
  });
}

test('when the leader is cut off from etcd, it steps down and the other node settles under a newer term', {
  timeout: 60_000,
}, async () => {
  await using link = await cutOffProxy(etcd); // a's own way to etcd, which the test can cut
  await using a = node('a', link.endpoints);
  await using b = node('b', etcd.endpoints);
  await a.start();
  await waitUntilLeads(a);
  await b.start();
  await waitForLeader([a, b]); // b sees a lead too
  const ledger: Settlement[] = [];
  const first = await settleInvoices(a, ledger);

  link.cut(); // a can no longer reach etcd
  await waitUntilLeads(b, { timeoutMs: 15_000 }); // once a's lease has expired
  expect(a.isLeader()).toBe(false); // a stopped acting as leader on its own
  const second = await settleInvoices(b, ledger);
  expect(second.term).toBeGreaterThan(first.term);

  link.heal(); // a comes back, as a follower
  expect((await waitForLeader([a, b], { timeoutMs: 15_000 })).id).toBe('b');
});
