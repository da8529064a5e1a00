import { InMemoryElection, MemoryHub } from '@ztap/cluster-memory';
import { ManualClock, waitForLeader, waitForNoLeader, waitUntilLeads } from '@ztap/cluster-testing';
import { expect, test } from 'vitest';
import { type Settlement, settleInvoices } from './billing.ts';

/** Two nodes in memory on one manual clock: time moves only when the test says so. */
function twoNodes() {
  const clock = new ManualClock();
  const hub = new MemoryHub({ clock }); // the "cluster": elections sharing it see each other
  const healthy = { a: true, b: true };
  const node = (nodeId: 'a' | 'b') =>
    new InMemoryElection({
      nodeId,
      nodeAddress: `${nodeId}.billing:8080`,
      heartbeatInterval: 1000,
      electionTimeout: 5000,
      initialLeadership: 0, // may lead at once (production default: 3 s)
      healthCheck: () => healthy[nodeId],
      clock,
      hub,
    });
  return { clock, healthy, a: node('a'), b: node('b') };
}

test('the leader settles; when its health check fails, the other node takes over at the next heartbeat', async () => {
  const { clock, healthy, ...nodes } = twoNodes();
  await using a = nodes.a;
  await using b = nodes.b;
  await a.start();
  await b.start();
  expect((await waitForLeader([a, b])).id).toBe('a'); // in memory, the lowest id leads
  const ledger: Settlement[] = [];
  expect(await settleInvoices(a, ledger)).toEqual({ nodeId: 'a', term: 1 });

  healthy.a = false;
  await clock.advance(1000); // a's next heartbeat runs the failing check: a steps down
  await waitUntilLeads(b);
  expect(a.isLeader()).toBe(false);
  expect(await settleInvoices(b, ledger)).toEqual({ nodeId: 'b', term: 2 });
  expect(ledger.map((run) => run.nodeId)).toEqual(['a', 'b']);
});

test('nobody settles while no node is healthy', async () => {
  const { clock, healthy, ...nodes } = twoNodes();
  await using a = nodes.a;
  await using b = nodes.b;
  await a.start();
  await b.start();
  healthy.a = false;
  healthy.b = false;
  await clock.advance(1000);
  await waitForNoLeader([a, b]);

  const ledger: Settlement[] = [];
  const settling = settleInvoices(b, ledger); // waits for leadership
  await clock.advance(1000);
  expect(ledger).toEqual([]);
  healthy.b = true;
  await clock.advance(1000);
  expect(await settling).toEqual({ nodeId: 'b', term: expect.any(Number) });
});
