/**
 * `@ztap/cluster`: the model, the `LeaderElection` contract, config and errors shared by every ZTAP
 * cluster backend, and the machinery backends build on.
 * @packageDocumentation
 */
export { BaseElection } from './base-election.ts';
export { Broadcast, type OverflowPolicy, type SubscribeOptions } from './broadcast.ts';
export { type Clock, systemClock, type TimerHandle } from './clock.ts';
export {
  type ClusterDelta,
  type ClusterSnapshot,
  ClusterView,
  type LeaderRecord,
  type MemberRecord,
} from './cluster-view.ts';
export {
  DEFAULT_CONFIG,
  describeValue,
  type HealthCheck,
  type HealthVerdict,
  type LeaderElectionConfig,
  MAX_DRAIN_TIMEOUT_MS,
  type ResolvedConfig,
  resolveConfig,
} from './config.ts';
export type { LeaderElection, SignalOptions, WatchOptions } from './election.ts';
export type { LeaseLoss } from './election-log.ts';
export * from './errors.ts';
export {
  BACKEND_ERROR_KINDS,
  type BackendErrorKind,
  type Disposable,
  DRAIN_OUTCOMES,
  type DrainEvent,
  type DrainOutcome,
  type ElectionTelemetry,
  type Event,
  EventEmitter,
  HEARTBEAT_FAILURE_KINDS,
  type HeartbeatEvent,
  type HeartbeatFailureKind,
  type LeaderChangeEvent,
  type LeadershipEvent,
  type LeaderWorkErrorEvent,
} from './events.ts';
export { runHealthCheck } from './health.ts';
export { LeadershipTracker } from './leadership.ts';
export { LIVE, type Liveness, notLive } from './liveness.ts';
export {
  type ClusterLogger,
  LOG_LEVELS,
  type LogLevel,
  type LogMethod,
  validateLogger,
} from './logger.ts';
export {
  type ClusterMeasurement,
  type ClusterMeasurementSink,
  HEARTBEAT_LATENCY_BUCKETS,
  measureCluster,
  POLICY_SYNC_FAILURE_REASONS,
  type PolicySyncFailureReason,
  policySyncFailureReason,
  reportPolicySyncFailures,
} from './measurements.ts';
export * from './policy.ts';
export { MAX_POLICY_BYTES, validatePolicyDocument } from './policy-document.ts';
export { PolicyFeed } from './policy-feed.ts';
export { MAX_REASON_LENGTH, oneLine } from './reason.ts';
export * from './types.ts';
export {
  MAX_METADATA_BYTES,
  MAX_METADATA_KEY_LENGTH,
  MAX_NODE_ID_LENGTH,
  validateAddress,
  validateMetadata,
  validateNodeId,
  validateRegistration,
} from './validation.ts';
