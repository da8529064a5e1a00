/**
 * The invariants of every multi-region chaos trial, from what the node processes reported and what
 * the global and regional etcds hold. Each check returns human-readable violations (none: it held).
 */
import { type NodeProcess, OPEN, termIntervals } from '../support/node-processes.ts';
import { overlappingLeaders, staleTermWrites } from './oracle.ts';

const GLOBAL_WRITES: ReadonlySet<string> = new Set(['global-write', 'policy-write']);
const REPLICA_WRITES: ReadonlySet<string> = new Set(['replica-write']);

/**
 * At most one global leader at any instant: the global leaderships of all nodes (from the instant
 * each began to the instant it ended, process.hrtime) never overlap. A leadership that never ended
 * ends at `endOf(node)`: its kill, or the end of the trial.
 */
export function overlappingGlobalLeaders(
  nodes: readonly NodeProcess[],
  endOf: (node: NodeProcess) => bigint,
): string[] {
  const intervals = nodes
    .flatMap((node) =>
      termIntervals(node, 'global-leader', 'global-lost').map((interval) => ({
        node: node.nodeId,
        ...interval,
        to: interval.to === OPEN ? endOf(node) : interval.to,
      })),
    )
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const violations: string[] = [];
  let latest: (typeof intervals)[number] | undefined;
  for (const interval of intervals) {
    if (latest && latest.to > interval.from)
      violations.push(
        `${latest.node} still led globally (term ${latest.term}) ${Number(latest.to - interval.from) / 1e6} ms after ${interval.node} began to (term ${interval.term})`,
      );
    if (!latest || interval.to > latest.to) latest = interval;
  }
  return violations;
}

/** Global writes: acted on by one node per global term, every term's acts before any later term's. */
export function overlappingGlobalActs(nodes: readonly NodeProcess[]): string[] {
  return overlappingLeaders(nodes, GLOBAL_WRITES);
}

/**
 * No stale fenced write accepted, per store: the global writes (ordered by global revision) never go
 * back to an older global term, and each region's replication writes (ordered by that region's
 * revision) never go back to an older regional term.
 */
export function staleFencedWrites(
  nodes: readonly NodeProcess[],
  regionOf: (node: NodeProcess) => string,
): string[] {
  const regions = new Map<string, NodeProcess[]>();
  for (const node of nodes) regions.set(regionOf(node), [...(regions.get(regionOf(node)) ?? []), node]);
  return [
    ...staleTermWrites(nodes, GLOBAL_WRITES).map((violation) => `global store: ${violation}`),
    ...[...regions].flatMap(([region, members]) =>
      staleTermWrites(members, REPLICA_WRITES).map((violation) => `region ${region}: ${violation}`),
    ),
  ];
}

/** Every region holds exactly what the global store holds (name → global version). */
export function regionDivergence(
  global: Readonly<Record<string, number>>,
  regions: Readonly<Record<string, Readonly<Record<string, number>>>>,
): string[] {
  const sorted = (record: Readonly<Record<string, number>>) => JSON.stringify(Object.entries(record).sort());
  return Object.entries(regions)
    .filter(([, held]) => sorted(held) !== sorted(global))
    .map(([region, held]) => `region ${region} holds ${sorted(held)}, the global store ${sorted(global)}`);
}

/**
 * Resyncs only for reasons the trial can produce: none may say the global store changed or the
 * region's checkpoint was written by someone else (neither happens in a chaos trial), so such a
 * resync is replication misjudging its own state.
 */
export function unexplainedResyncs(nodes: readonly NodeProcess[]): string[] {
  return nodes.flatMap((node) =>
    node.events.items
      .filter(
        (event) =>
          event.event === 'replica-resync' &&
          (event.reason === 'store_changed' || event.reason === 'conflict'),
      )
      .map(
        (event) =>
          `${node.nodeId} resynced its region for "${event.reason}" although nothing changed the stores`,
      ),
  );
}
