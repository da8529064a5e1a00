import type { Clock, TimerHandle } from '@ztap/cluster';
import type { FromKeeper, StopCause, ToKeeper } from './keeper-protocol.ts';
import { describeReport } from './keeper-report.ts';
import type { GroupProcess } from './process-group.ts';

/** How often a stopping group is looked at (a /proc scan costs about a millisecond). */
export const GROUP_POLL_MS = 50;
/** How long SIGKILL may take to end the group before the keeper reports what is left and exits. */
export const KILL_WAIT_MS = 5000;

/** What the keeper does to the world; injected, so the decisions can be tested on a manual clock. */
export interface KeeperHost {
  /** The host's monotonic clock: the one `ztap run` expresses deadlines on. */
  readonly clock: Clock;
  /**
   * Starts `command` as the leader of a new session and process group (its pid is the group id).
   * Returns undefined when it could not start; `onError` then says why.
   */
  spawn(
    command: readonly string[],
    env: Readonly<Record<string, string>>,
    events: { onExit(status: number): void; onError(message: string): void },
  ): number | undefined;
  /** The processes of the group that can still run. */
  members(pgid: number): GroupProcess[];
  signal(pgid: number, signal: 'SIGTERM' | 'SIGKILL'): void;
  /** To `ztap run`, while it is there. */
  send(report: FromKeeper): void;
  /** To the operator (stderr), once `ztap run` is gone. */
  warn(line: string): void;
  /** The keeper's work is over: it may exit. */
  done(): void;
}

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'killing' | 'ended';

/**
 * The keeper: runs the command in a process group of its own and ends the whole group — SIGTERM, then
 * SIGKILL — when `ztap run` says stop, when the channel to `ztap run` closes (it died, even by
 * SIGKILL), when the command exits leaving processes behind, or when the leadership deadline passes
 * without a renewal (`ztap run` frozen: its lease is about to expire and a successor to start).
 *
 * The rule that makes it safe: SIGKILL goes out no later than the last deadline `ztap run` sent,
 * whatever `--grace` says, so nothing of the group runs once a successor could be elected.
 */
export class Keeper {
  readonly #host: KeeperHost;
  readonly #describeParent: string;
  #phase: Phase = 'idle';
  #orphaned = false;
  #name = 'the command';
  #pgid = 0;
  /** The command's own exit status, once it has exited. */
  #status: number | undefined;
  #validUntilMs = Number.NEGATIVE_INFINITY;
  #graceMs = 0;
  #stopStartedMs = 0;
  #killStartedMs = 0;
  #timer: TimerHandle | undefined;

  /** `parent`: how to name `ztap run` to the operator, e.g. `ztap run (pid 4242)`. */
  constructor(host: KeeperHost, parent: string) {
    this.#host = host;
    this.#describeParent = parent;
  }

  receive(message: ToKeeper): void {
    if (this.#orphaned) return; // a ztap run that broke the protocol is not listened to any more
    if (message.type === 'start') this.#start(message);
    else if (message.type === 'renew') this.#renew(message.validUntilMs);
    else if (this.#phase === 'running') this.#beginStop('stop');
    else if (this.#phase === 'idle') this.#finish(null, []);
  }

  /** The channel to `ztap run` closed or broke: nobody will renew or stop anything any more. */
  orphan(): void {
    if (this.#orphaned) return;
    this.#orphaned = true;
    if (this.#phase === 'idle') this.#finish(null, []);
    else if (this.#phase === 'running') {
      this.#host.warn(`lost contact with ${this.#describeParent}; stopping ${this.#name}`);
      this.#beginStop('orphaned');
    }
  }

  #start(message: Extract<ToKeeper, { type: 'start' }>): void {
    if (this.#phase !== 'idle') return;
    this.#name = message.command[0] ?? this.#name;
    this.#validUntilMs = message.validUntilMs;
    this.#graceMs = message.graceMs;
    if (this.#host.clock.monotonicNow() >= this.#validUntilMs) {
      // Leadership ran out before the command could start: starting it now could overlap a successor.
      this.#finish(null, []);
      return;
    }
    this.#phase = 'starting';
    const pid = this.#host.spawn(message.command, message.env, {
      onExit: (status) => this.#onExit(status),
      onError: (error) => {
        if (this.#phase !== 'starting') return;
        this.#report({ type: 'failed', message: error });
        this.#finish(null, []);
      },
    });
    if (pid === undefined) return;
    this.#pgid = pid;
    this.#phase = 'running';
    this.#report({ type: 'started', pid });
    this.#armDeadline();
  }

  #renew(validUntilMs: number): void {
    if (validUntilMs <= this.#validUntilMs) return;
    this.#validUntilMs = validUntilMs;
    // While stopping gracefully a renewal lets the grace run its course (up to --grace, never beyond).
    if (this.#phase === 'running') this.#armDeadline();
    else if (this.#phase === 'stopping') this.#poll();
  }

  #onExit(status: number): void {
    this.#status = status;
    this.#report({ type: 'exited', status });
    if (this.#phase === 'running') this.#beginStop('exited');
    else if (this.#phase === 'stopping' || this.#phase === 'killing') this.#poll();
  }

  #armDeadline(): void {
    this.#clearTimer();
    const clock = this.#host.clock;
    this.#timer = clock.setTimeout(
      () => {
        if (this.#phase !== 'running') return;
        // Timers may wake a hair early by the host clock: look again rather than stop too soon.
        if (clock.monotonicNow() < this.#validUntilMs) this.#armDeadline();
        else this.#beginStop('deadline');
      },
      Math.max(0, this.#validUntilMs - clock.monotonicNow()),
    );
  }

  /** SIGKILL is due at the end of the grace, but never after the leadership deadline. */
  #killAtMs(): number {
    return Math.min(this.#stopStartedMs + this.#graceMs, this.#validUntilMs);
  }

  #beginStop(cause: StopCause): void {
    this.#clearTimer();
    this.#phase = 'stopping';
    const now = this.#host.clock.monotonicNow();
    this.#stopStartedMs = now;
    const processes = this.#host.members(this.#pgid);
    if (processes.length === 0 && this.#status !== undefined) {
      this.#finish(this.#status, []);
      return;
    }
    const deadlineMs = Math.max(0, Math.floor(this.#validUntilMs - now));
    this.#report({ type: 'stopping', cause, processes, graceMs: this.#graceMs, deadlineMs });
    this.#host.signal(this.#pgid, 'SIGTERM');
    this.#poll();
  }

  #poll(): void {
    this.#clearTimer();
    const now = this.#host.clock.monotonicNow();
    const members = this.#host.members(this.#pgid);
    // The command's own process may be gone from the group yet not reaped: wait for its status too.
    if (members.length === 0 && this.#status !== undefined) {
      this.#finish(this.#status, []);
      return;
    }
    let nextMs = GROUP_POLL_MS;
    if (this.#phase === 'stopping') {
      const killAtMs = this.#killAtMs();
      if (members.length > 0 && now >= killAtMs) {
        this.#phase = 'killing';
        this.#killStartedMs = now;
        this.#report({ type: 'killing', processes: members });
        this.#host.signal(this.#pgid, 'SIGKILL');
      } else if (killAtMs > now) nextMs = Math.min(GROUP_POLL_MS, killAtMs - now);
    } else if (now >= this.#killStartedMs + KILL_WAIT_MS) {
      this.#finish(this.#status ?? null, members);
      return;
    }
    this.#timer = this.#host.clock.setTimeout(() => this.#poll(), nextMs);
  }

  #finish(status: number | null, remaining: GroupProcess[]): void {
    if (this.#phase === 'ended') return;
    this.#clearTimer();
    this.#phase = 'ended';
    // Without a started command there is nothing to tell the operator, only `ztap run` to answer.
    if (this.#pgid === 0) this.#host.send({ type: 'ended', status, remaining });
    else this.#report({ type: 'ended', status, remaining });
    this.#host.done();
  }

  #report(report: FromKeeper): void {
    if (!this.#orphaned) {
      this.#host.send(report);
      return;
    }
    const line = describeReport(report, { name: this.#name, pgid: this.#pgid, renewable: false });
    if (line) this.#host.warn(line);
  }

  #clearTimer(): void {
    this.#host.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
