import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { linesOf, Recorder } from '@ztap/testkit';

/** The built binary, run exactly as a user's `ztap` would be (pnpm test builds it first). */
export const ZTAP_BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

export interface ZtapResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Only what the test gives: never our own ZTAP_* or ETCD_* variables. */
const cleanEnv = (env: Record<string, string>) => ({ PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env });

/** Runs `ztap <args>` to completion. */
export function ztap(args: readonly string[], env: Record<string, string> = {}): Promise<ZtapResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ZTAP_BIN, ...args],
      { env: cleanEnv(env), timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

/** A long-running `ztap` (agent, run, watch): its output lines as they come, and its exit. */
export class ZtapProcess {
  readonly lines: Recorder<string>;
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  #stderr = '';

  constructor(args: readonly string[], env: Record<string, string> = {}) {
    this.#child = spawn(process.execPath, [ZTAP_BIN, ...args], {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.#child.on('exit', (code) => resolve(code)));
    this.lines = new Recorder(linesOf(this.#child.stdout as AsyncIterable<Buffer>));
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The first output line (from the start) that matches. */
  line(pattern: RegExp): Promise<string> {
    return this.lines.first(
      (line) => pattern.test(line),
      `a line matching ${pattern} (stderr: ${this.#stderr.slice(-400)})`,
    );
  }

  /** The first JSON line (from the start) that satisfies `predicate`. */
  async json<T = Record<string, unknown>>(predicate: (value: T) => boolean): Promise<T> {
    const parse = (line: string) => {
      try {
        return JSON.parse(line) as T;
      } catch {
        return undefined;
      }
    };
    const line = await this.lines.first(
      (text) => {
        const value = parse(text);
        return value !== undefined && predicate(value);
      },
      `a matching JSON line (stderr: ${this.#stderr.slice(-400)})`,
    );
    return parse(line) as T;
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }
}

/** A `ztap agent` serving /healthz and /metrics. */
export interface ListeningAgent {
  readonly process: ZtapProcess;
  readonly url: string;
}

/** `ztap <connection> --json agent --id <id> --address <address> <extra>`: an agent's arguments, with JSON lines. */
export const agentArgs = (
  connection: readonly string[],
  id: string,
  address: string,
  extra: readonly string[],
): string[] => [...connection, '--json', 'agent', '--id', id, '--address', address, ...extra];

/**
 * Spawns an agent (see {@link agentArgs}) with `--listen 0`, pushed onto `running` for the test to
 * kill, and resolves once it serves.
 */
export async function listeningAgent(
  running: ZtapProcess[],
  connection: readonly string[],
  id: string,
  address: string,
  extra: readonly string[],
): Promise<ListeningAgent> {
  const process = new ZtapProcess(agentArgs(connection, id, address, ['--listen', '0', ...extra]));
  running.push(process);
  const { port } = await process.json<{ event: string; port: number }>((line) => line.event === 'listening');
  return { process, url: `http://127.0.0.1:${port}` };
}
