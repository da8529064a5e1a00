import { describe, expect, it } from 'vitest';
import { alternate, MeasureBuilder, targetOn, toRow } from '../src/results.ts';
import { formatNumber, renderTable } from '../src/table.ts';

describe('formatNumber', () => {
  it('keeps about three significant digits and whole numbers from 100 up', () => {
    expect(formatNumber(0.01234)).toBe('0.012');
    expect(formatNumber(2.345)).toBe('2.35');
    expect(formatNumber(23.45)).toBe('23.4');
    expect(formatNumber(1970.4)).toBe('1970');
    expect(formatNumber(-644.2)).toBe('-644');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(undefined)).toBe('—');
  });
});

describe('alternate', () => {
  it('lets the systems take turns going first', () => {
    expect(alternate(0)).toEqual(['ztap', 'etcd3']);
    expect(alternate(1)).toEqual(['etcd3', 'ztap']);
  });
});

describe('renderTable', () => {
  const handover = new MeasureBuilder('1. Graceful handover', 'N=3: resign → successor elected', 'ms');
  handover.add('ztap', 1, 2, 3);
  handover.add('etcd3', 6, 7, 8);
  const dual = new MeasureBuilder('3. Dual leadership', 'cut off', 'ms');
  dual.add('ztap', -700, -500);
  dual.add('etcd3', 1900);
  const rows = [
    toRow(handover.build(() => ({ text: "median ≤ ½ etcd3's", met: true }))),
    toRow(dual.build((samples) => targetOn('never > 0 ms', samples.ztap, (summary) => summary.max <= 0))),
  ];
  const table = renderTable(rows);
  const lines = table.split('\n');

  it('is a Markdown table with a header, a separator and one line per measure', () => {
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^\| Scenario +\| Measure +\| Unit +\| ZTAP median +\| p99 +\| max +\| n +\|/);
    expect(lines[1]).toMatch(/^\|-+\|/);
    for (const line of lines) expect(line.length).toBe(lines[0]?.length);
  });

  it('shows median, p99, max and n per system, the ratio and the verdict', () => {
    expect(lines[2]).toContain('| 2.00 ');
    expect(lines[2]).toContain('| 7.00 ');
    expect(lines[2]).toContain('0.29×');
    expect(lines[2]).toContain("median ≤ ½ etcd3's: met");
  });

  it('shows no ratio for negative durations and says when a target is missed', () => {
    expect(lines[3]).toContain('| -600 ');
    expect(lines[3]).toContain('| — ');
    expect(lines[3]).toContain('never > 0 ms: met');
    const missed = new MeasureBuilder('x', 'y', 'ms');
    missed.add('ztap', 5);
    const row = toRow(missed.build((samples) => targetOn('never > 0 ms', samples.ztap, (s) => s.max <= 0)));
    expect(renderTable([row])).toContain('never > 0 ms: **missed**');
  });
});
