import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

const src = new URL('../../src/', import.meta.url);

/**
 * An example's entry point running as a child process, its output collected line by line so a test
 * can wait for a line instead of sleeping. Only this child is ever signalled, by its own handle.
 */
export class ExampleProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<() => void>();

  constructor(entryPoint: string, env: Record<string, string>, options: { cwd?: string } = {}) {
    this.#child = spawn(process.execPath, ['--conditions=@ztap/source', new URL(entryPoint, src).pathname], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    this.#collect(this.#child.stdout, this.stdout);
    this.#collect(this.#child.stderr, this.stderr);
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': by then every line it wrote has been read.
      this.#child.once('close', (code, signal) => {
        resolve({ code, signal });
        this.#wake();
      });
    });
  }

  /** Resolves with the first stdout line matching `pattern`; fails after `timeoutMs` or if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        const line = this.stdout.find((candidate) => pattern.test(candidate));
        if (line !== undefined) resolve(line);
        else
          reject(
            new Error(
              `${error?.message}\nstdout:\n${this.stdout.join('\n')}\nstderr:\n${this.stderr.join('\n')}`,
            ),
          );
      };
      const check = () => {
        if (this.stdout.some((line) => pattern.test(line))) finish();
        else if (this.#child.exitCode !== null || this.#child.signalCode !== null)
          finish(new Error(`exited before a line matching ${pattern}`));
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `signal` and resolves with how the process exited (killed if it takes over `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000) {
    this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** For `finally`: makes sure the child is gone, whatever the test did. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }

  #collect(stream: NodeJS.ReadableStream | null, into: string[]): void {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      into.push(...lines);
      this.#wake();
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** A port free on loopback right now (the example listens on it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Polls `check` until it returns a value, for at most `timeoutMs` (for state only reachable over HTTP). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
