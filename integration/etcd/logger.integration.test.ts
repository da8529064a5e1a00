/**
 * The `logger` option on a real etcd: pino, bound to the node and its prefix, hears about a lease an
 * operator revoked, the leadership it cost, and the etcd error it caused.
 */
import { EtcdElection } from '@ztap/cluster-etcd';
import { waitUntilLeads } from '@ztap/cluster-testing';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { testNodeOptions, uniqueCluster, useEtcd, within } from '../support/etcd.ts';

const etcd = useEtcd();
const elections: EtcdElection[] = [];
afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.stop()));
});

describe('the logger option on etcd', () => {
  it('logs a revoked lease, the leadership it ended and the next one, through a child bound to node and prefix', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ base: null }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const cluster = uniqueCluster('logger');
    const election = new EtcdElection({ ...testNodeOptions(etcd, 'l1', cluster), logger });
    elections.push(election);
    await election.start();
    const first = await election.waitForLeadership();
    const leaseId = election.leaseId as string;

    const ended = new Promise((resolve) => first.signal.addEventListener('abort', resolve, { once: true }));
    await etcd.client.leaseClient.leaseRevoke({ ID: leaseId });
    await within(ended);
    const second = await waitUntilLeads(election);

    const bound = { nodeId: 'l1', prefix: `/ztap/clusters/${cluster}/` };
    expect(lines.find((line) => line.event === 'lease_lost')).toMatchObject({
      ...bound,
      level: 40,
      leaseId,
      msg: 'lease lost',
    });
    const leaderships = lines.filter(
      (line) => line.event === 'leadership_gained' || line.event === 'leadership_lost',
    );
    expect(leaderships.map(({ event, term, reason }) => ({ event, term, reason }))).toEqual([
      { event: 'leadership_gained', term: first.term, reason: undefined },
      { event: 'leadership_lost', term: first.term, reason: 'lease_lost' },
      { event: 'leadership_gained', term: second.term, reason: undefined },
    ]);
    for (const line of lines) expect(line, JSON.stringify(line)).toMatchObject(bound);
  });
});
