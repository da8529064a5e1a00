/**
 * Work as etcd itself counts it, read from its Prometheus endpoint (`/metrics` on the client URL).
 * Both systems are measured the same way, and nothing in the client can hide a request from it.
 * Reading `/metrics` is plain HTTP, not gRPC, so it does not count itself.
 */
export interface EtcdCounters {
  /** Unary gRPC requests started (Range, Txn, Put, DeleteRange, LeaseGrant, LeaseRevoke, ...). */
  readonly unaryRequests: number;
  /** Events etcd sent to watchers: one per event per watcher that receives it. */
  readonly watchEvents: number;
  /** Messages received on Watch streams (watch creates and cancels). */
  readonly watchRequests: number;
  /** Keepalive messages received on LeaseKeepAlive streams. */
  readonly keepalives: number;
  /** Bytes etcd sent to its gRPC clients (responses, watch events, keepalive answers). */
  readonly sentBytes: number;
  /** Watchers open right now (a gauge). */
  readonly watchers: number;
  /** Unary requests by method, e.g. `{ Range: 3, Txn: 1 }`. */
  readonly byMethod: Readonly<Record<string, number>>;
}

const LINE = /^(\w+)(?:\{([^}]*)\})?\s+(\S+)/;

function labels(text: string | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (!text) return result;
  for (const match of text.matchAll(/(\w+)="([^"]*)"/g)) result[match[1] as string] = match[2] as string;
  return result;
}

/** Parses the counters this benchmark uses from etcd's Prometheus text. */
export function parseEtcdMetrics(text: string): EtcdCounters {
  let unaryRequests = 0;
  let watchEvents = 0;
  let watchRequests = 0;
  let keepalives = 0;
  let watchers = 0;
  let sentBytes = 0;
  const byMethod: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const [, name, labelText, valueText] = match;
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    const tags = labels(labelText);
    if (name === 'grpc_server_started_total' && tags.grpc_type === 'unary') {
      unaryRequests += value;
      const method = tags.grpc_method ?? '?';
      byMethod[method] = (byMethod[method] ?? 0) + value;
    } else if (name === 'grpc_server_msg_received_total' && tags.grpc_method === 'LeaseKeepAlive') {
      keepalives += value;
    } else if (name === 'grpc_server_msg_received_total' && tags.grpc_method === 'Watch') {
      watchRequests += value;
    } else if (name === 'etcd_debugging_mvcc_events_total') {
      watchEvents += value;
    } else if (name === 'etcd_network_client_grpc_sent_bytes_total') {
      sentBytes += value;
    } else if (name === 'etcd_debugging_mvcc_watcher_total') {
      watchers += value;
    }
  }
  return { unaryRequests, watchEvents, watchRequests, keepalives, sentBytes, watchers, byMethod };
}

/** Reads etcd's counters now. */
export async function readEtcdCounters(endpoint: string): Promise<EtcdCounters> {
  const response = await fetch(new URL('/metrics', endpoint), { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`GET ${endpoint}/metrics: HTTP ${response.status}`);
  return parseEtcdMetrics(await response.text());
}

/** `after − before`, counter by counter (the watcher gauge is taken from `after`). */
export function counterDelta(before: EtcdCounters, after: EtcdCounters): EtcdCounters {
  const byMethod: Record<string, number> = {};
  for (const [method, value] of Object.entries(after.byMethod)) {
    const delta = value - (before.byMethod[method] ?? 0);
    if (delta !== 0) byMethod[method] = delta;
  }
  return {
    unaryRequests: after.unaryRequests - before.unaryRequests,
    watchEvents: after.watchEvents - before.watchEvents,
    watchRequests: after.watchRequests - before.watchRequests,
    keepalives: after.keepalives - before.keepalives,
    sentBytes: after.sentBytes - before.sentBytes,
    watchers: after.watchers,
    byMethod,
  };
}
