/**
 * `@ztap/testkit` (private): what ZTAP cluster's own tests share beyond the published
 * `@ztap/cluster-testing` (which they import directly for etcd, the manual clock, cutting nodes off and
 * the leader waits): the `LeaderElection`, policy and leader-work conformance suites (vitest), a
 * recorder for async streams and a journal for events a test writes down, `eventually`, `linesOf`, and
 * a check that an etcd handle is what it says.
 * @packageDocumentation
 */
export { confirmEtcdHandle } from './confirm.ts';
export { type ConformanceFixture, type ConformanceNodeOptions, describeConformance } from './conformance.ts';
export { DelayingProxy, type DelayingProxyOptions, dialerPid } from './delaying-proxy.ts';
export { eventually } from './eventually.ts';
export { type Sample, samplesOf, sampleValue, typesOf } from './exposition.ts';
export { linesOf } from './lines.ts';
export {
  describeMetricsConformance,
  type MemoryBackend,
  type MetricsUnderTest,
  type RegisterMetrics,
} from './metrics-conformance.ts';
export { describePolicyConformance, type PolicyFixture } from './policy-conformance.ts';
export { Journal, Recorder } from './recorder.ts';
export { type StubbornWork, startStubbornWork } from './stubborn-work.ts';
export {
  startWanTopology,
  type WanRegion,
  type WanTopology,
  type WanTopologyOptions,
} from './wan-topology.ts';
