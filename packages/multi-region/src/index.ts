/**
 * `@ztap/cluster-multi-region`: ZTAP cluster across regions on etcd — a leader per region on the
 * region's own etcd, one global leader on a global etcd (campaigning only while it leads its
 * region), global policies replicated into every region, fenced by the regional term. Metrics are
 * in `@ztap/cluster-multi-region/metrics`.
 * @packageDocumentation
 */
export type { GlobalLeadershipEvent } from './global-leadership.ts';
export { MultiRegionNode, type MultiRegionTelemetry } from './multi-region-node.ts';
export {
  type GlobalElectionOptions,
  type MultiRegionNodeOptions,
  type RegionalElectionOptions,
  validateRegion,
} from './options.ts';
export type { Checkpoint as ReplicationCheckpoint, GlobalLeaderRecord, RegionRecord } from './records.ts';
export {
  type MultiRegionStatus,
  type MultiRegionStatusOptions,
  type RegionAddress,
  type RegionStatus,
  readMultiRegionStatus,
} from './region-status.ts';
export { ReplicatedPolicies, type ReplicatedPoliciesOptions } from './replicated-policies.ts';
export { RESYNC_REASONS, type ReplicationEvent, type ResyncReason } from './replicator.ts';
export { DEFAULT_WAN_RTT_MS, globalEtcdFlags, type WanTiming, wanTiming } from './wan-timing.ts';
