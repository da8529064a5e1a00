/**
 * `@ztap/cluster-otel`: OpenTelemetry metrics for a ZTAP cluster election and its policies, with
 * either backend, through `@opentelemetry/api` on the MeterProvider you pass (or the global one).
 * @packageDocumentation
 */
export {
  type ClusterInstruments,
  type ClusterInstrumentsOptions,
  registerClusterInstruments,
} from './cluster-instruments.ts';
