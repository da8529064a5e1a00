/**
 * `@ztap/cluster`: the model, the `LeaderElection` contract, config and errors shared by every ZTAP
 * cluster backend. What backends are built from is in `@ztap/cluster/backend`.
 * @module @ztap/cluster
 */
export { type Clock, systemClock, type TimerHandle } from './clock.ts';
export { DEFAULT_CONFIG, type HealthCheck, type LeaderElectionConfig } from './config.ts';
export type { LeaderElection, SignalOptions, WatchOptions } from './election.ts';
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
  isNodeExistsError,
  isNodeNotFoundError,
  isNotLeaderError,
  isValidationError,
  isWatchOverflowError,
  isZtapError,
  type LeadershipLossReason,
  LeadershipLostError,
  NodeExistsError,
  NodeNotFoundError,
  NotLeaderError,
  ValidationError,
  WatchOverflowError,
  ZtapError,
} from './errors.ts';
export type { Disposable, ElectionTelemetry, Event, LeadershipEvent } from './events.ts';
export {
  isPolicyVersionConflictError,
  MAX_POLICY_BYTES,
  MAX_POLICY_NAME_LENGTH,
  type Policy,
  type PolicySync,
  type PolicyUpdate,
  PolicyVersionConflictError,
  type PolicyWriteOptions,
  validatePolicyDocument,
  validatePolicyName,
} from './policy.ts';
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
