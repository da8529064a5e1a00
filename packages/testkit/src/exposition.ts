/**
 * Reading the Prometheus text format (what `/metrics` serves), enough for tests: samples, their
 * labels and values, and the families' types.
 */

/** One sample of a Prometheus text exposition: its name, labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Each sample of a Prometheus text exposition (comment lines skipped). */
export function samplesOf(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [, name, body, value] = /^(\w+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line) ?? [];
      const labels = Object.fromEntries(
        [...(body ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, label, labelValue]) => [label, labelValue]),
      );
      return { name: name ?? '', labels, value: Number(value) };
    });
}

/** The value of the sample `name` with exactly `labels`, or undefined when there is none. */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples.find(
    (sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted,
  )?.value;
}

/** The metric families of an exposition and their types, from its `# TYPE` lines. */
export function typesOf(text: string): Map<string, string> {
  return new Map(
    [...text.matchAll(/^# TYPE (\w+) (\w+)$/gm)].map(([, name, type]) => [name as string, type as string]),
  );
}
