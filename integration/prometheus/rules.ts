import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The alerting rules we ship, and their promtool unit tests. */
export const RULES_FILE = fileURLToPath(
  new URL('../../deploy/prometheus/ztap-cluster.rules.yml', import.meta.url),
);
export const RULES_TEST_FILE = fileURLToPath(
  new URL('../../deploy/prometheus/ztap-cluster.rules.test.yml', import.meta.url),
);

/** One series selector of a rule expression: a metric name and its label matchers. */
export interface Selector {
  readonly metric: string;
  readonly matchers: readonly { readonly label: string; readonly op: '=' | '=~'; readonly value: string }[];
}

/**
 * Every `ztap_cluster_*` selector in the rules' `expr:` lines (PromQL of this file's simple kind: names
 * with optional `{label="value"}` or `{label=~"a|b"}` matchers).
 */
export function selectorsInRules(text = readFileSync(RULES_FILE, 'utf8')): Selector[] {
  const expressions = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .match(/expr:[^\n]*(?:\n {10,}[^\n]*)*/g);
  const selectors: Selector[] = [];
  for (const expression of expressions ?? []) {
    for (const [, metric, body] of expression.matchAll(/\b(ztap_cluster_\w+)(?:\{([^}]*)\})?/g)) {
      const matchers = [...(body ?? '').matchAll(/(\w+)\s*(=~|=)\s*"([^"]*)"/g)].map(
        ([, label, op, value]) => ({
          label: label as string,
          op: op as '=' | '=~',
          value: value as string,
        }),
      );
      selectors.push({ metric: metric as string, matchers });
    }
  }
  return selectors;
}
