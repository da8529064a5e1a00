/**
 * `pnpm demo`: three nodes elect a leader; the leader stops, then the next leader suffers a fault
 * (on etcd: it is cut off from etcd; in memory: its health check fails). Each failover is printed
 * with how long it took, as a follower saw it, and when the old leader stopped acting as one.
 */
import type { ClusterStateChange, LeaderElection } from '@ztap/cluster';
import { chooseDemoBackend } from './demo-backend.ts';

const startedAt = performance.now();
const elapsed = () => `+${(performance.now() - startedAt).toFixed(1).padStart(7)} ms`;
const describeChange = (change: ClusterStateChange) =>
  `${change.type.padEnd(14)} ${change.node.id}${change.term === undefined ? '' : ` (term ${change.term})`}`;

const backend = await chooseDemoBackend();
console.log(`ZTAP cluster demo on ${backend.description}\n`);

const nodes: LeaderElection[] = [];
for (const id of ['node-1', 'node-2', 'node-3']) nodes.push(await backend.createNode(id, () => true));

try {
  await Promise.all(nodes.map((node) => node.start()));
  const first = await leaderAmong(nodes);
  console.log(`${elapsed()}  ${first.nodeId} leads with term ${first.term}\n`);

  console.log(`Failover 1: the leader ${first.nodeId} stops (resigns and leaves).`);
  const afterStop = nodes.filter((node) => node !== first);
  const second = await timeFailover(afterStop, () => first.stop());

  console.log(`\nFailover 2: the leader ${second.nodeId} fails: ${backend.fault.description}.`);
  const third = await timeFailover(afterStop, () => backend.fault.inject(second.nodeId));

  console.log(`\n${third.nodeId} leads with term ${third.term}. Cluster as ${third.nodeId} sees it:`);
  for (const node of third.getNodes()) {
    console.log(`  ${node.id.padEnd(8)} ${node.address.padEnd(16)} ${node.state.padEnd(10)} ${node.role}`);
  }
} finally {
  await Promise.all(nodes.map((node) => node.stop()));
  await backend.close();
}

/** Waits until one of `nodes` leads and returns it. */
async function leaderAmong(candidates: LeaderElection[]): Promise<LeaderElection> {
  const leadership = await Promise.any(candidates.map((node) => node.waitForLeadership()));
  return candidates.find((node) => node.term === leadership.term) as LeaderElection;
}

/**
 * Runs `fault` and measures, from a follower's watch stream, how long until it hears a new leader.
 * Prints every change the follower sees on the way.
 */
async function timeFailover(
  candidates: LeaderElection[],
  fault: () => Promise<void>,
): Promise<LeaderElection> {
  const previousLeader = candidates[0]?.getLeader()?.id;
  const observer =
    candidates.find((node) => node.nodeId !== previousLeader) ?? (candidates[0] as LeaderElection);
  const controller = new AbortController();
  const changes = observer.watch({ signal: controller.signal })[Symbol.asyncIterator]();
  const oldLeader = candidates.find((node) => node.nodeId === previousLeader);
  const faultAt = performance.now();
  let steppedDownAt: number | undefined;
  oldLeader?.leadershipSignal.addEventListener('abort', () => {
    steppedDownAt = performance.now();
  });
  await fault();
  for (;;) {
    const { value: change, done } = await changes.next();
    if (done) throw new Error(`${observer.nodeId} stopped watching before a new leader was elected`);
    console.log(`${elapsed()}  ${observer.nodeId} saw ${describeChange(change)}`);
    if (change.type === 'leader_elected' && change.node.id !== previousLeader) {
      const heardAt = performance.now();
      controller.abort();
      console.log(
        `=> ${change.node.id} took over ${(heardAt - faultAt).toFixed(1)} ms after the fault (heard by ${observer.nodeId})`,
      );
      // Only worth saying when stepping down took time (a clean stop resigns at once).
      if (oldLeader && steppedDownAt !== undefined && steppedDownAt - faultAt > 1) {
        const lead = heardAt - steppedDownAt;
        console.log(
          `   ${oldLeader.nodeId} stopped acting as leader ${(steppedDownAt - faultAt).toFixed(1)} ms after the fault, ` +
            `${Math.abs(lead).toFixed(1)} ms ${lead >= 0 ? 'before' : 'AFTER'} the new leader was known` +
            (lead >= 0 ? ': never two leaders.' : ': TWO LEADERS AT ONCE.'),
        );
      }
      return leaderAmong(candidates);
    }
  }
}
