import { type CliIO, painter, type Style, writeLine } from './io.ts';
import type { Output } from './output.ts';

/** The agent's and run's log: one line per event; with -o json a JSON object per line, -o yaml a document each. */
export type Logger = (
  event: string,
  message: string,
  fields?: Record<string, unknown>,
  style?: Style,
) => void;

export function createLogger(io: CliIO, output: Output, colour: boolean): Logger {
  const paint = painter(io, colour);
  return (event, message, fields = {}, style) => {
    const time = new Date().toISOString();
    if (output.structured) output.item({ time, event, ...fields });
    else writeLine(io.stdout, `${paint('dim', time)}  ${style ? paint(style, message) : message}`);
  };
}
