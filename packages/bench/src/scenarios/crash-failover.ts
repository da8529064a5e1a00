/**
 * 2. Crash failover: the leader's process is killed with SIGKILL → a new leader is elected. Leader
 * and follower each run in their own process; trials alternate which system goes first.
 */
import type { BenchContext } from '../context.ts';
import { alternate, type Measure, MeasureBuilder, type ScenarioResult, targetOn } from '../results.ts';
import { nowMs } from '../time.ts';
import { startPair, stopPair } from './processes.ts';

const TITLE = '2. Crash failover';

export async function crashFailover(context: BenchContext): Promise<ScenarioResult> {
  const ttls = context.smoke ? [2] : [2, 5];
  const trials = context.smoke ? 1 : 12;
  const measures: Measure[] = [];
  const raw: unknown[] = [];
  for (const ttlSeconds of ttls) {
    const failover = new MeasureBuilder(TITLE, `TTL ${ttlSeconds} s: SIGKILL → successor elected`, 'ms');
    for (let trial = 0; trial < trials; trial++) {
      for (const system of alternate(trial)) {
        context.log(`crash failover TTL ${ttlSeconds} s trial ${trial + 1}/${trials}: ${system}`);
        const name = `${context.runId}-crash-ttl${ttlSeconds}-${trial}-${system}`;
        const pair = await startPair({ system, name, ttlSeconds, endpoint: context.endpoint });
        try {
          const killedAt = nowMs();
          pair.leader.signal('SIGKILL');
          const elected = await pair.follower.waitFor(
            (event) => event.event === 'leader',
            ttlSeconds * 3000 + 5000,
            'is elected after the leader was killed',
          );
          failover.add(system, elected.at - killedAt);
          raw.push({ ttlSeconds, trial, system, failoverMs: elected.at - killedAt });
        } finally {
          await stopPair(pair);
        }
      }
    }
    const limit = ttlSeconds * 1000 + 600;
    measures.push(
      failover.build((samples) =>
        targetOn(`p99 ≤ TTL + 0.6 s (${limit} ms)`, samples.ztap, (s) => s.p99 <= limit),
      ),
    );
  }
  return {
    id: 'crash',
    title: TITLE,
    measures,
    raw,
    notes: [
      `${trials} trials per system and TTL; leader and follower in separate processes; keepalive every TTL/3 for both (etcd3's fixed period; ZTAP configured to match); the kill lands at a random point of the keepalive cycle.`,
    ],
  };
}
