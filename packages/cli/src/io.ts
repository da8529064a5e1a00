import { styleText } from 'node:util';

/** Where a command reads its environment and writes its output: injectable, so tests need no process. */
export interface CliIO {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Process signals the long-running commands (watch, agent, run, dashboard) stop on: SIGINT, SIGTERM,
   * SIGHUP (the terminal closed), and `SIGPIPE` when the reader of stdout went away.
   */
  readonly onShutdown: (listener: (signal: NodeJS.Signals) => void) => () => void;
}

/**
 * A closed terminal (SIGHUP) must not kill an agent without resigning, as Node's default would: the
 * successor would wait out the lease TTL instead of taking over at once.
 */
const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function processIO(): CliIO {
  const listeners = new Set<(signal: NodeJS.Signals) => void>();
  // `ztap cluster list | head -3`: the reader went away (EPIPE; EIO once a terminal has closed). Like
  // a program killed by SIGPIPE, stop quietly instead of crashing on an unhandled error; a
  // long-running command shuts down cleanly (resigns, stops its command).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'EIO') throw error;
    if (listeners.size === 0) process.exit(process.exitCode ?? 0);
    for (const listener of [...listeners]) listener('SIGPIPE');
  });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onShutdown: (listener) => {
      listeners.add(listener);
      for (const signal of SHUTDOWN_SIGNALS) process.on(signal, listener);
      return () => {
        listeners.delete(listener);
        for (const signal of SHUTDOWN_SIGNALS) process.off(signal, listener);
      };
    },
  };
}

export type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan';

/** Colour only on a terminal, never with NO_COLOR or --no-color. */
export function painter(io: CliIO, enabled: boolean): (style: Style, text: string) => string {
  const colour =
    enabled && io.stdout.isTTY === true && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
  return (style, text) => (colour ? styleText(style, text, { validateStream: false }) : text);
}

export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(`${line}\n`);
}
