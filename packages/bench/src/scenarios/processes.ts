/** A leader and a queued follower, each in its own process, for the fault scenarios. */

import type { NodeChildConfig } from '../child/node-child.ts';
import { BenchChild, type ChildEvent } from '../child-process.ts';
import type { SystemName } from '../results.ts';
import { sleep } from '../time.ts';

export interface Pair {
  readonly leader: BenchChild;
  readonly follower: BenchChild;
  readonly leaderElected: ChildEvent;
}

/**
 * Starts the leader, waits until it leads, then the follower, and waits until it is queued. Then a
 * random pause of up to one keepalive period, so the fault lands anywhere in the keepalive cycle.
 */
export async function startPair(options: {
  readonly system: SystemName;
  readonly name: string;
  readonly ttlSeconds: number;
  readonly endpoint: string;
  /** Where the leader connects (a proxy, to cut it off); the follower always goes straight to etcd. */
  readonly leaderEndpoint?: string;
}): Promise<Pair> {
  const base = { system: options.system, name: options.name, ttlSeconds: options.ttlSeconds, pollMs: 1 };
  const leaderConfig: NodeChildConfig = {
    ...base,
    nodeId: 'a',
    endpoint: options.leaderEndpoint ?? options.endpoint,
  };
  const leader = new BenchChild(`${options.system} leader`, 'node-child.ts', leaderConfig);
  let follower: BenchChild | undefined;
  try {
    const leaderElected = await leader.waitFor((event) => event.event === 'leader', 20_000, 'leads');
    const followerConfig: NodeChildConfig = { ...base, nodeId: 'b', endpoint: options.endpoint };
    follower = new BenchChild(`${options.system} follower`, 'node-child.ts', followerConfig);
    await follower.waitFor((event) => event.event === 'ready', 20_000, 'is queued');
    // Let the follower's watch settle, then land the fault at a random point of the keepalive cycle.
    await sleep(300 + Math.random() * ((options.ttlSeconds * 1000) / 3));
    return { leader, follower, leaderElected };
  } catch (error) {
    await Promise.all([leader.kill(), follower?.kill()]);
    throw error;
  }
}

export async function stopPair(pair: Pair): Promise<void> {
  // The follower leaves gracefully (revoking its lease); the leader may be frozen or dead.
  await Promise.all([pair.follower.stop(), pair.leader.kill()]);
}
