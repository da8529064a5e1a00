import {
  type ClusterStateChange,
  isNarrowViewError,
  isRoleError,
  type LeaderElection,
  type Node,
} from '@ztap/cluster';
import { describe, expect, it } from 'vitest';
import type { ConformanceHelpers } from './conformance-fixture.ts';
import { Recorder } from './recorder.ts';

/**
 * Roles and views: a `member` is registered and health-tracked but never leads, an `observer` reads
 * and leaves no trace, and a `leader` view knows the leader and nothing of the members.
 */
export function describeRolesContract(helpers: ConformanceHelpers): void {
  const { node, started, leaderAmong } = helpers;
  const settle = <T>(promise: Promise<T>) => helpers.fixture().settle(promise);
  /** Waits until `observer`'s view names `leaderId` (or no leader) as leader. */
  const seesLeader = (observer: LeaderElection, leaderId: string | undefined) =>
    settle(
      new Recorder(observer.leaderChanges()).until(
        (leaders) => leaders.at(-1)?.id === leaderId,
        `${observer.nodeId} to see leader ${leaderId ?? '(none)'}`,
      ),
    );
  /** Waits until `observer`'s member list satisfies `predicate` (its picture, then its changes). */
  const seesNodes = (observer: LeaderElection, predicate: (nodes: ReadonlyMap<string, Node>) => boolean) =>
    settle(
      new Recorder(observer.watch({ includeExisting: true })).until((changes) => {
        const nodes = new Map<string, Node>();
        for (const change of changes) {
          if (change.type === 'node_left') nodes.delete(change.node.id);
          else if (change.type !== 'leader_lost') nodes.set(change.node.id, change.node);
        }
        return predicate(nodes);
      }, `${observer.nodeId} to see the expected members`),
    );
  /** Every leadership `election` gains, from now on. */
  const gains = (election: LeaderElection) => {
    const terms: number[] = [];
    election.telemetry.onLeadership((event) => {
      if (event.leading) terms.push(event.term);
    });
    return terms;
  };

  describe('roles and views', () => {
    it('a member is registered and followed, never leads, and rejects leader calls with a RoleError', async () => {
      const [candidate, member] = (await started(node('c'), node('b-member', { role: 'member' }))) as [
        LeaderElection,
        LeaderElection,
      ];
      const memberGains = gains(member);
      expect(member.role).toBe('member');
      expect(await leaderAmong([candidate])).toBe(candidate);
      await seesLeader(member, 'c');
      await seesNodes(candidate, (nodes) => nodes.get('b-member')?.state === 'healthy');
      expect(candidate.getNode('b-member')).toMatchObject({ role: 'follower', state: 'healthy' });
      expect(member.liveness).toMatchObject({ ok: true });

      await expect(member.waitForLeadership()).rejects.toSatisfy(isRoleError);
      await expect(member.lead(() => {})).rejects.toSatisfy(isRoleError);
      await expect(member.runWhileLeader(() => 1)).rejects.toThrow(/role 'member'.*role: 'candidate'/);
      await member.resign(); // never leads: the no-op

      // The member comes first by id (memory) and by join order (etcd): a candidate in its place
      // would take over now. A member leaves the leadership to the candidate that joins later.
      await candidate.stop();
      const late = node('z');
      await started(late);
      expect(await leaderAmong([late])).toBe(late);
      await seesLeader(member, 'z');
      expect(member.isLeader()).toBe(false);
      expect(member.term).toBeUndefined();
      expect(memberGains).toEqual([]);
    });

    it('a member is health-tracked: its failing health check shows on the others', async () => {
      let healthy = true;
      const [candidate] = await started(
        node('c'),
        node('m', { role: 'member', healthCheck: () => healthy || { healthy: false, reason: 'disk full' } }),
      );
      await seesNodes(candidate as LeaderElection, (nodes) => nodes.get('m')?.state === 'healthy');
      healthy = false;
      await seesNodes(candidate as LeaderElection, (nodes) => nodes.get('m')?.state === 'unhealthy');
    });

    it('an observer follows leader and members, is seen by nobody and leaves nothing behind', async () => {
      const [candidate] = (await started(node('c'))) as [LeaderElection];
      await leaderAmong([candidate]);
      const observer = node('o', { role: 'observer' });
      await started(observer);
      expect(observer.role).toBe('observer');
      await seesLeader(observer, 'c');
      expect(observer.liveness).toMatchObject({ ok: true });
      // Joined after the observer: once the candidate sees it, it would have seen the observer too.
      await started(node('d'));
      await seesNodes(candidate, (nodes) => nodes.has('d'));
      expect(candidate.getNodes().map((member) => member.id)).toEqual(['c', 'd']);
      await seesNodes(observer, (nodes) => nodes.has('c') && nodes.has('d'));
      expect(observer.getNodes().map((member) => member.id)).toEqual(['c', 'd']);
      expect(await helpers.fixture().leftovers('o')).toEqual([]);
      await expect(observer.waitForLeadership()).rejects.toSatisfy(isRoleError);
      expect(observer.isLeader()).toBe(false);
    });

    it('an observer claims no id: one named like the leader still sees it lead', async () => {
      const [leader] = (await started(node('c'))) as [LeaderElection];
      await leaderAmong([leader]);
      const observer = node('c', { role: 'observer' });
      await started(observer);
      await seesLeader(observer, 'c');
      expect(observer.getLeader()).toMatchObject({ id: 'c', role: 'leader' });
      expect(leader.isLeader()).toBe(true);
    });

    it("a 'leader' view knows the leader and its term, has no member list, and watches leader changes only", async () => {
      const [first] = (await started(node('a'))) as [LeaderElection];
      const firstTerm = (await leaderAmong([first])).term as number;
      const narrow = node('n', { role: 'member', view: 'leader' });
      expect(narrow.view).toBe('leader');
      await started(narrow);
      const changes = new Recorder(narrow.watch({ includeExisting: true }));
      await seesLeader(narrow, 'a');
      expect(narrow.getLeader()?.id).toBe('a');
      expect(narrow.getState()).toMatchObject({ leader: { id: 'a' }, term: firstTerm });
      for (const read of [
        () => narrow.getNodes(),
        () => narrow.getNode('a'),
        () => narrow.getState().nodes,
      ]) {
        expect(read).toThrow(/view: 'leader'.*view: 'full'/);
        try {
          read();
        } catch (error) {
          expect(isNarrowViewError(error)).toBe(true);
        }
      }
      // The others see the narrow member like any other.
      await seesNodes(first, (nodes) => nodes.has('n'));

      // Member churn, then a leadership change: the narrow watch shows the leadership change only.
      const churn = node('x', { role: 'member' });
      await started(churn);
      await seesNodes(first, (nodes) => nodes.has('x'));
      await churn.stop();
      const second = node('b');
      await started(second);
      await first.stop();
      expect(await leaderAmong([second])).toBe(second);
      await seesLeader(narrow, 'b');
      const seen = await settle(
        changes.until(
          (all) => all.some((change) => change.type === 'leader_elected' && change.node.id === 'b'),
          'the narrow watch to see b elected',
        ),
      );
      expect(summary(seen)).toEqual(['leader_elected:a', 'leader_lost:a', 'leader_elected:b']);
    });

    it("a candidate with a 'leader' view campaigns and leads", async () => {
      const [narrow] = (await started(node('k', { view: 'leader' }))) as [LeaderElection];
      const leadership = await settle(narrow.waitForLeadership());
      expect(narrow.isLeader()).toBe(true);
      await seesLeader(narrow, 'k');
      expect(narrow.getState()).toMatchObject({ leader: { id: 'k', role: 'leader' }, term: leadership.term });
    });
  });
}

const summary = (changes: readonly ClusterStateChange[]) =>
  changes.map((change) => `${change.type}:${change.node.id}`);
