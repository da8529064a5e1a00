// Type-checked by the consumer test against the declarations npm installed from the tarballs
// (`tsc --noEmit`, module resolution nodenext and bundler). Never run.
import { type CliIO, createProgram, EXIT, main } from '@ztap/cli';
import {
  type ClusterLogger,
  DEFAULT_CONFIG,
  isFencedWriteError,
  type LeaderElection,
  type Leadership,
  type Node,
  ValidationError,
} from '@ztap/cluster';
// The subpath for backend authors resolves from an installed package too.
import { type BaseElection, ClusterView } from '@ztap/cluster/backend';
import {
  EtcdClusterClient,
  EtcdElection,
  type EtcdElectionOptions,
  type GuardedTxn,
} from '@ztap/cluster-etcd';
import { InMemoryElection, MemoryHub } from '@ztap/cluster-memory';
import { type ClusterMetrics, registerClusterMetrics } from '@ztap/cluster-metrics';
import { type ClusterInstruments, registerClusterInstruments } from '@ztap/cluster-otel';
import {
  cutOffProxy,
  type EtcdHandle,
  type EtcdLink,
  isNoEtcdError,
  ManualClock,
  startEtcd,
  startEtcdCluster,
  waitForLeader,
  waitUntilLeads,
} from '@ztap/cluster-testing';
import { Registry } from 'prom-client';

const options: EtcdElectionOptions = {
  nodeId: 'node-1',
  nodeAddress: '127.0.0.1:9090',
  endpoints: ['http://127.0.0.1:2379'],
  cluster: 'payments',
};
// Any logger with pino's call shape; the console has it too.
const logger: ClusterLogger = console;
const etcd = new EtcdElection({ ...options, logger });
const memory = new InMemoryElection({
  nodeId: 'node-2',
  nodeAddress: '127.0.0.1:9091',
  hub: new MemoryHub(),
});
const elections: readonly LeaderElection[] = [etcd, memory];

export function leaderOnly(election: LeaderElection): Promise<number> {
  return election.runWhileLeader(async ({ term, signal }: Leadership) => {
    signal.throwIfAborted();
    return term;
  });
}

export function fencedPut(term: number): Promise<unknown> {
  const txn: GuardedTxn = {
    term,
    success: [{ request_put: { key: Buffer.from('k'), value: Buffer.from('v') } }],
  };
  return etcd.guardedTxn(txn);
}

export function explain(error: unknown): string {
  if (isFencedWriteError(error)) return `fenced at term ${error.term}`;
  if (error instanceof ValidationError) return `bad ${error.field}`;
  return 'other';
}

export async function leaders(): Promise<(Node | undefined)[]> {
  const seen: (Node | undefined)[] = [];
  for await (const leader of memory.leaderChanges({ signal: AbortSignal.timeout(1000) })) seen.push(leader);
  return seen;
}

export const metrics: ClusterMetrics = registerClusterMetrics(etcd, { registry: new Registry() });
export const instruments: ClusterInstruments = registerClusterInstruments(memory);
export const client = new EtcdClusterClient({ endpoints: ['http://127.0.0.1:2379'] });
export const heartbeat: 1000 = DEFAULT_CONFIG.heartbeatInterval;
export const usage: 2 = EXIT.usage;
export const emptyView: ClusterView = new ClusterView();
export const isBase: (election: LeaderElection) => election is BaseElection = (election) =>
  election instanceof EtcdElection || election instanceof InMemoryElection;
export function run(io: CliIO): Promise<number> {
  createProgram(io).name();
  return main(['cluster', 'status'], io);
}

export async function testKit(): Promise<string> {
  let etcd: EtcdHandle | undefined;
  try {
    etcd = await startEtcd({ provider: 'local', extraArgs: ['--quota-backend-bytes', '16777216'] });
    const link: EtcdLink = await cutOffProxy(etcd);
    const clock = new ManualClock();
    const node = new InMemoryElection({
      nodeId: 'n',
      nodeAddress: '127.0.0.1:1',
      clock,
      hub: new MemoryHub({ clock }),
    });
    await node.start();
    const { term } = await waitUntilLeads(node, { timeoutMs: 1000 });
    link.cut();
    await link.close();
    return `${(await waitForLeader([node])).id} ${term} ${etcd.version}`;
  } catch (error) {
    return isNoEtcdError(error) ? error.reason : 'other';
  } finally {
    await etcd?.stop();
  }
}

// The declarations are real types, not `any`: each line below must be an error.
// @ts-expect-error members is a number
startEtcdCluster({ members: '3' });
// @ts-expect-error nodeId is a string
new EtcdElection({ nodeId: 1, nodeAddress: '127.0.0.1:9090' });
// @ts-expect-error term is a number or undefined
export const wrong: string = elections[0]?.term;
// @ts-expect-error runWhileLeader's result has the callback's type
export const notANumber: Promise<string> = leaderOnly(memory);
