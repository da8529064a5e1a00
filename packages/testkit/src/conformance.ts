import {
  type ClusterStateChange,
  type HeartbeatEvent,
  isElectionStoppedError,
  isLeadershipLostError,
  isNodeExistsError,
  isNodeIdInUseError,
  isNodeNotFoundError,
  isValidationError,
  type LeaderElection,
  type Liveness,
  type Node,
} from '@ztap/cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ConformanceFixture, conformanceHelpers } from './conformance-fixture.ts';
import { describeLeaderWorkContract } from './leader-work-conformance.ts';
import { describeLeadershipControlContract } from './leadership-control-conformance.ts';
import { Recorder } from './recorder.ts';
import { describeRolesContract } from './roles-conformance.ts';

export type { ConformanceFixture, ConformanceNodeOptions } from './conformance-fixture.ts';

const summary = (changes: readonly ClusterStateChange[]) =>
  changes.map((change) => `${change.type}:${change.node.id}`);

/**
 * The `LeaderElection` contract as tests: any backend must pass them all. Call it inside a test file
 * with a factory that builds a fresh fixture for every test.
 */
export function describeConformance(backend: string, createFixture: () => Promise<ConformanceFixture>): void {
  describe(`LeaderElection contract (${backend})`, () => {
    let fixture: ConformanceFixture;
    beforeEach(async () => {
      fixture = await createFixture();
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const helpers = conformanceHelpers(() => fixture);
    const { node, started, leaderAmong } = helpers;
    /** Resolves with `election`'s liveness once it satisfies `predicate` (now or at a later change). */
    const livenessWhere = (election: LeaderElection, predicate: (liveness: Liveness) => boolean) =>
      fixture.settle(
        new Promise<Liveness>((resolve) => {
          if (predicate(election.liveness)) return resolve(election.liveness);
          const subscription = election.telemetry.onLiveness((liveness) => {
            if (!predicate(liveness)) return;
            subscription.dispose();
            resolve(liveness);
          });
        }),
      );
    /** Waits until `observer`'s view names `leaderId` (or no leader) as leader. */
    const seesLeader = (observer: LeaderElection, leaderId: string | undefined) =>
      fixture.settle(
        new Recorder(observer.leaderChanges()).until(
          (leaders) => leaders.at(-1)?.id === leaderId,
          `${observer.nodeId} to see leader ${leaderId ?? '(none)'}`,
        ),
      );
    /** Waits until `observer`'s view holds every one of `ids` (its picture, then its changes). */
    const seesMembers = (observer: LeaderElection, ids: readonly string[]) =>
      fixture.settle(
        new Recorder(observer.watch({ includeExisting: true })).until(
          (changes) => {
            const present = new Set<string>();
            for (const change of changes) {
              if (change.type === 'node_joined') present.add(change.node.id);
              if (change.type === 'node_left') present.delete(change.node.id);
            }
            return ids.every((id) => present.has(id));
          },
          `${observer.nodeId} to see ${ids.join(', ')}`,
        ),
      );

    it('a lone node elects itself and reports it consistently', async () => {
      const [solo] = (await started(node('solo'))) as [LeaderElection];
      const leadership = await fixture.settle(solo.waitForLeadership());
      expect(solo.isLeader()).toBe(true);
      expect(solo.term).toBe(leadership.term);
      expect(solo.leadershipSignal.aborted).toBe(false);
      await seesLeader(solo, 'solo');
      expect(solo.getLeader()).toMatchObject({ id: 'solo', role: 'leader', state: 'healthy' });
      expect(solo.getState()).toMatchObject({ term: leadership.term, leader: { id: 'solo' } });
      expect(solo.getNodes().map((member) => member.id)).toEqual(['solo']);
    });

    it('elects exactly one leader among healthy candidates, and every node agrees', async () => {
      const nodes = await started(node('n1'), node('n2'), node('n3'));
      const leader = await leaderAmong(nodes);
      for (const observer of nodes) await seesLeader(observer, leader.nodeId);
      expect(nodes.filter((candidate) => candidate.isLeader())).toEqual([leader]);
      for (const observer of nodes) {
        // Each start resolves once its own node is in its own view; the others' views follow.
        await seesMembers(observer, ['n1', 'n2', 'n3']);
        expect(observer.getNodes().map((member) => member.id)).toEqual(['n1', 'n2', 'n3']);
        expect(
          observer
            .getNodes()
            .filter((member) => member.role === 'leader')
            .map((m) => m.id),
        ).toEqual([leader.nodeId]);
      }
    });

    it('when the leader stops, another is elected with a higher term; followers hear leader_lost first', async () => {
      const nodes = await started(node('a'), node('b'), node('c'));
      const first = await leaderAmong(nodes);
      const firstTerm = first.term as number;
      const followers = nodes.filter((candidate) => candidate !== first);
      for (const follower of followers) await seesLeader(follower, first.nodeId);
      const recorders = followers.map((follower) => new Recorder(follower.watch()));

      await first.stop();
      expect(first.leadershipSignal.aborted).toBe(true);
      const second = await leaderAmong(followers);
      expect(second.term).toBeGreaterThan(firstTerm);
      for (const recorder of recorders) {
        const changes = await fixture.settle(
          recorder.until((all) =>
            all.some((c) => c.type === 'leader_elected' && c.node.id === second.nodeId),
          ),
        );
        const lost = changes.findIndex((c) => c.type === 'leader_lost' && c.node.id === first.nodeId);
        const elected = changes.findIndex((c) => c.type === 'leader_elected' && c.node.id === second.nodeId);
        expect(lost).toBeGreaterThanOrEqual(0);
        expect(lost).toBeLessThan(elected);
        expect(changes[lost]?.term).toBe(firstTerm);
        expect(changes[elected]?.term).toBe(second.term);
        await fixture.settle(recorder.first((c) => c.type === 'node_left' && c.node.id === first.nodeId));
      }
    });

    it('stop() resigns: the leadership signal aborts with reason "stopped" and iterators end', async () => {
      const [solo] = (await started(node('solo'))) as [LeaderElection];
      await fixture.settle(solo.waitForLeadership());
      const signal = solo.leadershipSignal;
      const changes = new Recorder(solo.watch());
      const leaders = new Recorder(solo.leaderChanges());
      await solo.stop();
      expect(signal.aborted).toBe(true);
      expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('stopped');
      expect(solo.isLeader()).toBe(false);
      expect(solo.term).toBeUndefined();
      await fixture.settle(Promise.all([changes.ended(), leaders.ended()]));
      expect(changes.error).toBeUndefined();
    });

    it('an unhealthy leader steps down, a healthy node takes over, and it campaigns again once healthy', async () => {
      const health = new Map([
        ['x', true],
        ['y', true],
      ]);
      const check = (id: string) => () => health.get(id) === true;
      const nodes = await started(
        node('x', { healthCheck: check('x') }),
        node('y', { healthCheck: check('y') }),
      );
      const sick = await leaderAmong(nodes);
      const other = nodes.find((candidate) => candidate !== sick) as LeaderElection;
      const signal = sick.leadershipSignal;
      const seen = new Recorder(other.watch());

      health.set(sick.nodeId, false);
      const successor = await leaderAmong([other]);
      expect(successor).toBe(other);
      expect(signal.aborted).toBe(true);
      expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('unhealthy');
      await fixture.settle(seen.first((c) => c.type === 'node_unhealthy' && c.node.id === sick.nodeId));
      expect(sick.isLeader()).toBe(false);

      health.set(sick.nodeId, true);
      await fixture.settle(seen.first((c) => c.type === 'node_healthy' && c.node.id === sick.nodeId));
      await other.stop();
      await leaderAmong([sick]);
    });

    it('delivers every change, in the same order, to every watcher', async () => {
      const [a, b] = (await started(node('a'), node('b'))) as [LeaderElection, LeaderElection];
      const leader = await leaderAmong([a, b]);
      await seesLeader(a, leader.nodeId);
      await seesLeader(b, leader.nodeId);
      const watchers = [new Recorder(a.watch()), new Recorder(a.watch()), new Recorder(b.watch())];
      for (const id of ['w1', 'w2', 'w3']) await a.registerNode({ id, address: '127.0.0.1:7000' });
      await b.deregisterNode('w2');
      await a.registerNode({ id: 'w4', address: '127.0.0.1:7001', metadata: { zone: 'z1' } });
      await b.deregisterNode('w1');
      const expected = [
        'node_joined:w1',
        'node_joined:w2',
        'node_joined:w3',
        'node_left:w2',
        'node_joined:w4',
        'node_left:w1',
      ];
      for (const watcher of watchers) {
        const changes = await fixture.settle(watcher.until((all) => summary(all).includes('node_left:w1')));
        expect(summary(changes).filter((entry) => /:w\d$/.test(entry))).toEqual(expected);
      }
    });

    it('terms strictly increase with each new leadership', async () => {
      const nodes = await started(node('p'), node('q'));
      const terms: number[] = [];
      for (let round = 0; round < 4; round++) {
        const leader = await leaderAmong(nodes);
        terms.push(leader.term as number);
        await leader.resign();
      }
      expect(terms).toEqual([...terms].sort((x, y) => x - y));
      expect(new Set(terms).size).toBe(terms.length);
    });

    it('resign() hands leadership to another candidate; the resigner stays a member', async () => {
      const nodes = await started(node('r1'), node('r2'));
      const resigner = await leaderAmong(nodes);
      const other = nodes.find((candidate) => candidate !== resigner) as LeaderElection;
      const signal = resigner.leadershipSignal;
      await resigner.resign();
      expect(resigner.isLeader()).toBe(false);
      expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('resigned');
      expect(await leaderAmong([other])).toBe(other);
      await seesLeader(resigner, other.nodeId);
      expect(resigner.getNode(resigner.nodeId)).toMatchObject({ role: 'follower' });
    });

    it('runWhileLeader runs once leader, with the term and a signal that aborts when leadership ends', async () => {
      const [solo] = (await started(node('solo'))) as [LeaderElection];
      const outcome = solo.runWhileLeader(async ({ term, signal }) => {
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        return { term, reason: signal.reason as unknown };
      });
      const leadership = await fixture.settle(solo.waitForLeadership());
      await solo.resign();
      const { term, reason } = await fixture.settle(outcome);
      expect(term).toBe(leadership.term);
      expect(isLeadershipLostError(reason) && reason.reason).toBe('resigned');
    });

    it('waiting for leadership rejects when not running, on abort, and when the election stops', async () => {
      const [leader, follower] = [node('l1', {}), node('l2', { healthCheck: () => false })];
      await expect(leader.waitForLeadership()).rejects.toSatisfy(isElectionStoppedError);
      await started(leader, follower);
      await leaderAmong([leader]);
      const controller = new AbortController();
      const aborted = follower.waitForLeadership({ signal: controller.signal });
      controller.abort(new Error('caller gave up'));
      await expect(aborted).rejects.toThrow('caller gave up');
      const stopped = expect(follower.runWhileLeader(() => 'never')).rejects.toSatisfy(
        isElectionStoppedError,
      );
      await follower.stop();
      await stopped;
    });

    it('leaderChanges() starts with the current leader and reports "no leader"', async () => {
      const observer = node('observer', { healthCheck: () => false });
      const leader = node('leader');
      await started(observer, leader);
      await leaderAmong([leader]);
      const leaders = new Recorder<Node | undefined>(observer.leaderChanges());
      await fixture.settle(leaders.until((all) => all.at(-1)?.id === 'leader'));
      await leader.stop();
      await fixture.settle(leaders.until((all) => all.length > 1 && all.at(-1) === undefined, 'no leader'));
      expect(observer.getLeader()).toBeUndefined();
      expect(observer.getState().term).toBeUndefined();
    });

    it('aborting a signal ends watch() and leaderChanges() iterators', async () => {
      const [solo] = (await started(node('solo'))) as [LeaderElection];
      const controller = new AbortController();
      const changes = new Recorder(solo.watch({ signal: controller.signal }));
      const leaders = new Recorder(solo.leaderChanges({ signal: controller.signal }));
      controller.abort();
      await fixture.settle(Promise.all([changes.ended(), leaders.ended()]));
      expect(changes.error).toBeUndefined();
      await solo.registerNode({ id: 'late', address: '127.0.0.1:7000' });
      expect(changes.items.map((c) => c.node.id)).not.toContain('late');
    });

    it('watch({ includeExisting: true }) starts with the current picture', async () => {
      const [a, b] = (await started(node('a'), node('b'))) as [LeaderElection, LeaderElection];
      const leader = await leaderAmong([a, b]);
      await seesLeader(a, leader.nodeId);
      // b's own start does not wait for a's view (on etcd, another client) to show b.
      await seesMembers(a, ['a', 'b']);
      const watcher = new Recorder(a.watch({ includeExisting: true }));
      const changes = await fixture.settle(watcher.until((all) => all.length >= 3));
      expect(summary(changes).slice(0, 3)).toEqual([
        'node_joined:a',
        'node_joined:b',
        `leader_elected:${leader.nodeId}`,
      ]);
    });

    it('rejects bad input with typed errors and changes nothing', async () => {
      expect(() => node('bad/id')).toThrow(expect.objectContaining({ field: 'nodeId' }));
      expect(() => node('ok', { address: 'no-port' })).toThrow(
        expect.objectContaining({ field: 'nodeAddress' }),
      );
      const [solo] = (await started(node('solo'))) as [LeaderElection];
      await expect(solo.registerNode({ id: '', address: '127.0.0.1:1' })).rejects.toSatisfy(
        isValidationError,
      );
      await expect(solo.registerNode({ id: 'x', address: '127.0.0.1:99999' })).rejects.toSatisfy(
        isValidationError,
      );
      await expect(
        solo.registerNode({ id: 'x', address: '127.0.0.1:1', metadata: { zone: 7 as unknown as string } }),
      ).rejects.toSatisfy(isValidationError);
      await expect(solo.registerNode({ id: 'solo', address: '127.0.0.1:1' })).rejects.toSatisfy(
        isNodeExistsError,
      );
      await expect(solo.deregisterNode('missing')).rejects.toSatisfy(isNodeNotFoundError);
      await expect(solo.deregisterNode('a/b')).rejects.toSatisfy(isValidationError);
      await expect(solo.start()).rejects.toMatchObject({ code: 'ZTAP_ALREADY_STARTED' });
      expect(solo.getNodes().map((member) => member.id)).toEqual(['solo']);
    });

    it('nodes registered by an operator are seen by every node, as "unknown" until heard from', async () => {
      const [a, b] = (await started(node('a'), node('b'))) as [LeaderElection, LeaderElection];
      const seenByA = new Recorder(a.watch());
      const seenByB = new Recorder(b.watch());
      await a.registerNode({ id: 'ext', address: 'ext.internal:9090', metadata: { role: 'batch' } });
      const joined = await fixture.settle(
        seenByB.first((c) => c.type === 'node_joined' && c.node.id === 'ext'),
      );
      expect(joined.node).toMatchObject({
        address: 'ext.internal:9090',
        state: 'unknown',
        metadata: { role: 'batch' },
      });
      await b.deregisterNode('ext');
      await fixture.settle(seenByA.first((c) => c.type === 'node_left' && c.node.id === 'ext'));
      expect(a.getNode('ext')).toBeUndefined();
    });

    describe('one node id, one node', () => {
      const failureOf = (promise: Promise<unknown>) =>
        fixture.settle(
          promise.then(
            () => undefined,
            (error: unknown) => error,
          ),
        );

      it('a second node with a running node’s id is refused with NodeIdInUseError; the first keeps leading and its record', async () => {
        const [first] = (await started(node('dup', { address: '127.0.0.1:7001' }))) as [LeaderElection];
        const leadership = await fixture.settle(first.waitForLeadership());
        const second = node('dup', { address: '127.0.0.1:7002' });
        const error = await failureOf(second.start());
        expect(isNodeIdInUseError(error)).toBe(true);
        expect(error).toMatchObject({
          nodeId: 'dup',
          holder: { address: '127.0.0.1:7001', since: expect.any(Date) },
        });
        expect((error as Error).message).toMatch(
          /^node id "dup" is in use by a running node at 127\.0\.0\.1:7001 \(since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\); /,
        );
        expect(second.isLeader()).toBe(false);
        expect(second.getNodes()).toEqual([]);
        expect(first.isLeader()).toBe(true);
        expect(first.term).toBe(leadership.term);
        // A node started afterwards reads the store as it is: the first node's record, untouched.
        const [observer] = (await started(node('observer'))) as [LeaderElection];
        expect(observer.getNode('dup')).toMatchObject({ address: '127.0.0.1:7001', state: 'healthy' });
        await seesLeader(observer, 'dup');
      });

      it('of two nodes starting at once with one id, exactly one runs', async () => {
        const twins = [
          node('twin', { address: '127.0.0.1:7001' }),
          node('twin', { address: '127.0.0.1:7002' }),
        ];
        const outcomes = await fixture.settle(Promise.allSettled(twins.map((twin) => twin.start())));
        const winners = twins.filter((_, index) => outcomes[index]?.status === 'fulfilled');
        const refusals = outcomes.flatMap((outcome) =>
          outcome.status === 'rejected' ? [outcome.reason] : [],
        );
        expect(winners).toHaveLength(1);
        expect(refusals).toHaveLength(1);
        expect(isNodeIdInUseError(refusals[0])).toBe(true);
        const winner = winners[0] as LeaderElection;
        await leaderAmong([winner]);
        const [observer] = (await started(node('observer'))) as [LeaderElection];
        expect(observer.getNode('twin')?.address).toBe(winner.getNode('twin')?.address);
      });

      it('a node whose predecessor with the same id crashed starts once the old claim lapses, and leads', async () => {
        await fixture.crashedHolder('phoenix', '127.0.0.1:7001');
        const reborn = node('phoenix', { address: '127.0.0.1:7002' });
        await fixture.settle(reborn.start());
        await leaderAmong([reborn]);
        expect(reborn.getNode('phoenix')).toMatchObject({ address: '127.0.0.1:7002', state: 'healthy' });
        expect(reborn.getNodes().map((member) => member.id)).toEqual(['phoenix']);
      });

      it('the start signal aborts the wait for a crashed predecessor; the node writes nothing', async () => {
        await fixture.crashedHolder('phoenix', '127.0.0.1:7001');
        const [observer] = (await started(node('observer'))) as [LeaderElection];
        const controller = new AbortController();
        const reborn = node('phoenix', { address: '127.0.0.1:7002' });
        const seen = new Recorder(reborn.watch());
        const starting = reborn.start({ signal: controller.signal });
        // A starting node sees the cluster before it has its id: the predecessor's record is in view.
        await fixture.settle(
          seen.first((change) => change.type === 'node_joined' && change.node.id === 'phoenix'),
        );
        controller.abort(new Error('gave up waiting'));
        expect(await failureOf(starting)).toMatchObject({ message: 'gave up waiting' });
        expect(reborn.isLeader()).toBe(false);
        expect(reborn.getNodes()).toEqual([]);
        expect(observer.getNode('phoenix')?.address).not.toBe('127.0.0.1:7002');
      });

      it('a node adopts the record an operator registered under its id', async () => {
        const [operator] = (await started(node('ops'))) as [LeaderElection];
        await operator.registerNode({ id: 'worker', address: '10.9.9.9:1', metadata: { by: 'operator' } });
        const seen = new Recorder(operator.watch());
        const worker = node('worker', { address: '127.0.0.1:7003' });
        await fixture.settle(worker.start());
        await fixture.settle(
          seen.first((change) => change.node.id === 'worker' && change.node.state === 'healthy'),
        );
        expect(operator.getNode('worker')).toMatchObject({ address: '127.0.0.1:7003', state: 'healthy' });
      });
    });

    it('`await using` stops the election at the end of the scope, and it can start again', async () => {
      const watcherNode = node('watcher');
      await watcherNode.start();
      const seen = new Recorder(watcherNode.watch());
      let scoped: LeaderElection | undefined;
      {
        await using temporary = node('temporary');
        scoped = temporary;
        await temporary.start();
        await fixture.settle(seen.first((c) => c.type === 'node_joined' && c.node.id === 'temporary'));
      }
      await fixture.settle(seen.first((c) => c.type === 'node_left' && c.node.id === 'temporary'));
      await expect(scoped.waitForLeadership()).rejects.toSatisfy(isElectionStoppedError);
      await scoped.start();
      await fixture.settle(
        seen.until((all) => summary(all).filter((entry) => entry === 'node_joined:temporary').length === 2),
      );
      await scoped.stop();
    });

    it("liveness: not ok unless running; ok while heard and healthy; the health check's reason while it fails", async () => {
      let failure: string | undefined;
      const subject = node('subject', {
        healthCheck: () => (failure === undefined ? true : { healthy: false, reason: failure }),
      });
      expect(subject.liveness).toEqual({ ok: false, reason: 'the election is not running' });
      await subject.start();
      await livenessWhere(subject, (liveness) => liveness.ok);

      failure = 'the job queue is 9000 deep';
      expect(await livenessWhere(subject, (liveness) => !liveness.ok)).toEqual({
        ok: false,
        reason: 'the health check fails: the job queue is 9000 deep',
      });
      expect(subject.liveness).toEqual({
        ok: false,
        reason: 'the health check fails: the job queue is 9000 deep',
      });
      failure = undefined;
      await livenessWhere(subject, (liveness) => liveness.ok);

      await subject.stop();
      expect(subject.liveness).toEqual({ ok: false, reason: 'the election is not running' });
    });

    it('reports confirmed heartbeats as ok, with their latency', async () => {
      const subject = node('subject');
      const confirmed = new Promise<HeartbeatEvent>((resolve) => {
        subject.telemetry.onHeartbeat((heartbeat) => {
          if (heartbeat.ok) resolve(heartbeat);
        });
      });
      await subject.start();
      const heartbeat = await fixture.settle(confirmed);
      expect(heartbeat.latencySeconds).toBeGreaterThanOrEqual(0);
    });

    it('start() aborted once its I/O began rejects with the reason and leaves nothing behind', async () => {
      const [observer] = (await started(node('observer'))) as [LeaderElection];
      const controller = new AbortController();
      let ioBegan = false;
      const late = node('late', {
        onStartIo: () => {
          ioBegan = true;
          controller.abort(new Error('not today'));
        },
      });
      await expect(late.start({ signal: controller.signal })).rejects.toThrow('not today');
      expect(ioBegan).toBe(true);
      expect(await fixture.leftovers('late')).toEqual([]);
      expect(late.isLeader()).toBe(false);
      expect(observer.getNode('late')).toBeUndefined();
      // It can start again afterwards, as if the aborted start had never happened.
      await late.start();
      await fixture.settle(
        new Recorder(observer.watch({ includeExisting: true })).first(
          (change) => change.type === 'node_joined' && change.node.id === 'late',
        ),
      );
    });

    it('start() with an already aborted signal rejects with its reason and does nothing', async () => {
      const late = node('late');
      await expect(late.start({ signal: AbortSignal.abort(new Error('not today')) })).rejects.toThrow(
        'not today',
      );
      expect(await fixture.leftovers('late')).toEqual([]);
      expect(late.isLeader()).toBe(false);
    });

    describeLeaderWorkContract(helpers);
    describeLeadershipControlContract(helpers);
    describeRolesContract(helpers);
  });
}
