/**
 * `pnpm demo`: three nodes elect a leader; the leader stops, then the next leader's health check
 * fails; each failover is printed with how long it took, as seen by a follower.
 */
import type { ClusterStateChange, LeaderElection } from '@ztap/cluster';
import { chooseDemoBackend } from './demo-backend.ts';

const startedAt = performance.now();
const elapsed = () => `+${(performance.now() - startedAt).toFixed(1).padStart(7)} ms`;
const describeChange = (change: ClusterStateChange) =>
  `${change.type.padEnd(14)} ${change.node.id}${change.term === undefined ? '' : ` (term ${change.term})`}`;

const backend = await chooseDemoBackend();
console.log(`ZTAP cluster demo on ${backend.description}\n`);

const healthy = new Map<string, boolean>();
const nodes = ['node-1', 'node-2', 'node-3'].map((id) => {
  healthy.set(id, true);
  return backend.createNode(id, () => healthy.get(id) === true);
});

try {
  await Promise.all(nodes.map((node) => node.start()));
  const first = await leaderAmong(nodes);
  console.log(`${elapsed()}  ${first.nodeId} leads with term ${first.term}\n`);

  console.log(`Failover 1: the leader ${first.nodeId} stops (resigns and leaves).`);
  const afterStop = nodes.filter((node) => node !== first);
  const second = await timeFailover(afterStop, () => first.stop());

  console.log(`\nFailover 2: the health check of ${second.nodeId} starts failing.`);
  const third = await timeFailover(afterStop, async () => {
    healthy.set(second.nodeId, false);
  });

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
  const faultAt = performance.now();
  await fault();
  for (;;) {
    const { value: change, done } = await changes.next();
    if (done) throw new Error(`${observer.nodeId} stopped watching before a new leader was elected`);
    console.log(`${elapsed()}  ${observer.nodeId} saw ${describeChange(change)}`);
    if (change.type === 'leader_elected' && change.node.id !== previousLeader) {
      const took = performance.now() - faultAt;
      controller.abort();
      console.log(
        `=> ${change.node.id} took over ${took.toFixed(1)} ms after the fault (heard by ${observer.nodeId})`,
      );
      return leaderAmong(candidates);
    }
  }
}
