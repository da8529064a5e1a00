/**
 * `@ztap/cluster/backend`: what ZTAP cluster backends are built from — the base class that
 * implements the whole `LeaderElection` contract, the view that turns store updates into ordered
 * changes, the fan-out to watchers, local leadership, config resolution and the policy feed.
 *
 * For backend authors only: applications use `@ztap/cluster` and a backend package. This subpath
 * follows the packages' version, but may change in minor releases while the backends evolve.
 * @module @ztap/cluster/backend
 */
export { BaseElection, type TransferRequest } from './base-election.ts';
export { Broadcast, type BroadcastOptions, type OverflowPolicy, type SubscribeOptions } from './broadcast.ts';
export {
  type ClusterDelta,
  type ClusterReader,
  type ClusterSnapshot,
  ClusterView,
  type LeaderRecord,
  type MemberRecord,
} from './cluster-view.ts';
export { describeValue, type ResolvedConfig, resolveConfig } from './config.ts';
export type { LeaseLoss } from './election-log.ts';
export { ElectionView } from './election-view.ts';
export { hasErrorCode } from './errors.ts';
export { EventEmitter } from './events.ts';
export { runHealthCheck } from './health.ts';
export { LeadershipTracker } from './leadership.ts';
export { LIVE, notLive } from './liveness.ts';
export { validateLogger } from './logger.ts';
export { PolicyFeed } from './policy-feed.ts';
export {
  type Preference,
  type PriorityCandidate,
  type PriorityTiming,
  preferredSuccessor,
} from './priority.ts';
export { MAX_REASON_LENGTH, oneLine } from './reason.ts';
export { hasControlCharacters } from './validation.ts';
export { Waiters } from './waiters.ts';
