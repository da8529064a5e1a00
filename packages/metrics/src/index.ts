/**
 * `@ztap/cluster-metrics`: Prometheus metrics (prom-client) for a ZTAP cluster election and its
 * policies, with either backend. Metrics go on the registry you pass, never on the global one.
 * @packageDocumentation
 */
export {
  type ClusterMetrics,
  type ClusterMetricsOptions,
  registerClusterMetrics,
} from './cluster-metrics.ts';
