/**
 * 5. Herd: etcd watch events and requests per leadership change, few vs many candidates.
 *
 * Counted by etcd itself (its /metrics, read before and after each change): watch events sent to
 * watchers (etcd_debugging_mvcc_events_total: one per event per watcher) and unary requests. A
 * change = the leader resigns and campaigns again (ZTAP's resign() does both; etcd3 resigns and
 * starts a new campaign), until the successor leads, the observer knows and the old leader is queued.
 * Two layouts: every candidate on one client (one process hosting many nodes), and a client per
 * candidate (what separate processes do; ZTAP then has one watch per client, each seeing every change).
 */
import { type CandidateGroup, createGroup, settle } from '../candidates.ts';
import type { BenchContext } from '../context.ts';
import { counterDelta, readEtcdCounters } from '../etcd-metrics.ts';
import { alternate, type Measure, MeasureBuilder, type ScenarioResult, type Target } from '../results.ts';
import { summarize } from '../stats.ts';

const TITLE = '5. Herd';

interface Layout {
  readonly clients: 'shared' | 'own';
  readonly sizes: readonly [number, number];
}

export async function herd(context: BenchContext): Promise<ScenarioResult> {
  const layouts: Layout[] = context.smoke
    ? [
        { clients: 'shared', sizes: [3, 12] },
        { clients: 'own', sizes: [3, 12] },
      ]
    : [
        { clients: 'shared', sizes: [10, 1000] },
        { clients: 'own', sizes: [10, 200] },
      ];
  const changes = context.smoke ? 2 : 10;
  const rounds = context.smoke ? 1 : 2;
  const ttlSeconds = 10;
  const measures: Measure[] = [];
  const raw: unknown[] = [];
  const incidents: string[] = [];
  for (const layout of layouts) {
    const where = layout.clients === 'shared' ? 'one client' : 'a client each';
    const built: Record<'events' | 'requests', MeasureBuilder[]> = { events: [], requests: [] };
    for (const size of layout.sizes) {
      const events = new MeasureBuilder(TITLE, `N=${size}, ${where}: watch events per change`, 'events');
      const requests = new MeasureBuilder(TITLE, `N=${size}, ${where}: etcd requests per change`, 'requests');
      built.events.push(events);
      built.requests.push(requests);
      for (let round = 0; round < rounds; round++) {
        for (const system of alternate(round)) {
          context.log(`herd N=${size} (${where}) round ${round + 1}/${rounds}: ${system}`);
          const group = createGroup(system, {
            endpoint: context.endpoint,
            candidates: size,
            ttlSeconds,
            name: `${context.runId}-herd-${layout.clients}-n${size}-r${round}-${system}`,
            clients: layout.clients,
            startTimeoutMs: 180_000,
          });
          try {
            await group.start();
            await settle(context.smoke ? 300 : 1000);
            for (let change = 0; change < changes; change++) {
              const sample = await countChange(context.endpoint, group);
              events.add(system, sample.watchEvents);
              requests.add(system, sample.unaryRequests);
              raw.push({ layout: layout.clients, size, round, system, change, ...sample });
            }
          } finally {
            incidents.push(
              ...group.incidents().map((incident) => `${system}, N=${size} (${where}): ${incident}`),
            );
            await group.stop();
          }
        }
      }
    }
    measures.push(...withIndependence(built.events), ...withIndependence(built.requests));
  }
  return {
    id: 'herd',
    title: TITLE,
    measures,
    raw,
    notes: [
      `TTL ${ttlSeconds} s; ${rounds} round(s) × ${changes} changes per system and N. Counted by etcd (/metrics before and after each change, ${SETTLE_MS} ms after it completed); background work in that window (ZTAP: one revision check per client every TTL) is included. One observer on its own client in every group.`,
      ...incidents.map((incident) => `Incident: ${incident}.`),
    ],
  };
}

const SETTLE_MS = 200;

async function countChange(endpoint: string, group: CandidateGroup) {
  const before = await readEtcdCounters(endpoint);
  const ownBefore = group.requestCount();
  const sample = await group.handover(10_000);
  await settle(SETTLE_MS);
  const after = await readEtcdCounters(endpoint);
  const ownAfter = group.requestCount();
  const delta = counterDelta(before, after);
  return {
    watchEvents: delta.watchEvents,
    unaryRequests: delta.unaryRequests,
    watchStreamMessages: delta.watchRequests,
    byMethod: delta.byMethod,
    selfCountedRequests: ownBefore === undefined || ownAfter === undefined ? undefined : ownAfter - ownBefore,
    electedMs: sample.electedMs,
    observedMs: sample.observedMs,
  };
}

/** The big-N row says whether ZTAP's work per change stayed what it was at small N (within 10%, or 1). */
function withIndependence(builders: MeasureBuilder[]): Measure[] {
  const [small, large] = builders as [MeasureBuilder, MeasureBuilder];
  const target = (samples: { ztap: number[] }): Target => {
    const few = summarize(small.samples.ztap);
    const many = summarize(samples.ztap);
    return {
      text: `independent of N (≤ ${small.name.split(',')[0]} + 10%)`,
      met: few && many ? many.median <= Math.max(few.median * 1.1, few.median + 1) : undefined,
    };
  };
  return [small.build(), large.build(target)];
}
