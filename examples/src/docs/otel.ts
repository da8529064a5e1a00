import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { registerClusterInstruments } from '@ztap/cluster-otel';

// The application sets up OpenTelemetry once: here a Prometheus endpoint; OTLP to a collector works
// the same way (a PeriodicExportingMetricReader with an OTLP exporter).
const port = Number(process.env.METRICS_PORT ?? 9464);
const meterProvider = new MeterProvider({ readers: [new PrometheusExporter({ port })] });
metrics.setGlobalMeterProvider(meterProvider);

const election = new EtcdElection({
  nodeId: 'node-1',
  nodeAddress: '10.0.0.7:9090',
  endpoints: (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(','),
  cluster: 'otel',
  initialLeadership: 0,
});
const policies = new EtcdPolicySync(election);
// No meterProvider given: the global one. The meter is named @ztap/cluster-otel.
const instruments = registerClusterInstruments(election, { policies });
await election.start();
console.log(`metrics on http://127.0.0.1:${port}/metrics`);

process.once('SIGTERM', async () => {
  await instruments.dispose(); // before election.stop(): the policy subscription uses its client
  await election.stop();
  await meterProvider.shutdown();
});
