import { createInterface } from 'node:readline';
import { report } from './leader-acts.ts';

/** What a test node process does on the commands every node process understands. */
export interface NodeControl {
  /** Stops the node gracefully (the process then reports `stopped` and exits 0). */
  readonly stop: () => Promise<void>;
  /** Stops its periodic leader-only writes (`quiet`). */
  readonly quieten: () => void;
  /** Its view, reported as a `view` event on `dump`. */
  readonly view: () => Record<string, unknown>;
  /** Any further command, one trimmed line. */
  readonly other?: (command: string) => void;
}

/**
 * The control channel of a test node process: SIGTERM or "stop" on stdin stops it, "quiet" quietens
 * it, "dump" reports its view; other lines go to `other`.
 */
export function listenForCommands(control: NodeControl): void {
  let stopping = false;
  // A second "stop" (or SIGTERM during a stop) must not stop the node twice.
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void control.stop().then(() => {
      report({ event: 'stopped' });
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  createInterface({ input: process.stdin }).on('line', (line) => {
    const command = line.trim();
    if (command === 'stop') stop();
    else if (command === 'quiet') control.quieten();
    else if (command === 'dump') report({ event: 'view', ...control.view() });
    else control.other?.(command);
  });
}
