/**
 * Figures of every chaos trial, printed as a table when the run ends and written as JSON to
 * .chaos-results/ (for docs/reliability.md). Violations are listed per scenario: the count must be 0.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll } from 'vitest';

interface ScenarioFigures {
  trials: number;
  violations: string[];
  figures: Record<string, (number | string)[]>;
}

const scenarios = new Map<string, ScenarioFigures>();

export function recordTrial(
  scenario: string,
  figures: Record<string, number | string>,
  violations: string[],
): void {
  const entry = scenarios.get(scenario) ?? { trials: 0, violations: [], figures: {} };
  entry.trials++;
  entry.violations.push(...violations);
  for (const [name, value] of Object.entries(figures)) {
    const values = entry.figures[name] ?? [];
    values.push(value);
    entry.figures[name] = values;
  }
  scenarios.set(scenario, entry);
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
};

/** "1234 / 1500" (median / p99) for numbers, the distinct values for strings. */
function summarise(values: (number | string)[]): string {
  const numbers = values.filter((value): value is number => typeof value === 'number');
  if (numbers.length === values.length)
    return `${Math.round(quantile(numbers, 0.5))} / ${Math.round(quantile(numbers, 0.99))}`;
  return [...new Set(values.map(String))].join(', ');
}

afterAll(() => {
  if (scenarios.size === 0) return;
  const lines = ['', '[chaos] scenario | trials | violations | figures (median / p99)'];
  for (const [name, entry] of scenarios) {
    const figures = Object.entries(entry.figures)
      .map(([figure, values]) => `${figure} ${summarise(values)}`)
      .join('; ');
    lines.push(`[chaos] ${name} | ${entry.trials} | ${entry.violations.length} | ${figures}`);
  }
  console.info(lines.join('\n'));
  const dir = new URL('../../.chaos-results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`chaos-${process.pid}-${Date.now()}.json`, dir);
  writeFileSync(file, JSON.stringify(Object.fromEntries(scenarios), null, 2));
});
