import { type ChildProcess, spawn } from 'node:child_process';
import { extname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Event } from '@ztap/cluster';
import { EventEmitter } from '@ztap/cluster/backend';
import { FROM_KEEPER, type FromKeeper, type ToKeeper } from './keeper-protocol.ts';
import { MessageChannel } from './message-channel.ts';
import { signalGroup } from './process-group.ts';

/** The keeper's script beside this module: `.js` in the published package, `.ts` when run from source. */
const KEEPER_SCRIPT = fileURLToPath(new URL(`./keeper-main${extname(import.meta.url)}`, import.meta.url));

/** How long after the keeper's exit its last words may still be on their way through the socket. */
const LAST_WORDS_MS = 1000;

/** The keeper exited without its final report: the command's process group has nobody guarding it. */
export class KeeperDiedError extends Error {
  static readonly code = 'ZTAP_KEEPER_DIED';
  readonly code = KeeperDiedError.code;
  override readonly name = 'KeeperDiedError';
  readonly pid: number | undefined;
  /** How it ended: `was killed by SIGKILL`, `exited with status 1`. */
  readonly how: string;

  constructor(pid: number | undefined, how: string, options?: ErrorOptions) {
    super(`the keeper process (pid ${pid ?? 'none'}) ${how}`, options);
    this.pid = pid;
    this.how = how;
  }
}
export const isKeeperDiedError = (error: unknown): error is KeeperDiedError =>
  error instanceof Error && (error as { code?: unknown }).code === KeeperDiedError.code;

type Ended = Extract<FromKeeper, { type: 'ended' }>;

/**
 * `ztap run`'s side of the keeper (see keeper.ts): a Node process in a session of its own that
 * starts the command when told and ends the command's whole process group — even when `ztap run`
 * itself dies, because the kernel then closes the socket between them.
 */
export class KeeperProcess {
  readonly pid: number | undefined;
  /** The keeper's final report; rejects with a {@link KeeperDiedError} if it exits without one. */
  readonly ended: Promise<Ended>;
  /** Resolves once the keeper process has exited. */
  readonly exited: Promise<void>;
  /** Every report the keeper sends, in order. */
  readonly onReport: Event<FromKeeper>;
  /** Aborts (with a {@link KeeperDiedError}) if the keeper exits without its final report. */
  readonly lost: AbortSignal;
  readonly #channel: MessageChannel<FromKeeper, ToKeeper>;
  #commandPid: number | undefined;

  /** Starts a keeper; it waits for {@link start}, and exits when {@link close}d. */
  static spawn(): KeeperProcess {
    // detached: the keeper leads its own session, so signals meant for ztap run's process group
    // (Ctrl-C, `kill -9 -<pgid>`) leave it alive to clean up after ztap run. It needs no environment
    // of ours (the command's comes with `start`), least of all the etcd password.
    const child = spawn(process.execPath, [KEEPER_SCRIPT, String(process.pid)], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'],
      detached: true,
      env: {},
    });
    return new KeeperProcess(child);
  }

  private constructor(child: ChildProcess) {
    const reports = new EventEmitter<FromKeeper>();
    this.onReport = reports.event;
    const lost = new AbortController();
    this.lost = lost.signal;
    this.pid = child.pid;
    let finalReport: Ended | undefined;
    let channelClosed = false;
    let exit: string | undefined;
    let settle: (() => void) | undefined;
    this.ended = new Promise<Ended>((resolve, reject) => {
      settle = () => {
        if (finalReport) resolve(finalReport);
        else {
          const error = new KeeperDiedError(this.pid, exit ?? 'closed its channel');
          reject(error);
          lost.abort(error);
        }
      };
    });
    this.ended.catch(() => {}); // the caller may not be waiting yet; it sees the rejection when it does
    // Its last report and its exit come by different paths; judge only once both are in (or late).
    const judge = () => {
      if (exit !== undefined && channelClosed) settle?.();
    };
    this.exited = new Promise((resolve) => {
      child.once('error', (error) => {
        exit = `could not start (${error.message})`;
        channelClosed = true;
        judge();
        resolve();
      });
      child.once('exit', (code, signal) => {
        exit = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        setTimeout(() => {
          channelClosed = true;
          judge();
        }, LAST_WORDS_MS);
        judge();
        resolve();
      });
    });
    this.#channel = new MessageChannel(child.stdio[4] as Readable, child.stdio[3] as Writable, FROM_KEEPER, {
      onMessage: (report) => {
        if (report.type === 'started') this.#commandPid = report.pid;
        if (report.type === 'ended') finalReport = report;
        reports.fire(report);
      },
      // A keeper that talks nonsense cannot be trusted with the group: end it, and ztap run takes over.
      onInvalid: () => child.kill('SIGKILL'),
      onClose: () => {
        channelClosed = true;
        judge();
      },
    });
  }

  /** Starts `command` in its own process group; leadership holds until `validUntilMs` (host clock). */
  start(
    command: readonly string[],
    env: Record<string, string>,
    graceMs: number,
    validUntilMs: number,
  ): void {
    this.#channel.send({ type: 'start', command, env, graceMs, validUntilMs });
  }

  /** Leadership now holds until `validUntilMs` (host clock). */
  renew(validUntilMs: number): void {
    this.#channel.send({ type: 'renew', validUntilMs });
  }

  /** Ends the command's process group: SIGTERM, SIGKILL after the grace (or at the deadline). */
  stop(): void {
    this.#channel.send({ type: 'stop' });
  }

  /** Closes the channel: an idle keeper exits; a keeper with a running command stops it. */
  close(): void {
    this.#channel.close();
  }

  /**
   * The fallback when the keeper died: SIGKILL to the command's process group from here. Returns the
   * group's id, or undefined if there is none to kill (never started, or already gone).
   */
  killCommandGroup(): number | undefined {
    const pgid = this.#commandPid;
    return pgid !== undefined && signalGroup(pgid, 'SIGKILL') ? pgid : undefined;
  }
}
