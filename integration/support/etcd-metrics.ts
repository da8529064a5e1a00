/** What etcd itself counts, from its Prometheus text at `<client URL>/metrics` (plain HTTP: not counted itself). */
export interface EtcdWork {
  /** Unary requests started, by gRPC method (Range, Put, Txn, DeleteRange, LeaseGrant, ...). */
  readonly requests: Readonly<Record<string, number>>;
  /** Watchers open right now. */
  readonly watchers: number;
}

export async function etcdWork(endpoint: string): Promise<EtcdWork> {
  const response = await fetch(`${endpoint}/metrics`);
  if (!response.ok) throw new Error(`GET ${endpoint}/metrics: ${response.status}`);
  const requests: Record<string, number> = {};
  let watchers = 0;
  for (const line of (await response.text()).split('\n')) {
    const started =
      /^grpc_server_started_total\{[^}]*grpc_method="(\w+)"[^}]*grpc_type="unary"[^}]*\}\s+(\S+)/.exec(line);
    if (started) requests[started[1] as string] = (requests[started[1] as string] ?? 0) + Number(started[2]);
    const gauge = /^etcd_debugging_mvcc_watcher_total\s+(\S+)/.exec(line);
    if (gauge) watchers = Number(gauge[1]);
  }
  return { requests, watchers };
}

/** The requests that change etcd: none of them may come from a read-only client. */
export const WRITE_METHODS = ['Put', 'Txn', 'DeleteRange', 'LeaseGrant', 'LeaseRevoke', 'Compact'] as const;

export function writesBetween(before: EtcdWork, after: EtcdWork): Record<string, number> {
  return Object.fromEntries(
    WRITE_METHODS.map((method) => [method, (after.requests[method] ?? 0) - (before.requests[method] ?? 0)]),
  );
}
