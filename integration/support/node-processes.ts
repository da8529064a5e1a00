import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { linesOf, Recorder } from '@ztap/testkit';
import type { NodeProcessConfig } from './node-process-config.ts';
import type { RegionNodeConfig } from './region-node-config.ts';

/** One line a node process reported. `at` is process.hrtime in nanoseconds. */
export interface NodeEvent {
  readonly event:
    | 'started'
    | 'leader'
    | 'lost'
    | 'write'
    | 'policy-write'
    | 'policy-snapshot'
    | 'policy-updated'
    | 'policy-deleted'
    | 'view'
    | 'quiet'
    | 'stopped'
    | 'follow-ended'
    | 'policy-follow-ended'
    | 'work-start'
    | 'work-end'
    | 'lead-ended'
    | 'lead-failed'
    | 'transfer'
    // multi-region nodes (region-node-process.ts)
    | 'global-leader'
    | 'global-lost'
    | 'global-write'
    | 'replica-write'
    | 'replica-resync'
    | 'replica-error';
  readonly at: string;
  readonly term?: number;
  readonly reason?: string;
  readonly ok?: boolean;
  readonly error?: string;
  readonly pid?: number;
  readonly leaseId?: string;
  readonly revision?: number;
  readonly name?: string;
  readonly version?: number;
  readonly code?: string;
  readonly members?: string[];
  readonly leader?: string | null;
  readonly policies?: Record<string, number>;
  readonly region?: string;
  readonly lagMs?: number;
  readonly kind?: string;
  readonly target?: string;
}

const entry = fileURLToPath(new URL('./node-process.ts', import.meta.url));
/** The multi-region node process (region-node-process.ts). */
export const REGION_NODE_ENTRY = fileURLToPath(new URL('./region-node-process.ts', import.meta.url));
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A node running in a child process, and everything it reported. */
export class NodeProcess {
  readonly nodeId: string;
  readonly events: Recorder<NodeEvent>;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #stderr = '';

  /** `entryFile` runs instead of node-process.ts (e.g. {@link REGION_NODE_ENTRY}); `config` is its ZTAP_TEST_NODE. */
  constructor(config: NodeProcessConfig | RegionNodeConfig, entryFile = entry) {
    this.nodeId = config.nodeId;
    // Only this test's variables: never our own ETCD_* (or anything else a developer has set).
    const env = { PATH: process.env.PATH ?? '', ZTAP_TEST_NODE: JSON.stringify(config) };
    this.#child = spawn(process.execPath, ['--conditions=@ztap/source', entryFile], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this.#child);
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.#exited = new Promise((resolve) =>
      this.#child.on('exit', (code) => {
        live.delete(this.#child);
        resolve(code);
      }),
    );
    this.events = new Recorder(parseLines(this.#child));
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  /** Whether the process has exited (killed or stopped). */
  get killed(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves with the first reported event (from the start) that matches. */
  next(predicate: (event: NodeEvent) => boolean, description: string): Promise<NodeEvent> {
    return this.events.first(
      predicate,
      `${this.nodeId}: ${description} (stderr: ${this.#stderr.slice(-500)})`,
    );
  }

  started(): Promise<NodeEvent> {
    return this.next((event) => event.event === 'started', 'started');
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** Asks for its view of the cluster and resolves with the next one it reports. */
  async view(): Promise<NodeEvent> {
    const seen = this.events.items.filter((event) => event.event === 'view').length;
    this.#child.stdin?.write('dump\n');
    const views = await this.events.until(
      (items) => items.filter((event) => event.event === 'view').length > seen,
      `${this.nodeId}: its view`,
    );
    return views.filter((event) => event.event === 'view')[seen] as NodeEvent;
  }

  /** Asks it to hand leadership to `target`; its outcome is reported as a `transfer` event. */
  transfer(target: string, timeoutMs?: number): void {
    this.#child.stdin?.write(`transfer ${target}${timeoutMs === undefined ? '' : ` ${timeoutMs}`}\n`);
  }

  /** Asks it to resign (it stays a member and campaigns again). */
  resign(): void {
    this.#child.stdin?.write('resign\n');
  }

  /** Asks it to stop acting as leader (no more writes) and resolves once it has. */
  async quieten(): Promise<void> {
    this.#child.stdin?.write('quiet\n');
    await this.next((event) => event.event === 'quiet', 'quiet');
  }

  /** The last few things it reported and said on stderr, for a failure message. */
  describe(count = 8): string {
    const last = this.events.items
      .slice(-count)
      .map((event) => JSON.stringify(event))
      .join('\n    ');
    return `${this.nodeId} (pid ${this.pid}):\n    ${last}\n    stderr: ${this.#stderr.slice(-600)}`;
  }

  /** Asks for a graceful stop and waits for the exit. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.stdin?.write('stop\n');
    await this.#exited;
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  exited(): Promise<number | null> {
    return this.#exited;
  }
}

async function* parseLines(child: ChildProcess): AsyncIterable<NodeEvent> {
  for await (const line of linesOf(child.stdout as AsyncIterable<Buffer>))
    yield JSON.parse(line) as NodeEvent;
}

/** The end of an interval that has not ended. */
export const OPEN = BigInt(2) ** BigInt(63);

/**
 * Per term, the interval from a `begins` event to the matching `ends` event of one process, in hrtime
 * ns: leaderships (`leader` to `lost`) or leader work (`work-start` to `work-end`). An interval with no
 * end (still running, or the process was killed) ends at {@link OPEN}.
 */
export function termIntervals(
  node: NodeProcess,
  begins: NodeEvent['event'],
  ends: NodeEvent['event'],
): { term: number; from: bigint; to: bigint }[] {
  const intervals: { term: number; from: bigint; to: bigint }[] = [];
  for (const event of node.events.items) {
    if (event.event === begins)
      intervals.push({ term: event.term as number, from: BigInt(event.at), to: OPEN });
    if (event.event === ends) {
      const open = intervals.findLast((interval) => interval.term === event.term);
      if (open) open.to = BigInt(event.at);
    }
  }
  return intervals;
}
