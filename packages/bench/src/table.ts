import type { Row } from './results.ts';
import type { Summary } from './stats.ts';

/** A number for people: about three significant digits, no exponent, thousands kept whole. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  if (abs >= 100) return String(Math.round(value));
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 0.1) return value.toFixed(2);
  return value.toFixed(3);
}

function cells(summary: Summary | undefined): string[] {
  if (!summary) return ['—', '—', '—', '0'];
  return [
    formatNumber(summary.median),
    formatNumber(summary.p99),
    formatNumber(summary.max),
    String(summary.n),
  ];
}

function verdict(row: Row): string {
  if (!row.target) return '';
  const mark = row.target.met === undefined ? 'n/a' : row.target.met ? 'met' : '**missed**';
  return `${row.target.text}: ${mark}`;
}

const HEADER = [
  'Scenario',
  'Measure',
  'Unit',
  'ZTAP median',
  'p99',
  'max',
  'n',
  'etcd3 median',
  'p99',
  'max',
  'n',
  'ZTAP / etcd3',
  'Target (ZTAP)',
];

/** The results as a Markdown table (also readable as plain text). */
export function renderTable(rows: readonly Row[]): string {
  const body = rows.map((row) => [
    row.scenario,
    row.name,
    row.unit,
    ...cells(row.ztap),
    ...cells(row.etcd3),
    row.ratio === undefined ? '—' : `${formatNumber(row.ratio)}×`,
    verdict(row),
  ]);
  const all = [HEADER, ...body];
  const widths = HEADER.map((_, column) => Math.max(...all.map((line) => (line[column] ?? '').length)));
  const line = (values: readonly string[]) =>
    `| ${values.map((value, column) => value.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const separator = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(HEADER), separator, ...body.map(line)].join('\n');
}
