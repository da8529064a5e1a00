/** How a chaos test configures a multi-region node process (passed as JSON in ZTAP_TEST_NODE). */
export interface RegionNodeConfig {
  readonly nodeId: string;
  readonly region: string;
  readonly cluster: string;
  readonly regionalEndpoints: readonly string[];
  readonly globalEndpoints: readonly string[];
  readonly regionalTtlMs: number;
  readonly globalTtlMs: number;
  readonly confirmIntervalMs: number;
  readonly homeRegion?: string;
  /** While global leader, write a counter through the global fenced transaction this often; 0: never. */
  readonly globalWriteEveryMs: number;
  /** While global leader, publish (or delete) a global policy this often; 0: never. */
  readonly globalPolicyEveryMs: number;
}
