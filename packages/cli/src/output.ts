import { stringify } from 'yaml';
import { UsageError } from './errors.ts';
import { type CliIO, writeLine } from './io.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** `-o json|yaml|table`; `--json` is `-o json` (and contradicting it is a mistake). */
export function outputFormat(options: { readonly output?: string; readonly json?: boolean }): OutputFormat {
  const { output, json } = options;
  if (output === undefined) return json ? 'json' : 'table';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output))
    throw new UsageError(`-o must be one of ${OUTPUT_FORMATS.join(', ')} (got ${JSON.stringify(output)})`);
  if (json && output !== 'json') throw new UsageError(`--json and -o ${output} disagree: give one`);
  return output as OutputFormat;
}

/** Where data goes in the machine-readable formats; `table` output is each command's own. */
export interface Output {
  readonly format: OutputFormat;
  /** Whether data is printed for machines (JSON or YAML) rather than as text for people. */
  readonly structured: boolean;
  /** The one result of a command: JSON on one line, or one YAML document. */
  document(value: unknown): void;
  /**
   * One item of a stream (watch, an agent's log): a JSON object per line, or a YAML document that
   * starts with `---`, so a reader can split the stream at those lines.
   */
  item(value: unknown): void;
}

export function outputTo(io: CliIO, format: OutputFormat): Output {
  const yaml = (value: unknown) => stringify(value, { lineWidth: 0 });
  return {
    format,
    structured: format !== 'table',
    document: (value) => {
      if (format === 'yaml') io.stdout.write(yaml(value));
      else writeLine(io.stdout, JSON.stringify(value));
    },
    item: (value) => {
      if (format === 'yaml') io.stdout.write(`---\n${yaml(value)}`);
      else writeLine(io.stdout, JSON.stringify(value));
    },
  };
}
