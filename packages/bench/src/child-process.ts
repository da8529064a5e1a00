import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { within } from './time.ts';

/** One JSON line a child reported; `at` is monotonic ms (process.hrtime), comparable across processes. */
export interface ChildEvent {
  readonly event: string;
  readonly at: number;
  readonly [field: string]: unknown;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  // Only our own children, by pid: a run that ends early leaves nothing behind.
  for (const child of live) child.kill('SIGKILL');
});

/** Every child still running (the runner kills them on Ctrl-C). */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * A benchmark child process running `entry` (a file in src/child/), configured by one JSON env
 * variable and reporting one JSON object per line on stdout. Never inherits our environment beyond
 * PATH (etcd reads ETCD_* variables as flags; nothing else of ours belongs there either).
 */
export class BenchChild {
  readonly name: string;
  readonly events: ChildEvent[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #waiters = new Set<() => void>();
  #stderr = '';
  #done = false;

  constructor(name: string, entry: string, config: unknown, nodeArgs: readonly string[] = []) {
    this.name = name;
    const file = fileURLToPath(new URL(`./child/${entry}`, import.meta.url));
    this.#child = spawn(process.execPath, [...nodeArgs, '--conditions=@ztap/source', file], {
      env: { PATH: process.env.PATH ?? '', ZTAP_BENCH_CHILD: JSON.stringify(config) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this.#child);
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    let buffered = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          this.events.push(JSON.parse(line) as ChildEvent);
        } catch {
          this.#stderr += `\nunparsable line: ${line}`;
        }
      }
      this.#wake();
    });
    this.#exited = new Promise((resolve) =>
      this.#child.on('exit', () => {
        live.delete(this.#child);
        this.#done = true;
        this.#wake();
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  get exited(): boolean {
    return this.#done;
  }

  /** The first reported event (from the start) matching `test`; fails after `timeoutMs` or if the child exits. */
  waitFor(test: (event: ChildEvent) => boolean, timeoutMs: number, what: string): Promise<ChildEvent> {
    let check: (() => void) | undefined;
    const found = new Promise<ChildEvent>((resolve, reject) => {
      check = () => {
        const event = this.events.find(test);
        if (event) resolve(event);
        else if (this.#done)
          reject(new Error(`${this.name} exited before ${what}: ${this.#stderr.slice(-800)}`));
      };
      this.#waiters.add(check);
      check();
    });
    return within(found, timeoutMs, `${this.name}: ${what} (stderr: ${this.#stderr.slice(-800)})`).finally(
      () => {
        if (check) this.#waiters.delete(check);
      },
    );
  }

  /** Writes one command line to the child's stdin. */
  send(line: string): void {
    if (!this.#done) this.#child.stdin?.write(`${line}\n`);
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.#done) this.#child.kill(signal);
  }

  /** Asks for a graceful stop ("stop" on stdin); SIGKILL if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.#done) return;
    this.#child.stdin?.write('stop\n');
    await within(this.#exited, timeoutMs, `${this.name} stops`).catch(() => this.kill());
  }

  async kill(): Promise<void> {
    if (!this.#done) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
