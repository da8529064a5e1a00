import { styleText } from 'node:util';

/** Where a command reads its environment and writes its output: injectable, so tests need no process. */
export interface CliIO {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Process signals the long-running commands (watch, agent, run) stop on. */
  readonly onShutdown: (listener: (signal: NodeJS.Signals) => void) => () => void;
}

export function processIO(): CliIO {
  const listeners = new Set<(signal: NodeJS.Signals) => void>();
  // `ztap cluster list | head -3`: the reader went away. Like a program killed by SIGPIPE, stop
  // quietly instead of crashing on an unhandled EPIPE; a long-running command shuts down cleanly
  // (resigns, stops its command), and nothing more is written to the closed pipe.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (listeners.size === 0) process.exit(process.exitCode ?? 0);
    for (const listener of [...listeners]) listener('SIGPIPE');
  });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onShutdown: (listener) => {
      listeners.add(listener);
      process.on('SIGINT', listener);
      process.on('SIGTERM', listener);
      return () => {
        listeners.delete(listener);
        process.off('SIGINT', listener);
        process.off('SIGTERM', listener);
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
