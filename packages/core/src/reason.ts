// ANSI escape sequences (colours), then C0 controls (newlines included), DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ESCAPE_SEQUENCE = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]+/g;

/** How long a reason may get before it is cut: a health endpoint answers in one short line. */
export const MAX_REASON_LENGTH = 300;

/**
 * `text` as one line fit for a log or a JSON health answer: control characters and escape sequences
 * become spaces, runs of whitespace one space, and it is cut to `maxLength` characters with `…`.
 */
export function oneLine(text: string, maxLength = MAX_REASON_LENGTH): string {
  const line = text
    .replace(ESCAPE_SEQUENCE, ' ')
    .replace(CONTROL_CHARACTERS, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line;
}
