import type { ClusterState, ClusterStateChange, Node } from '@ztap/cluster';

/** The stable JSON shape of a node (docs/cli.md). */
export function nodeJson(node: Node) {
  return {
    id: node.id,
    address: node.address,
    state: node.state,
    role: node.role,
    joinedAt: node.joinedAt.toISOString(),
    lastSeen: node.lastSeen.toISOString(),
    metadata: node.metadata,
    priority: node.priority,
  };
}

export function countStates(state: ClusterState) {
  const count = (wanted: Node['state']) => state.nodes.filter((node) => node.state === wanted).length;
  return {
    total: state.nodes.length,
    healthy: count('healthy'),
    unhealthy: count('unhealthy'),
    unknown: count('unknown'),
  };
}

/** `ztap cluster status --json`. */
export function statusJson(cluster: string, prefix: string, state: ClusterState) {
  return {
    cluster,
    prefix,
    leader: state.leader ? nodeJson(state.leader) : null,
    term: state.term ?? null,
    nodes: countStates(state),
  };
}

/** `ztap cluster list --json`. */
export function listJson(cluster: string, prefix: string, state: ClusterState) {
  return {
    cluster,
    prefix,
    leader: state.leader?.id ?? null,
    term: state.term ?? null,
    nodes: state.nodes.map(nodeJson),
  };
}

/** One line of `ztap cluster watch --json`. */
export function changeJson(change: ClusterStateChange) {
  return {
    type: change.type,
    timestamp: change.timestamp.toISOString(),
    ...(change.term === undefined ? {} : { term: change.term }),
    node: nodeJson(change.node),
  };
}

/** Aligns rows into columns separated by two spaces; the header row first. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] as number)))
      .join('  ')
      .trimEnd(),
  );
}

/** "3s ago", "2m ago": how long before `now`. */
export function ago(time: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - time.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

export function metadataText(node: Node): string {
  const entries = Object.entries(node.metadata);
  return entries.length === 0 ? '-' : entries.map(([key, value]) => `${key}=${value}`).join(',');
}
