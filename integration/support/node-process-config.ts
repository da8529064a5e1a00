/** How a test configures a node process (passed as JSON in ZTAP_TEST_NODE). */
export interface NodeProcessConfig {
  readonly nodeId: string;
  readonly endpoints: readonly string[];
  readonly cluster: string;
  readonly heartbeatInterval: number;
  readonly electionTimeout: number;
  /** While leader, write a counter through the fenced transaction this often; 0: never write. */
  readonly writeEveryMs: number;
  /** While leader, publish a policy (cycling through a few names) this often; 0: never. */
  readonly policyEveryMs?: number;
  /** Follow the policies and report every update received. */
  readonly watchPolicies?: boolean;
  /** Per-request deadline (default: the election's). */
  readonly requestTimeout?: number;
  /**
   * Run leader work through `election.lead()` and report its start and end; after its signal aborts,
   * the work ignores it for this long (cleanup that must finish before a successor starts).
   */
  readonly workLingerMs?: number;
}
