import type { Policy, PolicyUpdate } from '@ztap/cluster';
import { ManualClock } from '@ztap/cluster-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { describeChange, followPolicies, PolicySet } from '../src/policy-follower/follower.ts';
import { publishWhileLeader } from '../src/policy-follower/publisher.ts';
import { logLines, memoryNodes } from './support/memory.ts';

const policy = (name: string, version: number): Policy => ({
  name,
  version,
  document: `version: ${version}\n`,
  updatedAt: new Date(0),
  updatedBy: 'node-a',
});
const summary = (set: PolicySet) => set.list().map((p) => `${p.name}@${p.version}`);

describe('PolicySet', () => {
  it('applies a snapshot, updates and deletions, and says what changed', () => {
    const set = new PolicySet();
    const apply = (update: PolicyUpdate) => set.apply(update).map(describeChange);
    expect(apply({ type: 'snapshot', policies: [policy('web', 1), policy('db', 2)] })).toEqual([
      'policy web added at version 1 by node-a',
      'policy db added at version 2 by node-a',
    ]);
    expect(apply({ type: 'updated', policy: policy('web', 3) })).toEqual([
      'policy web updated to version 3 by node-a',
    ]);
    expect(apply({ type: 'deleted', name: 'db', version: 4 })).toEqual(['policy db removed']);
    expect(apply({ type: 'deleted', name: 'db', version: 5 })).toEqual([]);
    expect(summary(set)).toEqual(['web@3']);
  });

  it('replaces everything on a resync snapshot: what it lacks was deleted meanwhile', () => {
    const set = new PolicySet();
    set.apply({ type: 'snapshot', policies: [policy('web', 1), policy('db', 2), policy('cache', 3)] });
    const changes = set.apply({
      type: 'snapshot',
      policies: [policy('web', 1), policy('db', 9), policy('mq', 7)],
    });
    expect(changes.map(describeChange)).toEqual([
      'policy cache removed',
      'policy db updated to version 9 by node-a',
      'policy mq added at version 7 by node-a',
    ]);
    expect(summary(set)).toEqual(['db@9', 'mq@7', 'web@1']);
  });
});

// The follower and publisher on the in-memory backend, with time driven by hand.
describe('following policies', () => {
  const clock = new ManualClock();
  let stop = new AbortController();
  const running: Promise<void>[] = [];
  afterEach(async () => {
    stop.abort(new Error('test over'));
    await Promise.all(running.splice(0));
    stop = new AbortController();
  });

  it('follows what the leader publishes, and the next leader publishes after a failover', async () => {
    const [a, b] = memoryNodes(clock, ['node-a', 'node-b']);
    const follower = new PolicySet();
    const { lines, log } = logLines();
    running.push(followPolicies(b.policies, follower, { signal: stop.signal, log }));
    await clock.advance(0); // the follower has its (empty) snapshot before anything is published
    for (const node of [a, b]) {
      await node.election.start();
      running.push(
        publishWhileLeader(node, {
          name: 'rate-limit',
          intervalMs: 1000,
          document: (count, term) => `requestsPerSecond: ${100 + count} # term ${term}\n`,
          signal: stop.signal,
          clock,
          log: () => {},
        }),
      );
    }
    await clock.advance(0);
    expect(lines).toEqual([
      'snapshot: 0 policies, 0 changed',
      'policy rate-limit added at version 1 by node-a',
    ]);
    await clock.advance(1000);
    expect(follower.get('rate-limit')?.document).toBe('requestsPerSecond: 102 # term 1\n');

    await a.election.stop(); // leaves: node-b leads and publishes from then on
    await clock.advance(0);
    expect(lines.at(-1)).toBe('policy rate-limit updated to version 3 by node-b');
    expect(follower.get('rate-limit')?.document).toBe('requestsPerSecond: 101 # term 2\n');
    running.push(b.election.stop());
  });

  it('ends up exactly current after falling behind: the resync snapshot removes what was deleted', async () => {
    const [leader, follower] = memoryNodes(clock, ['node-a', 'node-b']);
    await leader.election.start();
    await follower.election.start();
    await leader.policies.syncPolicy('doomed', 'deny: all\n');
    await leader.policies.syncPolicy('web', 'allow: [443]\n');
    const updates = follower.policies.subscribePolicies({ signal: stop.signal })[Symbol.asyncIterator]();
    const set = new PolicySet();
    const read = async () => set.apply((await updates.next()).value as PolicyUpdate).map(describeChange);
    expect(await read()).toHaveLength(2);

    // The follower stops reading while more changes happen than a subscription buffers (1,024).
    for (let count = 0; count < 1100; count++)
      await leader.policies.syncPolicy('web', `allow: [443]\nrevision: ${count}\n`);
    await leader.policies.deletePolicy('doomed');
    await leader.policies.syncPolicy('fresh', 'allow: [80]\n');

    const changes = await read(); // one fresh snapshot instead of 1,102 updates
    expect(changes).toEqual([
      'policy doomed removed',
      'policy fresh added at version 1104 by node-a',
      'policy web updated to version 1102 by node-a',
    ]);
    expect(summary(set)).toEqual((await leader.policies.listPolicies()).map((p) => `${p.name}@${p.version}`));
    await updates.return?.();
    await Promise.all([leader.election.stop(), follower.election.stop()]);
  });
});
