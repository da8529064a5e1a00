/**
 * `@ztap/cluster`: the model, the `LeaderElection` contract, config and errors shared by every ZTAP
 * cluster backend. What backends are built from is in `@ztap/cluster/backend`.
 * @module @ztap/cluster
 */
export { type Clock, systemClock, type TimerHandle } from './clock.ts';
export {
  DEFAULT_CONFIG,
  ELECTION_ROLES,
  type ElectionRole,
  type HealthCheck,
  type HealthVerdict,
  type LeaderElectionConfig,
  MAX_DRAIN_TIMEOUT_MS,
  MAX_PRIORITY,
  VIEW_KINDS,
  type ViewKind,
} from './config.ts';
export type {
  LeaderElection,
  SignalOptions,
  TransferOptions,
  TransferResult,
  WatchOptions,
} from './election.ts';
export {
  AlreadyStartedError,
  ElectionStoppedError,
  FencedWriteError,
  HealthCheckTimeoutError,
  isAlreadyStartedError,
  isElectionStoppedError,
  isFencedWriteError,
  isHealthCheckTimeoutError,
  isLeadershipLostError,
  isLeaderWorkError,
  isNarrowViewError,
  isNodeExistsError,
  isNodeIdInUseError,
  isNodeNotFoundError,
  isNotLeaderError,
  isRoleError,
  isTransferError,
  isValidationError,
  isWatchOverflowError,
  isZtapError,
  LEADERSHIP_LOSS_REASONS,
  type LeadershipLossReason,
  LeadershipLostError,
  LeaderWorkError,
  NarrowViewError,
  NodeExistsError,
  type NodeIdHolder,
  NodeIdInUseError,
  NodeNotFoundError,
  NotLeaderError,
  RoleError,
  TRANSFER_FAILURE_REASONS,
  TransferError,
  type TransferFailureReason,
  ValidationError,
  WatchOverflowError,
  ZtapError,
} from './errors.ts';
export {
  BACKEND_ERROR_KINDS,
  type BackendErrorKind,
  type Disposable,
  DRAIN_OUTCOMES,
  type DrainEvent,
  type DrainOutcome,
  type ElectionTelemetry,
  type Event,
  HEARTBEAT_FAILURE_KINDS,
  type HeartbeatEvent,
  type HeartbeatFailureKind,
  type LeaderChangeEvent,
  type LeadershipEvent,
  type LeaderWorkErrorEvent,
  type TransferEvent,
} from './events.ts';
export type { Liveness } from './liveness.ts';
export { type ClusterLogger, LOG_LEVELS, type LogLevel, type LogMethod } from './logger.ts';
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
export {
  isPolicyVersionConflictError,
  MAX_POLICY_NAME_LENGTH,
  type Policy,
  type PolicyDocument,
  type PolicySync,
  type PolicyUpdate,
  PolicyVersionConflictError,
  type PolicyWriteOptions,
  type PolicyWriteResult,
  validatePolicyName,
} from './policy.ts';
export { MAX_POLICY_BYTES, validatePolicyDocument } from './policy-document.ts';
export {
  CHANGE_TYPES,
  type ChangeType,
  type ClusterState,
  type ClusterStateChange,
  type Leadership,
  NODE_STATES,
  type Node,
  type NodeMetadata,
  type NodeRegistration,
  type NodeRole,
  type NodeState,
} from './types.ts';
export {
  MAX_METADATA_BYTES,
  MAX_METADATA_KEY_LENGTH,
  MAX_NODE_ID_LENGTH,
  validateAddress,
  validateMetadata,
  validateNodeId,
  validateRegistration,
} from './validation.ts';
