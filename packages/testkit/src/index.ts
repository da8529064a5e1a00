/**
 * `@ztap/testkit` (private): what ZTAP cluster's own tests share — the `LeaderElection` conformance
 * suite, a manual clock, and a recorder for async streams.
 * @packageDocumentation
 */
export { type ConformanceFixture, type ConformanceNodeOptions, describeConformance } from './conformance.ts';
export { flushAsyncWork, ManualClock } from './manual-clock.ts';
export { Recorder } from './recorder.ts';
