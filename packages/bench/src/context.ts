/** What every scenario gets from the runner. */
export interface BenchContext {
  /** The client URL of the etcd this run started (loopback). */
  readonly endpoint: string;
  /** The etcd process, for reading its CPU time from /proc. */
  readonly etcdPid: number | undefined;
  /** Tiny sizes and few trials: proves the benchmarks still work, measures nothing worth quoting. */
  readonly smoke: boolean;
  /** Unique per run: every group gets its own key prefix under it. */
  readonly runId: string;
  log(message: string): void;
}
