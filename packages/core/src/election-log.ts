import type { Disposable, ElectionTelemetry, Event } from './events.ts';
import type { Liveness } from './liveness.ts';
import type { ClusterLogger, LogLevel } from './logger.ts';
import { oneLine } from './reason.ts';

/** The store no longer knows this node's lease. */
export interface LeaseLoss {
  /** The lease, as the backend names it (etcd: decimal), when it has one. */
  readonly leaseId?: string;
}

/** What {@link attachLogger} needs to know about the election besides its telemetry. */
export interface ElectionLogContext {
  /** The child logger's bindings (`nodeId`, a backend's `prefix`), asked once, at the first event. */
  readonly bindings: () => Record<string, unknown>;
  /**
   * True while the election starts or stops: the liveness changes that come with that are the
   * start and stop themselves, not news.
   */
  readonly quiet: () => boolean;
  /** Each loss of this node's lease, however the backend found out (a heartbeat or a write). */
  readonly onLeaseLost: Event<LeaseLoss>;
}

/** Reasons a leader gives up on purpose: news, not trouble. */
const CHOSEN_LOSSES = new Set(['resigned', 'transferred', 'stopped']);

/**
 * `scheme://user:password@host` → `scheme://***@host`: an endpoint written with credentials must not
 * reach a log through an error message.
 */
export function withoutCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
}

/** An error as one log-safe line: its message, never its cause chain or the request it carried. */
function describeError(error: unknown): string {
  return withoutCredentials(oneLine(error instanceof Error ? error.message : String(error)));
}

/**
 * Logs an election's important events on `logger` (see the `logger` option), each with an `event`
 * field naming it. A logger that throws loses that line and nothing else: the telemetry events this
 * listens to swallow listener errors.
 */
export function attachLogger(
  telemetry: ElectionTelemetry,
  logger: ClusterLogger,
  context: ElectionLogContext,
): Disposable {
  let target: ClusterLogger | undefined;
  let bound: Record<string, unknown> = {};
  const log = (level: LogLevel, fields: Record<string, unknown>, message: string) => {
    if (!target) {
      const bindings = context.bindings();
      target = logger.child ? logger.child(bindings) : logger;
      // Without child(), every line carries the bindings itself.
      if (!logger.child) bound = bindings;
    }
    target[level]({ ...bound, ...fields }, message);
  };

  let liveness: Liveness | undefined;
  const subscriptions = [
    telemetry.onLeadership(({ term, leading, reason }) => {
      if (leading) log('info', { event: 'leadership_gained', term }, 'leadership gained');
      else
        log(
          reason && CHOSEN_LOSSES.has(reason) ? 'info' : 'warn',
          { event: 'leadership_lost', term, reason },
          'leadership lost',
        );
    }),
    telemetry.onHeartbeat((heartbeat) => {
      if (heartbeat.ok) return;
      const fields = {
        kind: heartbeat.failure,
        latencySeconds: heartbeat.latencySeconds,
        ...(heartbeat.error ? { error: describeError(heartbeat.error) } : {}),
      };
      // One missed heartbeat is tolerated by design; a lost lease is logged on its own, below.
      log('debug', { event: 'heartbeat_failed', ...fields }, 'heartbeat failed');
    }),
    context.onLeaseLost((loss) => log('warn', { event: 'lease_lost', ...loss }, 'lease lost')),
    telemetry.onResync(() => log('info', { event: 'watch_resynced' }, 'watch resynced')),
    telemetry.onBackendError(({ kind, error }) =>
      log('error', { event: 'etcd_error', kind, error: describeError(error) }, 'etcd call failed'),
    ),
    telemetry.onDrain(({ term, outcome, pending, waitedMs }) => {
      const fields = { event: 'drain', term, outcome, pending, waitedMs };
      if (outcome === 'settled') log('debug', fields, 'leader work drained');
      else log('warn', fields, 'leadership released with leader work still running');
    }),
    telemetry.onLeaderWorkError(({ term, error }) =>
      log('error', { event: 'leader_work_error', term, err: error }, 'leader work failed'),
    ),
    telemetry.onTransfer(({ target, term, automatic, successorTerm, error }) => {
      const fields = { event: 'transfer', target, term, automatic };
      if (error === undefined) log('info', { ...fields, successorTerm }, 'leadership transferred');
      else log('warn', { ...fields, error: describeError(error) }, 'leadership transfer failed');
    }),
    telemetry.onLiveness((now) => {
      if (context.quiet()) return;
      if (!now.ok && (liveness?.ok !== false || liveness.reason !== now.reason))
        log('warn', { event: 'not_live', reason: now.reason }, 'node not live');
      else if (now.ok && liveness?.ok === false) log('info', { event: 'live' }, 'node live again');
      liveness = now;
    }),
  ];
  return {
    dispose: () => {
      for (const subscription of subscriptions) subscription.dispose();
    },
  };
}
