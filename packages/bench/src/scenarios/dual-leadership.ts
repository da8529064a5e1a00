/**
 * 3. Dual leadership: the leader's process is frozen (SIGSTOP) or cut off from etcd (a TCP proxy
 * drops its connections) → how long it still believes it leads after another node was elected.
 *
 * Sample = (last instant the old leader's process saw "I lead" when asking its library, polled every
 * 1 ms) − (instant the successor's process learned it leads). Negative: it had stopped believing
 * before the successor was elected. A frozen process is thawed (SIGCONT) the moment the runner hears
 * the successor was elected: what it believes on waking is what it would act on.
 */
import { cutOffProxy } from '@ztap/cluster-testing';
import type { BenchContext } from '../context.ts';
import { alternate, type Measure, MeasureBuilder, type ScenarioResult, targetOn } from '../results.ts';
import { nowMs } from '../time.ts';
import { startPair, stopPair } from './processes.ts';

const TITLE = '3. Dual leadership';

type Fault = 'freeze' | 'cut';

export async function dualLeadership(context: BenchContext): Promise<ScenarioResult> {
  const ttlSeconds = 2;
  const trials = context.smoke ? 1 : 10;
  const measures: Measure[] = [];
  const raw: unknown[] = [];
  const unresolved: string[] = [];
  for (const fault of ['freeze', 'cut'] as const satisfies readonly Fault[]) {
    const label =
      fault === 'freeze'
        ? `TTL ${ttlSeconds} s, SIGSTOP: old leader still leads after successor elected`
        : `TTL ${ttlSeconds} s, cut off: old leader still leads after successor elected`;
    const overlap = new MeasureBuilder(TITLE, label, 'ms');
    for (let trial = 0; trial < trials; trial++) {
      for (const system of alternate(trial)) {
        context.log(`dual leadership (${fault}) trial ${trial + 1}/${trials}: ${system}`);
        const name = `${context.runId}-dual-${fault}-${trial}-${system}`;
        const link = fault === 'cut' ? await cutOffProxy([context.endpoint]) : undefined;
        const pair = await startPair({
          system,
          name,
          ttlSeconds,
          endpoint: context.endpoint,
          ...(link ? { leaderEndpoint: link.endpoints[0] as string } : {}),
        }).catch(async (error: unknown) => {
          await link?.close();
          throw error;
        });
        try {
          const faultAt = nowMs();
          if (link) link.cut();
          else pair.leader.signal('SIGSTOP');
          const elected = await pair.follower.waitFor(
            (event) => event.event === 'leader',
            ttlSeconds * 3000 + 5000,
            `is elected after the leader was ${fault === 'cut' ? 'cut off' : 'frozen'}`,
          );
          if (!link) pair.leader.signal('SIGCONT');
          const boundMs = ttlSeconds * 3000 + 3000;
          const stepped = await pair.leader
            .waitFor(
              (event) => event.event === 'stepped-down' && Number(event.lastYes) >= pair.leaderElected.at,
              boundMs,
              'stops believing it leads',
            )
            .catch(() => undefined);
          let sample: number;
          if (stepped) {
            sample = Number(stepped.lastYes) - elected.at;
          } else {
            // Still leading when we stopped waiting: the overlap is at least this long.
            sample = nowMs() - elected.at;
            unresolved.push(`${system} ${fault} trial ${trial + 1}`);
          }
          overlap.add(system, sample);
          raw.push({
            fault,
            ttlSeconds,
            trial,
            system,
            overlapMs: sample,
            stillLeadingAtEnd: !stepped,
            faultToSuccessorMs: elected.at - faultAt,
            faultToStepDownMs: stepped ? Number(stepped.lastYes) - faultAt : undefined,
          });
        } finally {
          await stopPair(pair);
          await link?.close();
        }
      }
    }
    measures.push(
      overlap.build((samples) => targetOn('never > 0 ms', samples.ztap, (summary) => summary.max <= 0)),
    );
  }
  const notes = [
    `TTL ${ttlSeconds} s, ${trials} trials per system and fault. "Leads" = ZTAP's isLeader(), or etcd3's campaign elected with no 'error' since, polled every 1 ms in the leader's process; sample = its last "yes" − the successor's election (negative: it stepped down first). A frozen leader is thawed as soon as the successor is elected.`,
  ];
  if (unresolved.length > 0) {
    notes.push(
      `Still believed it led when the runner stopped waiting (${ttlSeconds * 3 + 3} s; sample is a lower bound): ${unresolved.join(', ')}.`,
    );
  }
  return { id: 'dual', title: TITLE, measures, raw, notes };
}
