/**
 * The invariants every chaos trial must keep, checked from what the node processes reported and what
 * etcd holds. Each check returns human-readable violations (empty when the invariant held).
 */
import { type NodeEvent, type NodeProcess, OPEN, termIntervals } from '../support/node-processes.ts';

const acts: ReadonlySet<string> = new Set(['write', 'policy-write']);

/**
 * No write fenced with a stale term is ever accepted: ordered by the revision etcd committed them at,
 * accepted writes never go back to an older term. `events` names the writes (of one store).
 */
export function staleTermWrites(nodes: readonly NodeProcess[], events: ReadonlySet<string> = acts): string[] {
  const accepted = nodes
    .flatMap((node) =>
      node.events.items
        .filter((e) => events.has(e.event) && e.ok && e.revision !== undefined)
        .map((e) => ({ node: node.nodeId, ...e })),
    )
    .sort((a, b) => (a.revision as number) - (b.revision as number));
  const violations: string[] = [];
  for (let index = 1; index < accepted.length; index++) {
    const before = accepted[index - 1] as (typeof accepted)[number];
    const after = accepted[index] as (typeof accepted)[number];
    if ((after.term as number) < (before.term as number)) {
      violations.push(
        `write of term ${after.term} by ${after.node} accepted at revision ${after.revision}, after term ${before.term} wrote at ${before.revision}`,
      );
    }
  }
  return violations;
}

/**
 * No two nodes act as leader at the same instant: every attempt to act under a term (accepted or not,
 * taken right after the node checked it leads) comes before every attempt under a later term.
 * Instants are process.hrtime, comparable across the processes of one machine.
 */
export function overlappingLeaders(
  nodes: readonly NodeProcess[],
  events: ReadonlySet<string> = acts,
): string[] {
  const byTerm = new Map<number, { first: bigint; last: bigint; nodes: Set<string> }>();
  for (const node of nodes) {
    for (const event of node.events.items) {
      if (!events.has(event.event) || event.term === undefined) continue;
      const at = BigInt(event.at);
      const span = byTerm.get(event.term) ?? { first: at, last: at, nodes: new Set<string>() };
      span.first = at < span.first ? at : span.first;
      span.last = at > span.last ? at : span.last;
      span.nodes.add(node.nodeId);
      byTerm.set(event.term, span);
    }
  }
  const violations: string[] = [];
  const terms = [...byTerm.entries()].sort(([a], [b]) => a - b);
  for (const [term, span] of terms) {
    if (span.nodes.size > 1) violations.push(`term ${term} was acted on by ${[...span.nodes].join(' and ')}`);
  }
  for (let index = 1; index < terms.length; index++) {
    const [earlierTerm, earlier] = terms[index - 1] as [number, { last: bigint; nodes: Set<string> }];
    const [laterTerm, later] = terms[index] as [number, { first: bigint; nodes: Set<string> }];
    if (earlier.last >= later.first) {
      violations.push(
        `${[...earlier.nodes]} still acted under term ${earlierTerm} ${Number(earlier.last - later.first) / 1e6} ms after ${[...later.nodes]} acted under term ${laterTerm}`,
      );
    }
  }
  return violations;
}

/**
 * For graceful handovers (SIGTERM, resign): no two leaders' work runs at the same instant. Work runs
 * through `lead()` and keeps running a while after its signal aborts; `stop()` and `resign()` must let
 * it end before a successor is elected, so every term's work ends before any later work begins.
 * (After an involuntary loss, a frozen or cut-off leader's work may still be running: not checked.)
 */
export function overlappingWork(nodes: readonly NodeProcess[]): string[] {
  const intervals = nodes
    .flatMap((node) =>
      termIntervals(node, 'work-start', 'work-end').map((interval) => ({ node: node.nodeId, ...interval })),
    )
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const violations: string[] = [];
  let latest: (typeof intervals)[number] | undefined;
  for (const interval of intervals) {
    if (latest && latest.to >= interval.from) {
      const overlap =
        latest.to === OPEN ? 'had not ended' : `ran ${Number(latest.to - interval.from) / 1e6} ms past`;
      violations.push(
        `${latest.node}'s work under term ${latest.term} ${overlap} when ${interval.node}'s work under term ${interval.term} began`,
      );
    }
    if (!latest || interval.to > latest.to) latest = interval;
  }
  return violations;
}

/** `lead()` never fails under faults: leader work that only stops when told must never reject it. */
export function failedLeadLoops(nodes: readonly NodeProcess[]): string[] {
  return nodes.flatMap((node) =>
    node.events.items
      .filter((event) => event.event === 'lead-failed')
      .map((event) => `${node.nodeId}: lead() rejected: ${event.error}`),
  );
}

/** For a leader that lost its lease without being frozen: it stopped leading before anyone else began. */
export function steppedDownBeforeSuccessor(
  lost: NodeEvent | undefined,
  successor: NodeEvent | undefined,
): string[] {
  if (!lost || !successor) return [`missing evidence: lost=${Boolean(lost)} successor=${Boolean(successor)}`];
  return BigInt(lost.at) < BigInt(successor.at)
    ? []
    : [
        `the old leader stepped down ${Number(BigInt(lost.at) - BigInt(successor.at)) / 1e6} ms after its successor was elected`,
      ];
}

/** Every live node's view of members and policies equals what etcd holds. */
export function viewMismatches(
  views: readonly NodeEvent[],
  etcdMembers: readonly string[],
  etcdPolicies: Readonly<Record<string, number>> | undefined,
): string[] {
  const violations: string[] = [];
  const expectedMembers = JSON.stringify([...etcdMembers].sort());
  for (const view of views) {
    const members = JSON.stringify([...(view.members ?? [])].sort());
    if (members !== expectedMembers)
      violations.push(`a node sees members ${members}, etcd holds ${expectedMembers}`);
    if (etcdPolicies && view.policies) {
      const sorted = (record: Readonly<Record<string, number>>) =>
        JSON.stringify(Object.entries(record).sort());
      if (sorted(view.policies) !== sorted(etcdPolicies))
        violations.push(`a node sees policies ${sorted(view.policies)}, etcd holds ${sorted(etcdPolicies)}`);
    }
  }
  return violations;
}

/** Policy updates reach a subscriber in order: per policy, versions only grow between snapshots. */
export function reorderedPolicyUpdates(node: NodeProcess): string[] {
  const latest = new Map<string, number>();
  const violations: string[] = [];
  for (const event of node.events.items) {
    if (event.event === 'policy-snapshot') {
      latest.clear();
      for (const [name, version] of Object.entries(event.policies ?? {})) latest.set(name, version);
    } else if (event.event === 'policy-updated' || event.event === 'policy-deleted') {
      const name = event.name as string;
      const before = latest.get(name) ?? 0;
      if ((event.version as number) <= before)
        violations.push(`${node.nodeId} got ${name}@${event.version} after ${name}@${before}`);
      if (event.event === 'policy-updated') latest.set(name, event.version as number);
      else latest.delete(name);
    }
  }
  return violations;
}
