/** How a test configures a node process (passed as JSON in ZTAP_TEST_NODE). */
export interface NodeProcessConfig {
  readonly nodeId: string;
  readonly endpoints: readonly string[];
  readonly cluster: string;
  readonly heartbeatInterval: number;
  readonly electionTimeout: number;
  /** 0: never write. */
  readonly writeEveryMs: number;
}
