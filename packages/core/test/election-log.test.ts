import { describe, expect, it } from 'vitest';
import {
  EventEmitter,
  type LeaseLoss,
  LIVE,
  notLive,
  resolveConfig,
  validateLogger,
} from '../src/backend.ts';
import { attachLogger, withoutCredentials } from '../src/election-log.ts';
import {
  type BackendErrorKind,
  type ClusterLogger,
  type DrainEvent,
  type ElectionTelemetry,
  type HeartbeatEvent,
  isValidationError,
  type LeaderChangeEvent,
  type LeadershipEvent,
  type LeaderWorkErrorEvent,
  type Liveness,
  TransferError,
  type TransferEvent,
} from '../src/index.ts';

/** Telemetry a test fires by hand. */
function fakeTelemetry() {
  const emitters = {
    leadership: new EventEmitter<LeadershipEvent>(),
    heartbeat: new EventEmitter<HeartbeatEvent>(),
    backendError: new EventEmitter<{ kind: BackendErrorKind; error: Error }>(),
    resync: new EventEmitter<void>(),
    leaderChange: new EventEmitter<LeaderChangeEvent>(),
    liveness: new EventEmitter<Liveness>(),
    drain: new EventEmitter<DrainEvent>(),
    workError: new EventEmitter<LeaderWorkErrorEvent>(),
    transfer: new EventEmitter<TransferEvent>(),
    leaseLost: new EventEmitter<LeaseLoss>(),
  };
  const telemetry: ElectionTelemetry = {
    onLeadership: emitters.leadership.event,
    onHeartbeat: emitters.heartbeat.event,
    onBackendError: emitters.backendError.event,
    onResync: emitters.resync.event,
    onLeaderChange: emitters.leaderChange.event,
    onLiveness: emitters.liveness.event,
    onDrain: emitters.drain.event,
    onLeaderWorkError: emitters.workError.event,
    onTransfer: emitters.transfer.event,
  };
  return { telemetry, ...emitters };
}

type FakeTelemetry = ReturnType<typeof fakeTelemetry>;

/** What the election passes besides its telemetry: bindings `{ nodeId: 'n1' }`, never quiet. */
const contextOf = (fake: FakeTelemetry) => ({
  bindings: () => ({ nodeId: 'n1' }),
  quiet: () => false,
  onLeaseLost: fake.leaseLost.event,
});

type Line = { level: string; fields: Record<string, unknown>; message: string };

/** A logger that writes down each call, with or without `child`. */
function recordingLogger(options: { child?: boolean } = {}) {
  const lines: Line[] = [];
  const children: Record<string, unknown>[] = [];
  const method = (level: string) => (fields: Record<string, unknown>, message: string) => {
    lines.push({ level, fields, message });
  };
  const logger: ClusterLogger = {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    ...(options.child
      ? {
          child: (bindings: Record<string, unknown>) => {
            children.push(bindings);
            return logger;
          },
        }
      : {}),
  };
  return { logger, lines, children };
}

describe('attachLogger', () => {
  it('logs leadership gained and lost with term and reason, trouble as a warning', () => {
    const fake = fakeTelemetry();
    const { logger, lines } = recordingLogger();
    attachLogger(fake.telemetry, logger, contextOf(fake));
    fake.leadership.fire({ term: 7, leading: true });
    fake.leadership.fire({ term: 7, leading: false, reason: 'deadline' });
    fake.leadership.fire({ term: 9, leading: true });
    fake.leadership.fire({ term: 9, leading: false, reason: 'resigned' });
    expect(lines).toEqual([
      {
        level: 'info',
        fields: { nodeId: 'n1', event: 'leadership_gained', term: 7 },
        message: 'leadership gained',
      },
      {
        level: 'warn',
        fields: { nodeId: 'n1', event: 'leadership_lost', term: 7, reason: 'deadline' },
        message: 'leadership lost',
      },
      expect.objectContaining({ level: 'info', message: 'leadership gained' }),
      {
        level: 'info',
        fields: { nodeId: 'n1', event: 'leadership_lost', term: 9, reason: 'resigned' },
        message: 'leadership lost',
      },
    ]);
  });

  it('logs a transfer: handed over at info (a chosen loss), failed as a warning naming why', () => {
    const fake = fakeTelemetry();
    const { logger, lines } = recordingLogger();
    attachLogger(fake.telemetry, logger, contextOf(fake));
    fake.leadership.fire({ term: 4, leading: false, reason: 'transferred' });
    fake.transfer.fire({ target: 'n2', term: 4, automatic: true, successorTerm: 9 });
    fake.transfer.fire({
      target: 'n3',
      term: 11,
      automatic: false,
      error: new TransferError('n3', 'target_withdrew'),
    });
    expect(lines).toEqual([
      {
        level: 'info',
        fields: { nodeId: 'n1', event: 'leadership_lost', term: 4, reason: 'transferred' },
        message: 'leadership lost',
      },
      {
        level: 'info',
        fields: { nodeId: 'n1', event: 'transfer', target: 'n2', term: 4, automatic: true, successorTerm: 9 },
        message: 'leadership transferred',
      },
      {
        level: 'warn',
        fields: {
          nodeId: 'n1',
          event: 'transfer',
          target: 'n3',
          term: 11,
          automatic: false,
          error: 'leadership could not be transferred to "n3": it withdrew its candidacy before it led',
        },
        message: 'leadership transfer failed',
      },
    ]);
  });

  it('calls child() once with the bindings, and logs through the child', () => {
    const fake = fakeTelemetry();
    const { logger, lines, children } = recordingLogger({ child: true });
    let asked = 0;
    attachLogger(fake.telemetry, logger, {
      ...contextOf(fake),
      bindings: () => {
        asked++;
        return { nodeId: 'n1', prefix: '/ztap/clusters/a/' };
      },
    });
    expect(children).toEqual([]); // not before the first event
    fake.resync.fire();
    fake.resync.fire();
    expect(children).toEqual([{ nodeId: 'n1', prefix: '/ztap/clusters/a/' }]);
    expect(asked).toBe(1);
    // The child carries the bindings: the lines do not repeat them.
    expect(lines.map((line) => line.fields)).toEqual([
      { event: 'watch_resynced' },
      { event: 'watch_resynced' },
    ]);
  });

  it('logs a lost lease as a warning, however it was found out; heartbeat failures at debug', () => {
    const fake = fakeTelemetry();
    const { logger, lines } = recordingLogger();
    attachLogger(fake.telemetry, logger, contextOf(fake));
    fake.heartbeat.fire({ ok: true, latencySeconds: 0.001 });
    fake.heartbeat.fire({ ok: false, latencySeconds: 0.5, failure: 'timeout' });
    fake.heartbeat.fire({
      ok: false,
      latencySeconds: 0.002,
      failure: 'lease_lost',
      error: new Error('etcdserver: requested lease not found'),
    });
    fake.leaseLost.fire({ leaseId: '7587' });
    expect(lines).toEqual([
      {
        level: 'debug',
        fields: { nodeId: 'n1', event: 'heartbeat_failed', kind: 'timeout', latencySeconds: 0.5 },
        message: 'heartbeat failed',
      },
      {
        level: 'debug',
        fields: {
          nodeId: 'n1',
          event: 'heartbeat_failed',
          kind: 'lease_lost',
          latencySeconds: 0.002,
          error: 'etcdserver: requested lease not found',
        },
        message: 'heartbeat failed',
      },
      {
        level: 'warn',
        fields: { nodeId: 'n1', event: 'lease_lost', leaseId: '7587' },
        message: 'lease lost',
      },
    ]);
  });

  it('logs etcd errors with kind and one line of message, never credentials or the cause', () => {
    const fake = fakeTelemetry();
    const { logger, lines } = recordingLogger();
    attachLogger(fake.telemetry, logger, contextOf(fake));
    const cause = new Error('password=hunter2');
    fake.backendError.fire({
      kind: 'unavailable',
      error: new Error('etcd at https://root:hunter2@10.0.0.5:2379 is unreachable\n(connect ECONNREFUSED)', {
        cause,
      }),
    });
    expect(lines).toEqual([
      {
        level: 'error',
        fields: {
          nodeId: 'n1',
          event: 'etcd_error',
          kind: 'unavailable',
          error: 'etcd at https://***@10.0.0.5:2379 is unreachable (connect ECONNREFUSED)',
        },
        message: 'etcd call failed',
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });

  it('warns about drains that ran out, logs leader work errors with the error', () => {
    const fake = fakeTelemetry();
    const { logger, lines } = recordingLogger();
    attachLogger(fake.telemetry, logger, contextOf(fake));
    fake.drain.fire({ term: 3, outcome: 'settled', pending: 0, waitedMs: 12 });
    fake.drain.fire({ term: 4, outcome: 'timeout', pending: 2, waitedMs: 5000 });
    const failure = new Error('disk full');
    fake.workError.fire({ term: 4, error: failure });
    expect(lines).toEqual([
      expect.objectContaining({ level: 'debug', message: 'leader work drained' }),
      {
        level: 'warn',
        fields: { nodeId: 'n1', event: 'drain', term: 4, outcome: 'timeout', pending: 2, waitedMs: 5000 },
        message: 'leadership released with leader work still running',
      },
      {
        level: 'error',
        fields: { nodeId: 'n1', event: 'leader_work_error', term: 4, err: failure },
        message: 'leader work failed',
      },
    ]);
  });

  it('logs each change of liveness once, and none while the election starts or stops', () => {
    const fake = fakeTelemetry();
    const { logger, lines } = recordingLogger();
    let quiet = false;
    attachLogger(fake.telemetry, logger, { ...contextOf(fake), quiet: () => quiet });
    fake.liveness.fire(LIVE); // live from the start: not news
    fake.liveness.fire(notLive('no keepalive confirmed'));
    fake.liveness.fire(notLive('no keepalive confirmed'));
    fake.liveness.fire(notLive('the health check fails: 503'));
    fake.liveness.fire(LIVE);
    quiet = true;
    fake.liveness.fire(notLive('the election is stopping'));
    expect(lines.map(({ level, fields, message }) => [level, fields.reason, message])).toEqual([
      ['warn', 'no keepalive confirmed', 'node not live'],
      ['warn', 'the health check fails: 503', 'node not live'],
      ['info', undefined, 'node live again'],
    ]);
  });

  it('a logger that throws loses its lines and nothing else', () => {
    const fake = fakeTelemetry();
    const broken: ClusterLogger = {
      debug: () => {
        throw new Error('debug broke');
      },
      info: () => {
        throw new Error('info broke');
      },
      warn: () => {
        throw new Error('warn broke');
      },
      error: () => {
        throw new Error('error broke');
      },
      child: () => {
        throw new Error('child broke');
      },
    };
    const seen: boolean[] = [];
    attachLogger(fake.telemetry, broken, contextOf(fake));
    fake.telemetry.onLeadership(({ leading }) => seen.push(leading));
    expect(() => fake.leadership.fire({ term: 1, leading: true })).not.toThrow();
    expect(() => fake.backendError.fire({ kind: 'auth', error: new Error('denied') })).not.toThrow();
    expect(seen).toEqual([true]);
  });

  it('stops logging once disposed', () => {
    const fake = fakeTelemetry();
    const { logger, lines } = recordingLogger();
    attachLogger(fake.telemetry, logger, contextOf(fake)).dispose();
    fake.resync.fire();
    expect(lines).toEqual([]);
  });
});

describe('withoutCredentials', () => {
  it('hides the user and password of every URL, and leaves the rest', () => {
    expect(withoutCredentials('http://u:p@a:1 and https://token@b:2/x, http://c:3')).toBe(
      'http://***@a:1 and https://***@b:2/x, http://c:3',
    );
  });
});

describe('the logger option', () => {
  const base = { nodeId: 'n1', nodeAddress: '127.0.0.1:1' };

  it('is silent by default and keeps the logger it is given', () => {
    expect(resolveConfig(base).logger).toBeUndefined();
    const { logger } = recordingLogger({ child: true });
    expect(resolveConfig({ ...base, logger }).logger).toBe(logger);
    expect(validateLogger(console)).toBe(console);
  });

  it.each([
    [
      null,
      'logger must be a pino-compatible logger: an object with debug, info, warn and error methods (got null)',
    ],
    [
      'info',
      'logger must be a pino-compatible logger: an object with debug, info, warn and error methods (got "info")',
    ],
    [
      { info() {}, warn() {}, error() {} },
      'logger must be a pino-compatible logger: an object with debug, info, warn and error methods (not a function: debug)',
    ],
    [
      { debug() {}, info() {}, warn() {}, error() {}, child: 'yes' },
      'logger.child must be a function of the bindings when given (got "yes")',
    ],
  ])('rejects %j naming the field and the rule', (logger, message) => {
    let error: unknown;
    try {
      resolveConfig({ ...base, logger: logger as never });
    } catch (caught) {
      error = caught;
    }
    expect(isValidationError(error)).toBe(true);
    expect((error as Error).message).toBe(message);
  });
});
