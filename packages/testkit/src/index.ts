/**
 * `@ztap/testkit` (private): what ZTAP cluster's own tests share — the `LeaderElection` conformance
 * suite, a manual clock, a recorder for async streams and a journal for events a test writes down,
 * and an etcd launcher (a container, local processes, or an external etcd) for integration tests,
 * chaos tests and benchmarks.
 * @packageDocumentation
 */
export { type ConformanceFixture, type ConformanceNodeOptions, describeConformance } from './conformance.ts';
export { DelayingProxy, type DelayingProxyOptions, dialerPid } from './delaying-proxy.ts';
export { confirmEtcdHandle } from './etcd/confirm.ts';
export { CONTAINER_LABEL, DEFAULT_ETCD_IMAGE } from './etcd/container.ts';
export { ETCD_INSTALL_HINT, EtcdUnavailableError } from './etcd/errors.ts';
export { startEtcdCluster } from './etcd/local-cluster.ts';
export { startEtcd } from './etcd/start-etcd.ts';
export type {
  EtcdCluster,
  EtcdClusterOptions,
  EtcdContainerInfo,
  EtcdHandle,
  EtcdMember,
  EtcdProvider,
  EtcdServerTls,
  RestartOptions,
  StartEtcdOptions,
} from './etcd/types.ts';
export { eventually } from './eventually.ts';
export { linesOf } from './lines.ts';
export { flushAsyncWork, ManualClock } from './manual-clock.ts';
export { describePolicyConformance, type PolicyFixture } from './policy-conformance.ts';
export { Journal, Recorder } from './recorder.ts';
export { TcpProxy } from './tcp-proxy.ts';
export {
  startWanTopology,
  type WanRegion,
  type WanTopology,
  type WanTopologyOptions,
} from './wan-topology.ts';
