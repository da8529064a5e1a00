import { type CliIO, painter, type Style, writeLine } from './io.ts';

/** The agent's and run's log: one line per event, JSON lines with --json. */
export type Logger = (
  event: string,
  message: string,
  fields?: Record<string, unknown>,
  style?: Style,
) => void;

export function createLogger(io: CliIO, json: boolean, colour: boolean): Logger {
  const paint = painter(io, colour);
  return (event, message, fields = {}, style) => {
    const time = new Date().toISOString();
    if (json) writeLine(io.stdout, JSON.stringify({ time, event, ...fields }));
    else writeLine(io.stdout, `${paint('dim', time)}  ${style ? paint(style, message) : message}`);
  };
}
