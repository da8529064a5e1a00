import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { EtcdMemberStoppedError, EtcdStartError, isEtcdStartError } from '../errors.ts';
import { etcdChildEnv } from './child-env.ts';
import { trackProcess } from './cleanup.ts';
import { isHealthy } from './etcd-api.ts';
import { acceptsConnections } from './ports.ts';
import { pollUntil, withTimeout } from './timing.ts';
import { type ProbeTls, probeTlsOf, serverTlsArgs } from './tls.ts';
import type { EtcdMember, EtcdServerTls, RestartOptions, WaitOptions } from './types.ts';

/** Everything that makes a member itself; the same on every (re)start. */
export interface LocalMemberConfig {
  readonly name: string;
  readonly binary: string;
  /** Holds `data/` and `etcd.log`. */
  readonly dir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** `name=peerUrl,...` for every member of the cluster. */
  readonly initialCluster: string;
  /** Unique per cluster, so members of two clusters that meet on a reused port refuse each other. */
  readonly clusterToken: string;
  readonly extraArgs: readonly string[];
  /** Serve clients over TLS (`https://` client URL). */
  readonly tls?: EtcdServerTls | undefined;
  /** The peer URL the other members dial, when not the one it listens on (a proxy in front of it). */
  readonly advertisePeerUrl?: string | undefined;
}

/**
 * Raft timers four times faster than etcd's defaults (100 ms / 1000 ms): a lost leader is replaced in well
 * under a second, which keeps chaos tests short. Loopback round trips are far below the heartbeat.
 */
const HEARTBEAT_INTERVAL_MS = 25;
const ELECTION_TIMEOUT_MS = 250;
/** How long `stop()` lets etcd shut down on SIGTERM before it sends SIGKILL. */
const GRACEFUL_STOP_MS = 3_000;
/** How long a signalled process may take to be reaped before we give up on it. */
const EXIT_TIMEOUT_MS = 10_000;
const DEFAULT_START_TIMEOUT_MS = 20_000;
/** A start that fails because a port was taken in the meantime is retried this many times in all. */
const ADDRESS_IN_USE_ATTEMPTS = 3;
const LOG_TAIL_LINES = 30;

/** Whether a start failed because etcd could not bind a port: a retry (other ports, or later) may succeed. */
export function isAddressInUse(error: unknown): boolean {
  return isEtcdStartError(error) && /address already in use/i.test(error.logTail);
}

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** etcd's flags for `config`, the caller's `extraArgs` last so they win. */
function memberArgs(config: LocalMemberConfig, clientUrl: string, peerUrl: string): string[] {
  const advertisedPeerUrl = config.advertisePeerUrl ?? peerUrl;
  return [
    ['--name', config.name],
    ['--data-dir', join(config.dir, 'data')],
    ['--listen-client-urls', clientUrl],
    ['--advertise-client-urls', clientUrl],
    ['--listen-peer-urls', peerUrl],
    ['--initial-advertise-peer-urls', advertisedPeerUrl],
    // Read only when the data dir is new: a restarted member finds its cluster in its own WAL.
    ['--initial-cluster', config.initialCluster],
    ['--initial-cluster-token', config.clusterToken],
    ['--initial-cluster-state', 'new'],
    ['--heartbeat-interval', String(HEARTBEAT_INTERVAL_MS)],
    ['--election-timeout', String(ELECTION_TIMEOUT_MS)],
    serverTlsArgs(config.tls),
    config.extraArgs,
  ].flat();
}

/** One etcd process on loopback that can be killed, paused and brought back with its data. */
export class LocalEtcdMember implements EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dir: string;
  readonly logFile: string;
  readonly #config: LocalMemberConfig;
  /** What the health probe presents to a TLS client port. */
  readonly probeTls: ProbeTls | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #lastExit = '';
  #pid = 0;
  #paused = false;
  /** Where this run's lines start in the (appended) log. */
  #logOffset = 0;

  constructor(config: LocalMemberConfig) {
    this.#config = config;
    this.name = config.name;
    this.clientUrl = `${config.tls ? 'https' : 'http'}://127.0.0.1:${config.clientPort}`;
    this.probeTls = probeTlsOf(config.tls);
    this.peerUrl = `http://127.0.0.1:${config.peerPort}`;
    this.dir = config.dir;
    this.logFile = join(config.dir, 'etcd.log');
  }

  get pid(): number {
    return this.#pid;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Spawns its process (it must not be running); resolves once spawned, before it is healthy. */
  async start(): Promise<void> {
    if (this.#child)
      throw new EtcdStartError(`etcd member ${this.name} is already running (pid ${this.#pid})`);
    await mkdir(this.dir, { recursive: true });
    this.#logOffset = fileSize(this.logFile);
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.#config.binary, memberArgs(this.#config, this.clientUrl, this.peerUrl), {
        env: etcdChildEnv(process.env),
        stdio: ['ignore', log, log],
      });
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(log);
    }
    try {
      await once(child, 'spawn'); // rejects with the spawn error (e.g. ENOENT)
    } catch (error) {
      throw new EtcdStartError(
        `could not run ${this.#config.binary} for etcd member ${this.name}: ${error}`,
        {},
        {
          cause: error,
        },
      );
    }
    const pid = child.pid as number;
    const tracked = trackProcess(pid, this.dir);
    this.#child = child;
    this.#pid = pid;
    this.#paused = false;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        tracked.onExit();
        this.#lastExit = signal ? `killed by ${signal}` : `exited with code ${code}`;
        this.#child = undefined;
        this.#paused = false;
        resolve();
      });
    });
    // A member nobody stopped must not keep the test process alive; the exit handler kills it then.
    child.unref();
  }

  async waitForHealth(options: WaitOptions = {}): Promise<void> {
    const { timeoutMs = DEFAULT_START_TIMEOUT_MS, signal } = options;
    await pollUntil(
      async () => {
        this.#failIfExited();
        return (await isHealthy(this.clientUrl, 1_000, this.probeTls)) || undefined;
      },
      {
        timeoutMs,
        onTimeout: () => this.#startError(`etcd member ${this.name} not healthy within ${timeoutMs} ms`),
        signal,
      },
    );
  }

  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = this.#exited;
    this.#signal(child, signal);
    // A paused process acts on SIGTERM only once thawed.
    if (signal !== 'SIGKILL') this.#signal(child, 'SIGCONT');
    await withTimeout(
      exited,
      EXIT_TIMEOUT_MS,
      `etcd member ${this.name} (pid ${this.#pid}) to exit on ${signal}`,
    );
  }

  pause(): void {
    this.#signal(this.#runningChild('pause'), 'SIGSTOP');
    this.#paused = true;
  }

  resume(): void {
    this.#signal(this.#runningChild('resume'), 'SIGCONT');
    this.#paused = false;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = GRACEFUL_STOP_MS): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = this.#exited;
    this.#signal(child, 'SIGTERM');
    this.#signal(child, 'SIGCONT');
    const escalation = setTimeout(() => this.#signal(child, 'SIGKILL'), graceMs);
    try {
      await withTimeout(
        exited,
        graceMs + EXIT_TIMEOUT_MS,
        `etcd member ${this.name} (pid ${this.#pid}) to exit`,
      );
    } finally {
      clearTimeout(escalation);
    }
  }

  async restart(options: RestartOptions = {}): Promise<void> {
    await this.stop();
    const { timeoutMs = DEFAULT_START_TIMEOUT_MS, signal } = options;
    for (let attempt = 1; ; attempt++) {
      await this.start();
      try {
        if (options.waitForHealth ?? true) await this.waitForHealth({ timeoutMs, signal });
        else await this.#waitForListening(timeoutMs, signal);
        return;
      } catch (error) {
        // Its ports are fixed (its peers know them), so a port someone holds for a moment (e.g. as the
        // source port of an outgoing connection) can only be waited out.
        if (!isAddressInUse(error) || attempt >= ADDRESS_IN_USE_ATTEMPTS) throw error;
        await this.kill();
        await delay(100);
      }
    }
  }

  /** Resolves once it accepts connections on its client port (bound, so no port conflict). */
  async #waitForListening(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    await pollUntil(
      async () => {
        this.#failIfExited();
        return (await acceptsConnections(Number(new URL(this.clientUrl).port), 1_000)) || undefined;
      },
      {
        timeoutMs,
        onTimeout: () => this.#startError(`etcd member ${this.name} not listening within ${timeoutMs} ms`),
        signal,
      },
    );
  }

  #failIfExited(): void {
    if (!this.#child)
      throw this.#startError(`etcd member ${this.name} ${this.#lastExit || 'is not running'}`);
  }

  #runningChild(action: string): ChildProcess {
    if (!this.#child) throw new EtcdMemberStoppedError(this.name, action);
    return this.#child;
  }

  /** Signals `child` by its pid if it is still this member's live process. */
  #signal(child: ChildProcess, signal: NodeJS.Signals): void {
    if (this.#child !== child || child.pid === undefined) return;
    try {
      process.kill(child.pid, signal);
    } catch {
      // It exited a moment ago; its 'exit' event is on its way.
    }
  }

  #startError(message: string): EtcdStartError {
    let tail = '';
    try {
      const lines = readFileSync(this.logFile)
        .subarray(this.#logOffset)
        .toString('utf8')
        .trimEnd()
        .split('\n');
      tail = lines.slice(-LOG_TAIL_LINES).join('\n');
    } catch {
      // No log yet.
    }
    return new EtcdStartError(message, { logTail: tail, logName: this.logFile });
  }
}
