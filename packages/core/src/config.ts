import { type Clock, systemClock } from './clock.ts';
import { describeValue } from './describe.ts';
import { ValidationError } from './errors.ts';
import { type ClusterLogger, validateLogger } from './logger.ts';
import type { NodeMetadata } from './types.ts';
import { validateAddress, validateMetadata, validateNodeId } from './validation.ts';

/** What a health check concluded; `reason` says why it is unhealthy (one line, shown on /healthz and in logs). */
export interface HealthVerdict {
  readonly healthy: boolean;
  readonly reason?: string;
}

/**
 * The application's own opinion of this node's health, asked once per heartbeat. Return (or resolve)
 * `false` or `{ healthy: false, reason }`, throw (the message is the reason), or take longer than a
 * heartbeat interval, and the node is unhealthy: it gives up leadership, stops campaigning and its
 * `liveness` says why, until the check passes again. The signal aborts when the check has run out
 * of time.
 */
export type HealthCheck = (options: {
  signal: AbortSignal;
}) => boolean | HealthVerdict | Promise<boolean | HealthVerdict>;

/**
 * What a node does in its cluster:
 * - `candidate` (the default): a registered, health-tracked member that campaigns and may lead;
 * - `member`: registered and health-tracked (a lease and a member record on etcd), follows the
 *   leader and its policies, and never campaigns, so it never leads;
 * - `observer`: reads only — no lease, no member record; other nodes never see it.
 */
export type ElectionRole = 'candidate' | 'member' | 'observer';

/** Every {@link ElectionRole}, in the order the docs list them. */
export const ELECTION_ROLES: readonly ElectionRole[] = Object.freeze(['candidate', 'member', 'observer']);

/**
 * What a node keeps of the cluster:
 * - `full` (the default): every member, the leader and the policies;
 * - `leader`: only the leader (id and term) and the policies. On etcd it watches only the election
 *   keys (and, once asked for, the policies), so member churn costs it nothing; `getNodes()`,
 *   `getNode()` and `getState().nodes` throw a `NarrowViewError`, and `watch()` delivers only
 *   `leader_elected` and `leader_lost`.
 */
export type ViewKind = 'full' | 'leader';

/** Every {@link ViewKind}. */
export const VIEW_KINDS: readonly ViewKind[] = Object.freeze(['full', 'leader']);

/** The seed's `LeaderElectionConfig`, durations in milliseconds. Shared by every backend. */
export interface LeaderElectionConfig {
  /** This node's id, unique in the cluster (1-128 characters, no `/`, whitespace or control characters). */
  readonly nodeId: string;
  /** Where this node serves, `host:port`. */
  readonly nodeAddress: string;
  /** Whether this node may lead, only belongs, or only reads. Default `candidate`. */
  readonly role?: ElectionRole;
  /** How much of the cluster this node keeps and watches. Default `full`. */
  readonly view?: ViewKind;
  /** Labels published with this node. */
  readonly metadata?: NodeMetadata;
  /** How often the node proves it is alive. Default 1000 ms; at most a third of `electionTimeout`. */
  readonly heartbeatInterval?: number;
  /** How long a silent node keeps its place (and a leader its leadership). Default 5000 ms. */
  readonly electionTimeout?: number;
  /** How long a freshly started node waits before it may lead. Default 3000 ms; 0 to lead at once. */
  readonly initialLeadership?: number;
  /**
   * This node's claim to lead, published with it: a whole number from -1000000 to 1000000, default 0.
   * A candidate with a higher priority than the leader that has been healthy for the leader's
   * `initialLeadership` gets leadership handed to it (once the leader has led for `minLeadership`);
   * equal priorities never trade leadership. Below zero: never leads while another candidate is
   * eligible. See docs/leadership-control.md.
   */
  readonly priority?: number;
  /**
   * How long a leader leads before it hands leadership to a higher-priority candidate: the bound on
   * how often priorities move leadership. Resigning, stopping, transfers you ask for and failures are
   * not held back. Default 5000 ms; 0 to hand over as soon as a preferred candidate qualifies.
   */
  readonly minLeadership?: number;
  /** How often a failed backend call is retried before the error surfaces. Default 3. */
  readonly maxRetries?: number;
  /** Optional application health check, run every heartbeat. */
  readonly healthCheck?: HealthCheck;
  /** How many changes one `watch()` consumer may fall behind before it gets a `WatchOverflowError`. Default 1024. */
  readonly watchBufferSize?: number;
  /**
   * How long `resign()` and `stop()` wait for leader work (started through `runWhileLeader` or `lead`)
   * to settle after aborting its signal, before they release leadership in the store. Default 5000 ms;
   * 0 releases at once; at most 300000 (5 minutes).
   */
  readonly drainTimeout?: number;
  /**
   * Where the election logs its few important events (leadership gained and lost, lease lost, watch
   * resynced, etcd errors, drains that ran out, leader work errors, liveness changes): pino, or any
   * logger with pino's call shape (`ClusterLogger`). Silent without one.
   */
  readonly logger?: ClusterLogger;
  /** Time source; defaults to the system clock. */
  readonly clock?: Clock;
}

/** A config with every default filled in and every rule checked. */
export interface ResolvedConfig {
  readonly nodeId: string;
  readonly nodeAddress: string;
  readonly role: ElectionRole;
  readonly view: ViewKind;
  readonly metadata: NodeMetadata;
  readonly heartbeatInterval: number;
  readonly electionTimeout: number;
  readonly initialLeadership: number;
  readonly priority: number;
  readonly minLeadership: number;
  readonly maxRetries: number;
  readonly healthCheck: HealthCheck | undefined;
  readonly watchBufferSize: number;
  readonly drainTimeout: number;
  readonly logger: ClusterLogger | undefined;
  readonly clock: Clock;
}

/** The seed's defaults. */
export const DEFAULT_CONFIG = Object.freeze({
  heartbeatInterval: 1000,
  electionTimeout: 5000,
  initialLeadership: 3000,
  priority: 0,
  minLeadership: 5000,
  maxRetries: 3,
  watchBufferSize: 1024,
  drainTimeout: 5000,
});

/**
 * A drain keeps every successor waiting; past a few minutes that is a stuck shutdown, and orchestrators
 * kill the process long before (Kubernetes' default grace period is 30 s).
 */
export const MAX_DRAIN_TIMEOUT_MS = 5 * 60 * 1000;

const MAX_DURATION_MS = 24 * 60 * 60 * 1000;

/** Priorities are small whole numbers; the bound keeps them exact in JSON and in every language. */
export const MAX_PRIORITY = 1_000_000;

export { describeValue };

/** `value` if it is one of `allowed`, else a `ValidationError` naming `field` and listing them. */
export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const listed = allowed.map((item) => `'${item}'`).join(', ');
  throw new ValidationError(field, `must be one of ${listed} (got ${describeValue(value)})`);
}

function integerInRange(field: string, value: unknown, min: number, max: number, unit: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValidationError(field, `must be a whole number of ${unit} (got ${describeValue(value)})`);
  }
  if (value < min || value > max) {
    throw new ValidationError(field, `must be from ${min} to ${max} ${unit} (got ${value})`);
  }
  return value;
}

/**
 * Fills in defaults and checks every rule; throws a {@link ValidationError} naming the field and the
 * rule. Pure: no I/O, safe to call from constructors.
 */
export function resolveConfig(config: LeaderElectionConfig): ResolvedConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ValidationError('config', 'must be an object with at least nodeId and nodeAddress');
  }
  const nodeId = validateNodeId(config.nodeId, 'nodeId');
  const nodeAddress = validateAddress(config.nodeAddress, 'nodeAddress');
  const metadata = validateMetadata(config.metadata, 'metadata');
  const role = oneOf('role', config.role ?? 'candidate', ELECTION_ROLES);
  const view = oneOf('view', config.view ?? 'full', VIEW_KINDS);
  const heartbeatInterval = integerInRange(
    'heartbeatInterval',
    config.heartbeatInterval ?? DEFAULT_CONFIG.heartbeatInterval,
    1,
    MAX_DURATION_MS,
    'milliseconds',
  );
  const electionTimeout = integerInRange(
    'electionTimeout',
    config.electionTimeout ?? DEFAULT_CONFIG.electionTimeout,
    1,
    MAX_DURATION_MS,
    'milliseconds',
  );
  // Three heartbeats per timeout: one lost heartbeat must never cost a healthy node its place.
  if (heartbeatInterval * 3 > electionTimeout) {
    throw new ValidationError(
      'heartbeatInterval',
      `must be at most a third of electionTimeout (${heartbeatInterval} ms > ${electionTimeout} ms / 3)`,
    );
  }
  const initialLeadership = integerInRange(
    'initialLeadership',
    config.initialLeadership ?? DEFAULT_CONFIG.initialLeadership,
    0,
    MAX_DURATION_MS,
    'milliseconds',
  );
  const priority = validatePriority(config.priority ?? DEFAULT_CONFIG.priority, 'priority');
  if (priority !== 0 && view !== 'full')
    throw new ValidationError(
      'priority',
      `needs view: 'full' (got ${priority} with view: '${view}'): the priority rule compares the other candidates' priorities and health, which a narrow view does not keep`,
    );
  const minLeadership = integerInRange(
    'minLeadership',
    config.minLeadership ?? DEFAULT_CONFIG.minLeadership,
    0,
    MAX_DURATION_MS,
    'milliseconds',
  );
  const maxRetries = integerInRange(
    'maxRetries',
    config.maxRetries ?? DEFAULT_CONFIG.maxRetries,
    0,
    100,
    'retries',
  );
  const watchBufferSize = integerInRange(
    'watchBufferSize',
    config.watchBufferSize ?? DEFAULT_CONFIG.watchBufferSize,
    1,
    1_000_000,
    'changes',
  );
  const drainTimeout = integerInRange(
    'drainTimeout',
    config.drainTimeout ?? DEFAULT_CONFIG.drainTimeout,
    0,
    MAX_DRAIN_TIMEOUT_MS,
    'milliseconds',
  );
  if (config.healthCheck !== undefined && typeof config.healthCheck !== 'function') {
    throw new ValidationError(
      'healthCheck',
      'must be a function returning a boolean or { healthy, reason } (or a promise of one)',
    );
  }
  return Object.freeze({
    nodeId,
    nodeAddress,
    role,
    view,
    metadata,
    heartbeatInterval,
    electionTimeout,
    initialLeadership,
    priority,
    minLeadership,
    maxRetries,
    healthCheck: config.healthCheck,
    watchBufferSize,
    drainTimeout,
    logger: validateLogger(config.logger),
    clock: config.clock ?? systemClock,
  });
}

/** Checks a priority (config, a member record, a command-line flag named `field`). */
export function validatePriority(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > MAX_PRIORITY) {
    throw new ValidationError(
      field,
      `must be a whole number from ${-MAX_PRIORITY} to ${MAX_PRIORITY} (got ${describeValue(value)})`,
    );
  }
  return value;
}
