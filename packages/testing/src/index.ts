/**
 * `@ztap/cluster-testing`: what a service that uses ZTAP cluster needs in its own tests — a real etcd
 * in one line (`startEtcd()`: a container, a local binary or an etcd you run, chosen by the
 * environment), a multi-member etcd cluster, a link that cuts one node off from etcd and heals it, a
 * manual clock for the in-memory backend, and bounded waits for "a leader exists", "this node leads"
 * and "nobody leads". Works with any test runner (vitest, `node:test`, ...); imports none.
 * @packageDocumentation
 */
export { cutOffProxy, type EtcdLink } from './cut-off-proxy.ts';
export {
  ETCD_INSTALL_HINT,
  EtcdMemberStoppedError,
  EtcdStartError,
  EtcdStopError,
  isEtcdMemberStoppedError,
  isEtcdStartError,
  isEtcdStopError,
  isNoEtcdError,
  isWaitTimeoutError,
  NoEtcdError,
  WaitTimeoutError,
} from './errors.ts';
export { CONTAINER_LABEL, DEFAULT_ETCD_IMAGE } from './etcd/container.ts';
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
  StartEtcdClusterOptions,
  StartEtcdOptions,
  WaitOptions,
} from './etcd/types.ts';
export { type GrpcProxy, type GrpcProxyOptions, startGrpcProxy } from './grpc-proxy.ts';
export { type LeaderWaitOptions, waitForLeader, waitForNoLeader, waitUntilLeads } from './leader-waits.ts';
export { flushAsyncWork, ManualClock } from './manual-clock.ts';
