import { ratio, type Summary, summarize } from './stats.ts';

/** The two systems measured side by side. */
export type SystemName = 'ztap' | 'etcd3';
export const SYSTEMS: readonly SystemName[] = ['ztap', 'etcd3'];

/** Trial or round `index` runs the systems in this order: they take turns going first. */
export function alternate(index: number): readonly SystemName[] {
  return index % 2 === 0 ? ['ztap', 'etcd3'] : ['etcd3', 'ztap'];
}

/** A goal from the issue, judged from this run's numbers. */
export interface Target {
  /** e.g. "median ≤ 0.35× etcd3's". */
  readonly text: string;
  /** Whether ZTAP met it in this run; undefined when it cannot be judged (no samples). */
  readonly met: boolean | undefined;
}

/** One row of the table: one measure, its samples for each system. */
export interface Measure {
  readonly scenario: string;
  readonly name: string;
  readonly unit: string;
  readonly samples: Readonly<Record<SystemName, readonly number[]>>;
  readonly target?: Target;
}

/** What a scenario hands back: its table rows and whatever raw detail explains them. */
export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly measures: Measure[];
  readonly raw: unknown;
  readonly notes: string[];
}

export interface Row {
  readonly scenario: string;
  readonly name: string;
  readonly unit: string;
  readonly ztap: Summary | undefined;
  readonly etcd3: Summary | undefined;
  readonly ratio: number | undefined;
  readonly target: Target | undefined;
}

export function toRow(measure: Measure): Row {
  const ztap = summarize(measure.samples.ztap);
  const etcd3 = summarize(measure.samples.etcd3);
  return {
    scenario: measure.scenario,
    name: measure.name,
    unit: measure.unit,
    ztap,
    etcd3,
    ratio: ratio(ztap, etcd3),
    target: measure.target,
  };
}

/** A target judged on ZTAP's summary alone. */
export function targetOn(
  text: string,
  samples: readonly number[],
  test: (summary: Summary) => boolean,
): Target {
  const summary = summarize(samples);
  return { text, met: summary ? test(summary) : undefined };
}

/** ZTAP's median at most `factor` times etcd3's, judged when both have samples. */
export function medianWithin(factor: number, text: string) {
  return (samples: Readonly<Record<SystemName, readonly number[]>>): Target => {
    const ours = summarize(samples.ztap);
    const theirs = summarize(samples.etcd3);
    return { text, met: ours && theirs ? ours.median <= theirs.median * factor : undefined };
  };
}

/** Builds a measure whose samples are collected per system as the scenario runs. */
export class MeasureBuilder {
  readonly scenario: string;
  readonly name: string;
  readonly unit: string;
  readonly samples: Record<SystemName, number[]> = { ztap: [], etcd3: [] };

  constructor(scenario: string, name: string, unit: string) {
    this.scenario = scenario;
    this.name = name;
    this.unit = unit;
  }

  add(system: SystemName, ...values: number[]): void {
    this.samples[system].push(...values);
  }

  build(target?: (samples: Record<SystemName, number[]>) => Target): Measure {
    return {
      scenario: this.scenario,
      name: this.name,
      unit: this.unit,
      samples: this.samples,
      ...(target ? { target: target(this.samples) } : {}),
    };
  }
}
