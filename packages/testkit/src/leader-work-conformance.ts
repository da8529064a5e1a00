import {
  type DrainEvent,
  isElectionStoppedError,
  isLeadershipLostError,
  isLeaderWorkError,
  type LeaderElection,
  type LeaderWorkErrorEvent,
} from '@ztap/cluster';
import { describe, expect, it } from 'vitest';
import type { ConformanceHelpers } from './conformance-fixture.ts';
import { Journal } from './recorder.ts';
import { aborted, heartbeats } from './waits.ts';

/**
 * Leader work and graceful step-downs: `resign()` and `stop()` let work started through
 * `runWhileLeader` / `lead` settle (bounded by `drainTimeout`) before a successor may begin, and
 * `lead()` runs work once per leadership without crashing on a leadership change.
 */
export function describeLeaderWorkContract(helpers: ConformanceHelpers): void {
  const { node, started, leaderAmong } = helpers;
  const settle = <T>(promise: Promise<T>) => helpers.fixture().settle(promise);
  /** Heartbeats that span more than one lease TTL / electionTimeout. */
  const outlivingTheLease = () => {
    const { heartbeatInterval, electionTimeout } = helpers.fixture().timing;
    return Math.ceil(electionTimeout / heartbeatInterval) + 2;
  };
  const other = (nodes: LeaderElection[], leader: LeaderElection) =>
    nodes.find((candidate) => candidate !== leader) as LeaderElection;
  const logSuccessor = (successor: LeaderElection, log: Journal<string>) =>
    successor.telemetry.onLeadership((event) => {
      if (event.leading) log.push('successor leads');
    });

  describe('leader work', () => {
    it('resign() lets leader work drain before a successor leads, keeping leadership alive meanwhile', async () => {
      const nodes = await started(node('d1'), node('d2'));
      const leader = await leaderAmong(nodes);
      const log = new Journal<string>();
      logSuccessor(other(nodes, leader), log);
      const workStarted = Promise.withResolvers<void>();
      const work = leader.runWhileLeader(async ({ signal }) => {
        workStarted.resolve();
        await aborted(signal);
        log.push('work aborted');
        // Ignores the abort for longer than a lease lasts: only renewals keep the successor out.
        await heartbeats(leader, outlivingTheLease());
        log.push('work settled');
      });
      await settle(workStarted.promise);

      await settle(leader.resign());
      await settle(log.until((entries) => entries.includes('successor leads'), 'a successor'));
      await settle(work);
      expect(log.items).toEqual(['work aborted', 'work settled', 'successor leads']);
    });

    it('stop() drains work run by lead() the same way, and lead() then resolves', async () => {
      const nodes = await started(node('s1'), node('s2'));
      const leader = await leaderAmong(nodes);
      const log = new Journal<string>();
      logSuccessor(other(nodes, leader), log);
      const loop = leader.lead(async ({ signal }) => {
        log.push('work started');
        await aborted(signal);
        log.push('work aborted');
        await heartbeats(leader, outlivingTheLease());
        log.push('work settled');
      });
      await settle(log.until((entries) => entries.includes('work started')));

      await settle(leader.stop());
      await expect(settle(loop)).resolves.toBeUndefined();
      await settle(log.until((entries) => entries.includes('successor leads'), 'a successor'));
      expect(log.items).toEqual(['work started', 'work aborted', 'work settled', 'successor leads']);
    });

    it('drainTimeout bounds the drain: leadership is released with the work still running, and onDrain says so', async () => {
      const drainTimeout = helpers.fixture().timing.heartbeatInterval * 2;
      const nodes = await started(node('t1', { drainTimeout }), node('t2', { drainTimeout }));
      const leader = await leaderAmong(nodes);
      const drains: DrainEvent[] = [];
      leader.telemetry.onDrain((event) => drains.push(event));
      const release = Promise.withResolvers<void>();
      const workStarted = Promise.withResolvers<number>();
      const work = leader.runWhileLeader(async ({ term }) => {
        workStarted.resolve(term);
        await release.promise; // ignores its signal altogether
      });
      const term = await settle(workStarted.promise);

      await settle(leader.resign());
      expect(drains).toEqual([{ term, outcome: 'timeout', pending: 1, waitedMs: expect.any(Number) }]);
      const successor = await leaderAmong([other(nodes, leader)]);
      expect(successor.isLeader()).toBe(true);
      release.resolve();
      await settle(work);
    });

    it('leader work that resigns by itself is not waited for', async () => {
      const nodes = await started(node('w1'), node('w2'));
      const leader = await leaderAmong(nodes);
      const drains: DrainEvent[] = [];
      leader.telemetry.onDrain((event) => drains.push(event));
      await settle(leader.runWhileLeader(() => leader.resign()));
      expect(drains).toEqual([]);
      expect(await leaderAmong(nodes)).toBe(other(nodes, leader));
    });

    it('lead() runs the work once per leadership, holding the term when it returns at once', async () => {
      const nodes = await started(node('p'), node('q'));
      const calls = new Journal<string>();
      const loops = nodes.map((candidate) =>
        candidate.lead(({ term }) => calls.push(`${candidate.nodeId}:${term}`)),
      );
      const leaderships: string[] = [];
      for (let round = 0; round < 5; round++) {
        const leader = await leaderAmong(nodes);
        const leadership = `${leader.nodeId}:${leader.term}`;
        leaderships.push(leadership);
        await settle(calls.until((entries) => entries.includes(leadership), `work for ${leadership}`));
        if (round < 4) await settle(leader.resign());
      }
      await settle(Promise.all(nodes.map((candidate) => candidate.stop())));
      await expect(settle(Promise.all(loops))).resolves.toEqual([undefined, undefined]);
      expect(calls.items).toEqual(leaderships);
    });

    it('lead(): work that fails because its leadership ended ends that round only; aborting the signal ends the loop', async () => {
      const [solo] = (await started(node('solo'))) as [LeaderElection];
      const controller = new AbortController();
      const terms = new Journal<number>();
      const loop = solo.lead(
        async ({ term, signal }) => {
          terms.push(term);
          await aborted(signal);
          throw new DOMException('This operation was aborted', 'AbortError'); // what fetch & co. throw
        },
        { signal: controller.signal },
      );
      await settle(terms.until((all) => all.length === 1));
      await settle(solo.resign()); // a lone candidate is elected again, with a new term
      const [first, second] = await settle(terms.until((all) => all.length === 2, 'a second leadership'));
      expect(second).toBeGreaterThan(first as number);

      controller.abort(new Error('shutting down'));
      await expect(settle(loop)).resolves.toBeUndefined();
      expect(solo.isLeader()).toBe(true); // ending the loop is not resigning
    });

    it('lead(): an error while leading is reported, the node resigns, and lead() rejects with LeaderWorkError', async () => {
      const nodes = await started(node('e1'), node('e2'));
      const leader = await leaderAmong(nodes);
      const reported: LeaderWorkErrorEvent[] = [];
      leader.telemetry.onLeaderWorkError((event) => reported.push(event));
      const { term, leadershipSignal } = leader;
      const failure = new Error('the invoice service answered 500');

      const outcome = await settle(
        leader
          .lead(async () => {
            throw failure;
          })
          .then(
            () => 'resolved',
            (error: unknown) => error,
          ),
      );
      expect(isLeaderWorkError(outcome) && outcome).toMatchObject({ term, cause: failure });
      expect(reported).toEqual([{ term, error: failure }]);
      expect(isLeadershipLostError(leadershipSignal.reason) && leadershipSignal.reason.reason).toBe(
        'resigned',
      );
      expect(await leaderAmong(nodes)).toBe(other(nodes, leader));
    });

    it('lead() rejects before start(), and resolves when the election stops while it waits to lead', async () => {
      const follower = node('follower', { healthCheck: () => false });
      await expect(follower.lead(() => {})).rejects.toSatisfy(isElectionStoppedError);
      const notAFunction = 'settle invoices' as unknown as () => void;
      await expect(follower.lead(notAFunction)).rejects.toMatchObject({
        code: 'ZTAP_VALIDATION',
        field: 'work',
      });
      await expect(follower.runWhileLeader(notAFunction)).rejects.toMatchObject({ field: 'fn' });
      await started(follower);
      let called = false;
      const loop = follower.lead(() => {
        called = true;
      });
      await settle(follower.stop());
      await expect(settle(loop)).resolves.toBeUndefined();
      expect(called).toBe(false);
    });
  });
}
