import { createInterface } from 'node:readline';
import { nowMs } from '../time.ts';

/** The config the parent passed in ZTAP_BENCH_CHILD. */
export function childConfig<T>(): T {
  const text = process.env.ZTAP_BENCH_CHILD;
  if (!text) throw new Error('ZTAP_BENCH_CHILD is not set: this file is started by the benchmark runner');
  return JSON.parse(text) as T;
}

/** Reports one event as a JSON line, stamped with monotonic ms unless it carries its own `at`. */
export function report(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ at: nowMs(), ...event })}\n`);
}

/** Runs `stop` on "stop" from stdin or SIGTERM, then exits; a second request exits at once. */
export function onStopRequest(stop: () => Promise<void>): void {
  let stopping = false;
  const handle = () => {
    if (stopping) process.exit(1);
    stopping = true;
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    stop()
      .catch((error: unknown) => report({ event: 'stop-error', error: String(error) }))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', handle);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'stop') handle();
  });
}
