// A user's program, run by the consumer test with plain `node` (no export conditions) from a project
// that installed the packed tarballs: it imports what npm installed, not the workspace's sources.
import { createInterface } from 'node:readline';
import { isFencedWriteError, isValidationError } from '@ztap/cluster';
import { EtcdElection } from '@ztap/cluster-etcd';
import { InMemoryElection } from '@ztap/cluster-memory';
import { registerClusterMetrics } from '@ztap/cluster-metrics';
import { Registry } from 'prom-client';

const say = (event, fields) => console.log(JSON.stringify({ event, ...fields }));
const endpoints = (process.env.ZTAP_ETCD_ENDPOINTS ?? '').split(',');
const cluster = process.env.ZTAP_CLUSTER;

// Config is checked when an election is constructed, and the error names the field.
let invalidField;
try {
  new EtcdElection({ nodeId: 'bad/id', nodeAddress: '127.0.0.1:9090', endpoints });
} catch (error) {
  invalidField = isValidationError(error) ? error.field : `not a ValidationError: ${error}`;
}

const election = new EtcdElection({
  nodeId: 'consumer-1',
  nodeAddress: '127.0.0.1:9090',
  endpoints,
  cluster,
  heartbeatInterval: 200,
  electionTimeout: 2000,
  initialLeadership: 0,
});
const registry = new Registry();
const metrics = registerClusterMetrics(election, { registry });
await election.start();
const { term } = await election.waitForLeadership();

// The leader-only write, fenced by the term.
const key = Buffer.from(`${election.prefix}consumer/last-run`);
await election.guardedTxn({ term, success: [{ request_put: { key, value: Buffer.from(`term ${term}`) } }] });
const isLeaderMetric = (await registry.metrics())
  .split('\n')
  .find((line) => line.startsWith('ztap_cluster_is_leader{'));
say('leading', {
  nodeId: election.nodeId,
  term,
  prefix: election.prefix,
  invalidField,
  isLeaderMetric,
  resolved: ['@ztap/cluster', '@ztap/cluster-etcd', '@ztap/cluster-memory', '@ztap/cluster-metrics'].map(
    (name) => import.meta.resolve(name),
  ),
});

// The test runs the installed `ztap cluster status` now, then tells this program to go on.
const input = createInterface({ input: process.stdin });
for await (const line of input) if (line === 'continue') break;
input.close();

// Deposed (here: by resigning), the old term is stale: etcd refuses its writes.
await election.resign();
let staleWrite = 'committed';
try {
  await election.guardedTxn({ term, success: [{ request_put: { key, value: Buffer.from('stale') } }] });
} catch (error) {
  staleWrite = isFencedWriteError(error) ? 'fenced' : `failed otherwise: ${error}`;
}
await metrics.dispose();
await election.stop();

// The in-memory backend, from the same install.
const memory = new InMemoryElection({
  nodeId: 'memory-1',
  nodeAddress: '127.0.0.1:9091',
  initialLeadership: 0,
});
await memory.start();
const memoryTerm = (await memory.waitForLeadership()).term;
await memory.stop();

say('done', { staleWrite, memoryTerm });
// No process.exit(): a stopped election must leave nothing that keeps the process alive.
