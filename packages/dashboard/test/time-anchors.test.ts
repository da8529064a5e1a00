import { describe, expect, it } from 'vitest';
import { RevisionClock } from '../src/time-anchors.ts';

describe('RevisionClock', () => {
  it('interpolates between anchors in proportion to revisions', () => {
    const clock = new RevisionClock([
      { revision: 10, time: 1000 },
      { revision: 30, time: 3000 },
    ]);
    expect(clock.timeOf(20)).toEqual({ time: 2000, accuracy: 'estimated' });
    expect(clock.timeOf(10)).toEqual({ time: 1000, accuracy: 'estimated' });
    expect(clock.timeOf(30)).toEqual({ time: 3000, accuracy: 'estimated' });
  });

  it('says "at or before the first anchor" for older revisions', () => {
    const clock = new RevisionClock([{ revision: 10, time: 1000 }]);
    expect(clock.timeOf(3)).toEqual({ time: 1000, accuracy: 'before' });
  });

  it('never lets time run backwards when writers’ clocks disagree', () => {
    const clock = new RevisionClock([
      { revision: 30, time: 2500 },
      { revision: 10, time: 3000 },
      { revision: 40, time: 5000 },
    ]);
    expect(clock.anchors).toEqual([
      { revision: 10, time: 3000 },
      { revision: 30, time: 3000 },
      { revision: 40, time: 5000 },
    ]);
    expect(clock.timeOf(35)?.time).toBe(4000);
  });

  it('ignores anchors without a usable time and knows nothing with none', () => {
    const clock = new RevisionClock([{ revision: 5, time: Number.NaN }]);
    expect(clock.timeOf(5)).toBeUndefined();
  });
});
