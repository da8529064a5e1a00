import {
  isLeadershipLostError,
  isNarrowViewError,
  isNotLeaderError,
  isTransferError,
  isValidationError,
  type LeaderElection,
  type Node,
  type TransferEvent,
} from '@ztap/cluster';
import { describe, expect, it } from 'vitest';
import type { ConformanceHelpers, ConformanceNodeOptions } from './conformance-fixture.ts';
import { Journal, Recorder } from './recorder.ts';
import { aborted, heartbeats } from './waits.ts';

/** The reason of a `TransferError`, or what else `promise` rejected with (or resolved: a failure). */
async function transferFailure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isTransferError(error)) return error.reason;
    if (isNotLeaderError(error)) return 'NotLeaderError';
    if (isValidationError(error)) return `ValidationError(${error.field})`;
    throw error;
  }
  throw new Error('expected the transfer to fail, and it succeeded');
}

/**
 * Leadership control: `transferLeadership()` to a named candidate, its typed refusals and failures,
 * and priorities (a preferred candidate gets leadership handed to it; equal priorities never trade;
 * a canary leads only while no better candidate is eligible). See docs/leadership-control.md.
 */
export function describeLeadershipControlContract(helpers: ConformanceHelpers): void {
  const { node, leaderAmong } = helpers;
  const settle = <T>(promise: Promise<T>) => helpers.fixture().settle(promise);
  /** Starts the nodes one after the other: on etcd that is their order in the queue. */
  const startedInOrder = async (...nodes: LeaderElection[]) => {
    for (const candidate of nodes) await settle(candidate.start());
    return nodes;
  };
  /** Waits until `observer` sees `id` in `state`. */
  const seesState = (observer: LeaderElection, id: string, state: Node['state']) =>
    settle(
      new Recorder(observer.watch({ includeExisting: true })).first(
        (change) => change.node.id === id && change.node.state === state,
        `${observer.nodeId} to see ${id} ${state}`,
      ),
    );
  /** Heartbeats that span `ms` of the fixture's time. */
  const beatsFor = (ms: number) => Math.ceil(ms / helpers.fixture().timing.heartbeatInterval) + 2;
  /** Leader work that holds the drain until `gate` resolves (and says when its signal aborted). */
  const holdDrain = async (leader: LeaderElection, gate: Promise<void>) => {
    const running = Promise.withResolvers<void>();
    const stepped = Promise.withResolvers<void>();
    const work = leader.runWhileLeader(async ({ signal }) => {
      running.resolve();
      await aborted(signal);
      stepped.resolve();
      await gate;
    });
    work.catch(() => {}); // awaited by the test; a failed test must not add an unhandled rejection
    await settle(running.promise);
    return { steppedDown: stepped.promise, work };
  };

  describe('leadership control', () => {
    it('transferLeadership() hands leadership to a candidate behind others; it leads with a higher term', async () => {
      const nodes = await startedInOrder(node('t1'), node('t2'), node('t3'));
      const leader = await leaderAmong(nodes);
      const target = nodes.at(-1) as LeaderElection;
      expect(leader).not.toBe(target);
      const term = leader.term as number;
      const signal = leader.leadershipSignal;
      const events: TransferEvent[] = [];
      leader.telemetry.onTransfer((event) => events.push(event));

      const result = await settle(leader.transferLeadership(target.nodeId));

      expect(result.nodeId).toBe(target.nodeId);
      expect(result.term).toBeGreaterThan(term);
      expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('transferred');
      expect(await leaderAmong([target])).toBe(target);
      expect(target.term).toBe(result.term);
      expect(nodes.filter((candidate) => candidate.isLeader())).toEqual([target]);
      expect(events).toEqual([{ target: target.nodeId, term, automatic: false, successorTerm: result.term }]);
      for (const observer of nodes) {
        await settle(
          new Recorder(observer.leaderChanges()).until(
            (leaders) => leaders.at(-1)?.id === target.nodeId,
            `${observer.nodeId} to see ${target.nodeId} lead`,
          ),
        );
      }
    });

    it('refuses what it cannot do with typed errors, and the leader keeps leading', async () => {
      const nodes = await startedInOrder(
        node('r1'),
        node('r2'),
        node('sick', { healthCheck: () => ({ healthy: false, reason: 'disk full' }) }),
      );
      const leader = await leaderAmong(nodes);
      const follower = nodes.find((candidate) => candidate !== leader && candidate.nodeId !== 'sick');
      const term = leader.term;
      await seesState(leader, 'sick', 'unhealthy');

      expect(await transferFailure((follower as LeaderElection).transferLeadership(leader.nodeId))).toBe(
        'NotLeaderError',
      );
      expect(await transferFailure(leader.transferLeadership('nobody'))).toBe('unknown_target');
      expect(await transferFailure(leader.transferLeadership('sick'))).toBe('unhealthy_target');
      expect(await transferFailure(leader.transferLeadership('bad id!'))).toBe('ValidationError(nodeId)');
      expect(await transferFailure(leader.transferLeadership('r2', { timeoutMs: 0 }))).toBe(
        'ValidationError(timeoutMs)',
      );
      await expect(leader.transferLeadership(leader.nodeId)).resolves.toEqual({
        nodeId: leader.nodeId,
        term,
      });

      expect(leader.isLeader()).toBe(true);
      expect(leader.term).toBe(term);
      expect(leader.leadershipSignal.aborted).toBe(false);
    });

    it('needs the full view: a narrow leader refuses with NarrowViewError and keeps leading', async () => {
      const [narrow, other] = (await startedInOrder(node('v1', { view: 'leader' }), node('v2'))) as [
        LeaderElection,
        LeaderElection,
      ];
      expect(await leaderAmong([narrow, other])).toBe(narrow);
      const term = narrow.term;
      const refusal = await narrow.transferLeadership('v2').catch((error: unknown) => error);
      expect(isNarrowViewError(refusal)).toBe(true);
      expect(narrow.isLeader()).toBe(true);
      expect(narrow.term).toBe(term);
    });

    it('a target that withdraws mid-transfer fails it with target_withdrew; the old leader has stepped down and another leads', async () => {
      const nodes = await startedInOrder(node('w1'), node('w2'), node('w3'));
      const leader = await leaderAmong(nodes);
      const target = nodes.at(-1) as LeaderElection;
      const term = leader.term as number;
      const gate = Promise.withResolvers<void>();
      const { steppedDown, work } = await holdDrain(leader, gate.promise);

      const transfer = leader.transferLeadership(target.nodeId);
      transfer.catch(() => {});
      await settle(steppedDown);
      await settle(target.stop());
      gate.resolve();

      expect(await settle(transferFailure(transfer))).toBe('target_withdrew');
      await settle(work);
      const successor = await leaderAmong(nodes.filter((candidate) => candidate !== target));
      expect(successor.term).toBeGreaterThan(term);
    });

    it('a transfer that does not finish in time fails with timeout, and the election goes on', async () => {
      const nodes = await startedInOrder(node('o1'), node('o2'));
      const leader = await leaderAmong(nodes);
      const target = nodes.find((candidate) => candidate !== leader) as LeaderElection;
      const term = leader.term as number;
      const gate = Promise.withResolvers<void>();
      const { work } = await holdDrain(leader, gate.promise);

      const transfer = leader.transferLeadership(target.nodeId, { timeoutMs: 1 });
      expect(await settle(transferFailure(transfer))).toBe('timeout');
      gate.resolve();

      // Timed out before the step-down, nothing changed; after it, the old leader went to the back
      // of the queue. Either way exactly one node leads, with no older term.
      const successor = await leaderAmong(nodes);
      expect(nodes.filter((candidate) => candidate.isLeader())).toEqual([successor]);
      expect(successor.term).toBeGreaterThanOrEqual(term);
      if (successor.term === term) expect(successor).toBe(leader);
      await settle(leader.stop());
      await settle(work);
    });

    describe('priorities', () => {
      const hold = 300;
      const preferring = (priority: number, extra: ConformanceNodeOptions = {}): ConformanceNodeOptions => ({
        priority,
        initialLeadership: hold,
        minLeadership: hold,
        ...extra,
      });

      it('a healthy higher-priority candidate gets leadership handed to it, once it has been eligible for initialLeadership', async () => {
        const [low] = await startedInOrder(node('low', preferring(0, { initialLeadership: 0 })));
        const first = await leaderAmong([low as LeaderElection]);
        const term = first.term as number;
        const signal = first.leadershipSignal;
        const events = new Journal<TransferEvent>();
        first.telemetry.onTransfer((event) => events.push(event));
        const [high] = await startedInOrder(node('high', preferring(5)));

        const successor = await leaderAmong([high as LeaderElection]);
        expect(successor.term).toBeGreaterThan(term);
        expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('transferred');
        const [event] = await settle(events.until((all) => all.length > 0));
        expect(event).toMatchObject({ target: 'high', automatic: true, successorTerm: successor.term });
        expect(low?.isLeader()).toBe(false);
      });

      it('equal priorities never trade leadership, and a lower priority never takes it', async () => {
        const [a] = await startedInOrder(node('eq1', preferring(3, { initialLeadership: 0 })));
        const leader = await leaderAmong([a as LeaderElection]);
        const term = leader.term;
        await startedInOrder(node('eq2', preferring(3)), node('lower', preferring(1)));
        // Long past every hold: nothing may have moved.
        await settle(heartbeats(leader, beatsFor(4 * hold)));
        expect(leader.isLeader()).toBe(true);
        expect(leader.term).toBe(term);
      });

      it('when the leader stops, a canary does not take over while a better candidate is eligible', async () => {
        const [leader, canary, stable] = (await startedInOrder(
          node('l', preferring(0, { initialLeadership: 0 })),
          node('c', preferring(-1, { initialLeadership: 0 })),
          node('s', preferring(0, { initialLeadership: 0 })),
        )) as [LeaderElection, LeaderElection, LeaderElection];
        expect(await leaderAmong([leader, canary, stable])).toBe(leader);
        const canaryLed = new Journal<number>();
        canary.telemetry.onLeadership((event) => {
          if (event.leading) canaryLed.push(event.term);
        });

        await settle(leader.stop());
        expect(await leaderAmong([canary, stable])).toBe(stable);
        expect(canaryLed.items).toEqual([]);
        await settle(stable.stop());
        expect(await leaderAmong([canary])).toBe(canary);
      });

      it('a canary (priority below zero) leads only while no better candidate is eligible', async () => {
        const [canary] = await startedInOrder(node('canary', preferring(-1, { initialLeadership: 0 })));
        const alone = await leaderAmong([canary as LeaderElection]);
        expect(alone).toBe(canary);
        const [stable] = await startedInOrder(node('stable', preferring(0)));
        expect(await leaderAmong([stable as LeaderElection])).toBe(stable);
        expect(canary?.isLeader()).toBe(false);

        await settle((stable as LeaderElection).stop());
        expect(await leaderAmong([canary as LeaderElection])).toBe(canary);
      });
    });
  });
}
