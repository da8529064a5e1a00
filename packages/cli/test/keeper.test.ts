import { flushAsyncWork, ManualClock } from '@ztap/cluster-testing';
import { describe, expect, it } from 'vitest';
import { GROUP_POLL_MS, Keeper, type KeeperHost, KILL_WAIT_MS } from '../src/run/keeper.ts';
import type { FromKeeper } from '../src/run/keeper-protocol.ts';
import type { GroupProcess } from '../src/run/process-group.ts';

interface FakeProcess extends GroupProcess {
  readonly ignoresTerm: boolean;
  /** Even SIGKILL does not end it (a process stuck in the kernel). */
  readonly unkillable?: boolean;
}

const MAIN_PID = 100;

/** A process group in memory: the keeper's decisions, on a clock that moves only when told. */
class FakeHost implements KeeperHost {
  readonly clock = new ManualClock();
  readonly reports: FromKeeper[] = [];
  readonly warnings: string[] = [];
  readonly signals: { signal: string; atMs: number }[] = [];
  processes: FakeProcess[] = [];
  spawnError: string | undefined;
  spawned = false;
  finished = false;
  #onExit: ((status: number) => void) | undefined;

  readonly tree: readonly FakeProcess[];

  constructor(tree: readonly FakeProcess[]) {
    this.tree = tree;
  }

  spawn(
    _command: readonly string[],
    _env: Readonly<Record<string, string>>,
    events: { onExit(status: number): void; onError(message: string): void },
  ): number | undefined {
    const error = this.spawnError;
    if (error !== undefined) {
      queueMicrotask(() => events.onError(error));
      return undefined;
    }
    this.spawned = true;
    this.processes = [...this.tree];
    this.#onExit = events.onExit;
    return MAIN_PID;
  }

  members(pgid: number): GroupProcess[] {
    expect(pgid).toBe(MAIN_PID);
    return this.processes.map(({ pid, command }) => ({ pid, command }));
  }

  signal(pgid: number, signal: 'SIGTERM' | 'SIGKILL'): void {
    expect(pgid).toBe(MAIN_PID);
    this.signals.push({ signal, atMs: this.clock.monotonicNow() });
    const survives = (process: FakeProcess) =>
      process.unkillable === true || (signal === 'SIGTERM' && process.ignoresTerm);
    const mainEnds = this.processes.some((process) => process.pid === MAIN_PID && !survives(process));
    this.processes = this.processes.filter(survives);
    // Like a real exit: the keeper hears of it a moment later, not inside kill().
    if (mainEnds) queueMicrotask(() => this.#onExit?.(signal === 'SIGTERM' ? 143 : 137));
  }

  /** The command's own process exits by itself; what it started stays. */
  exitMain(status: number): void {
    this.processes = this.processes.filter((process) => process.pid !== MAIN_PID);
    this.#onExit?.(status);
  }

  send(report: FromKeeper): void {
    this.reports.push(report);
  }

  warn(line: string): void {
    this.warnings.push(line);
  }

  done(): void {
    this.finished = true;
  }

  types(): string[] {
    return this.reports.map((report) => report.type);
  }

  report<T extends FromKeeper['type']>(type: T): Extract<FromKeeper, { type: T }> | undefined {
    return this.reports.find((report) => report.type === type) as Extract<FromKeeper, { type: T }>;
  }

  killedAt(): number | undefined {
    return this.signals.find((sent) => sent.signal === 'SIGKILL')?.atMs;
  }
}

const obedientTree: FakeProcess[] = [
  { pid: MAIN_PID, command: 'sh -c work', ignoresTerm: false },
  { pid: 101, command: 'sleep 1000', ignoresTerm: false },
];
const stubbornTree: FakeProcess[] = [
  { pid: MAIN_PID, command: 'sh -c work', ignoresTerm: true },
  { pid: 101, command: 'sleep 1000', ignoresTerm: true },
];

/** A keeper that has started the command; leadership holds `validForMs` from now. */
function started(host: FakeHost, options: { graceMs?: number; validForMs?: number } = {}): Keeper {
  const keeper = new Keeper(host, 'ztap run (pid 1)');
  keeper.receive({
    type: 'start',
    command: ['sh', '-c', 'work'],
    env: {},
    graceMs: options.graceMs ?? 10_000,
    validUntilMs: host.clock.monotonicNow() + (options.validForMs ?? 2000),
  });
  return keeper;
}

describe('the keeper stops the whole process group', () => {
  it('on "stop": SIGTERM to the group, and no SIGKILL when everything ends within the grace', async () => {
    const host = new FakeHost(obedientTree);
    const keeper = started(host);
    await host.clock.advance(500);
    keeper.receive({ type: 'stop' });
    await host.clock.advance(GROUP_POLL_MS);

    expect(host.types()).toEqual(['started', 'stopping', 'exited', 'ended']);
    expect(host.report('stopping')).toMatchObject({
      cause: 'stop',
      processes: [
        { pid: MAIN_PID, command: 'sh -c work' },
        { pid: 101, command: 'sleep 1000' },
      ],
    });
    expect(host.signals.map((sent) => sent.signal)).toEqual(['SIGTERM']);
    expect(host.report('ended')).toEqual({ type: 'ended', status: 143, remaining: [] });
    expect(host.finished).toBe(true);
  });

  it('a group that ignores SIGTERM gets SIGKILL when the grace runs out, naming what was still running', async () => {
    const host = new FakeHost(stubbornTree);
    const keeper = started(host, { graceMs: 1000, validForMs: 5000 });
    keeper.receive({ type: 'stop' });
    await host.clock.advance(999);
    expect(host.killedAt()).toBeUndefined();
    await host.clock.advance(1);

    expect(host.killedAt()).toBe(1000);
    expect(host.report('killing')?.processes.map((process) => process.pid)).toEqual([MAIN_PID, 101]);
    expect(host.report('ended')).toEqual({ type: 'ended', status: 137, remaining: [] });
  });

  it('SIGKILL comes at the leadership deadline when the grace would end later', async () => {
    const host = new FakeHost(stubbornTree);
    const keeper = started(host, { graceMs: 60_000, validForMs: 1500 });
    await host.clock.advance(200);
    keeper.receive({ type: 'stop' });
    expect(host.report('stopping')).toMatchObject({ graceMs: 60_000, deadlineMs: 1300 });
    await host.clock.advance(1299);
    expect(host.killedAt()).toBeUndefined();
    await host.clock.advance(1);
    expect(host.killedAt()).toBe(1500);
  });

  it('renewals during a requested stop let the grace run its course, never beyond it', async () => {
    const host = new FakeHost(stubbornTree);
    const keeper = started(host, { graceMs: 3000, validForMs: 1000 });
    keeper.receive({ type: 'stop' });
    for (let at = 500; at <= 4000; at += 500) {
      await host.clock.advance(500);
      keeper.receive({ type: 'renew', validUntilMs: at + 1000 });
    }
    expect(host.killedAt()).toBe(3000);
  });

  it('a command that exits by itself: what it left running is stopped, and its own status is reported', async () => {
    const host = new FakeHost(obedientTree);
    started(host);
    await host.clock.advance(100);
    host.exitMain(7);
    await host.clock.advance(GROUP_POLL_MS);

    expect(host.report('exited')).toEqual({ type: 'exited', status: 7 });
    expect(host.report('stopping')).toMatchObject({ cause: 'exited', processes: [{ pid: 101 }] });
    expect(host.signals.map((sent) => sent.signal)).toEqual(['SIGTERM']);
    expect(host.report('ended')).toEqual({ type: 'ended', status: 7, remaining: [] });
  });

  it('a command that exits by itself and leaves nothing: no signal at all', async () => {
    const host = new FakeHost([{ pid: MAIN_PID, command: 'true', ignoresTerm: false }]);
    started(host);
    host.exitMain(0);
    await flushAsyncWork();
    expect(host.types()).toEqual(['started', 'exited', 'ended']);
    expect(host.signals).toEqual([]);
  });

  it('reports what even SIGKILL did not end, and gives up waiting for it', async () => {
    const host = new FakeHost([
      { pid: MAIN_PID, command: 'sh -c work', ignoresTerm: false },
      { pid: 101, command: 'stuck', ignoresTerm: true, unkillable: true },
    ]);
    const keeper = started(host, { graceMs: 100, validForMs: 60_000 });
    keeper.receive({ type: 'stop' });
    await host.clock.advance(100 + KILL_WAIT_MS);
    expect(host.report('ended')).toEqual({
      type: 'ended',
      status: 143,
      remaining: [{ pid: 101, command: 'stuck' }],
    });
    expect(host.finished).toBe(true);
  });
});

describe('the keeper holds the leadership deadline', () => {
  it('without a renewal by the deadline it ends the group by itself, with SIGKILL at the deadline', async () => {
    const host = new FakeHost(stubbornTree);
    started(host, { graceMs: 60_000, validForMs: 1600 });
    await host.clock.advance(1599);
    expect(host.signals).toEqual([]);
    await host.clock.advance(1);

    expect(host.report('stopping')).toMatchObject({ cause: 'deadline' });
    expect(host.signals).toEqual([
      { signal: 'SIGTERM', atMs: 1600 },
      { signal: 'SIGKILL', atMs: 1600 },
    ]);
    await host.clock.advance(GROUP_POLL_MS);
    expect(host.report('ended')).toEqual({ type: 'ended', status: 137, remaining: [] });
  });

  it('each renewal moves the deadline; an older one never pulls it back', async () => {
    const host = new FakeHost(obedientTree);
    const keeper = started(host, { validForMs: 1000 });
    await host.clock.advance(800);
    keeper.receive({ type: 'renew', validUntilMs: 1800 });
    keeper.receive({ type: 'renew', validUntilMs: 1200 });
    await host.clock.advance(999);
    expect(host.signals).toEqual([]);
    await host.clock.advance(1);
    expect(host.report('stopping')).toMatchObject({ cause: 'deadline' });
    expect(host.signals[0]).toEqual({ signal: 'SIGTERM', atMs: 1800 });
  });

  it('does not start the command when the deadline has passed before the start arrives', async () => {
    const host = new FakeHost(obedientTree);
    await host.clock.advance(1000);
    const keeper = new Keeper(host, 'ztap run (pid 1)');
    keeper.receive({ type: 'start', command: ['work'], env: {}, graceMs: 1000, validUntilMs: 1000 });
    expect(host.spawned).toBe(false);
    expect(host.reports).toEqual([{ type: 'ended', status: null, remaining: [] }]);
    expect(host.finished).toBe(true);
  });
});

describe('when ztap run is gone', () => {
  it('stops the group as on "stop", with SIGKILL by the deadline, and tells the operator on stderr', async () => {
    const host = new FakeHost(stubbornTree);
    const keeper = started(host, { graceMs: 10_000, validForMs: 1500 });
    await host.clock.advance(500);
    keeper.orphan();
    await host.clock.advance(1000 + GROUP_POLL_MS);

    expect(host.killedAt()).toBe(1500);
    expect(host.types()).toEqual(['started']); // nothing more is sent into a closed channel
    expect(host.warnings).toEqual([
      'lost contact with ztap run (pid 1); stopping sh',
      'sending SIGTERM to process group 100 (running: pid 100 (sh -c work), pid 101 (sleep 1000)); SIGKILL in 1s, at the leadership deadline (before --grace 10s runs out)',
      'still running: pid 100 (sh -c work), pid 101 (sleep 1000); sending SIGKILL to process group 100',
      'process group 100 has ended',
    ]);
    expect(host.finished).toBe(true);
  });

  it('ignores anything that still arrives once it stopped listening', async () => {
    const host = new FakeHost(stubbornTree);
    const keeper = started(host, { graceMs: 10_000, validForMs: 1000 });
    keeper.orphan();
    keeper.receive({ type: 'renew', validUntilMs: 60_000 });
    await host.clock.advance(1000);
    expect(host.killedAt()).toBe(1000);
  });

  it('exits at once when nothing was started', () => {
    const host = new FakeHost(obedientTree);
    new Keeper(host, 'ztap run (pid 1)').orphan();
    expect(host.finished).toBe(true);
    expect(host.spawned).toBe(false);
  });
});

it('reports a command that cannot be started', async () => {
  const host = new FakeHost(obedientTree);
  host.spawnError = 'spawn ./missing ENOENT';
  started(host);
  await flushAsyncWork();
  expect(host.reports).toEqual([
    { type: 'failed', message: 'spawn ./missing ENOENT' },
    { type: 'ended', status: null, remaining: [] },
  ]);
  expect(host.finished).toBe(true);
});
