import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The Grafana dashboard we ship. */
export const DASHBOARD_FILE = fileURLToPath(
  new URL('../../deploy/grafana/ztap-cluster.json', import.meta.url),
);

/** What the tests read of a Grafana dashboard's JSON. */
export interface Dashboard {
  readonly schemaVersion: number;
  readonly templating: { readonly list: readonly TemplateVariable[] };
  readonly panels: readonly Panel[];
}

export interface TemplateVariable {
  readonly name: string;
  readonly type: string;
  readonly query: string | { readonly query: string };
  readonly datasource?: { readonly type: string; readonly uid: string };
}

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: readonly {
    readonly refId: string;
    readonly expr: string;
    readonly datasource?: { readonly type: string; readonly uid: string };
  }[];
  /** A collapsed row keeps its panels here. */
  readonly panels?: readonly Panel[];
}

/** One PromQL expression of a panel. */
export interface PanelQuery {
  readonly panel: Panel;
  readonly refId: string;
  readonly expr: string;
}

export function loadDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Every panel, those inside collapsed rows included. */
export function panelsOf(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every PromQL expression of every panel. */
export function dashboardQueries(dashboard: Dashboard): PanelQuery[] {
  return panelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel, refId: target.refId, expr: target.expr })),
  );
}

/** The queries of the template variables (`label_values(...)`, not PromQL). */
export function variableQueries(dashboard: Dashboard): string[] {
  return dashboard.templating.list
    .filter((variable) => variable.type === 'query')
    .map((variable) => (typeof variable.query === 'string' ? variable.query : variable.query.query));
}

/** The ZTAP metrics an expression reads, by exported name (a histogram's series without their suffix). */
export function metricsIn(expression: string): string[] {
  return [...expression.matchAll(/\bztap_cluster_\w+/g)].map(([name]) =>
    name.replace(/_(?:bucket|sum|count)$/, ''),
  );
}

/**
 * An expression as Prometheus would get it from Grafana: the interval variables replaced by a
 * duration, every template variable (`$cluster`, `${instance}`) by `.*` (as "All" does).
 */
export function substituteVariables(expression: string): string {
  return expression.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?\w+\}?/g, '.*');
}

/**
 * Each panel query as a recording rule, so `promtool check rules` parses every expression: a typo
 * (a missing parenthesis, `sum by` without labels, a bad matcher) fails.
 */
export function asRecordingRules(queries: readonly PanelQuery[]): string {
  const rules = queries.map(
    ({ panel, refId, expr }) =>
      `      - record: ztap_dashboard:panel_${panel.id}_${refId}\n        expr: ${JSON.stringify(substituteVariables(expr))}\n`,
  );
  return `groups:\n  - name: grafana-dashboard\n    rules:\n${rules.join('')}`;
}
