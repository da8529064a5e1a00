import type { EtcdElectionOptions } from '@ztap/cluster-etcd';
import { type EtcdHandle, type GrpcProxy, startEtcd, startGrpcProxy } from '@ztap/cluster-testing';
import { confirmEtcdHandle } from '@ztap/testkit';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll } from 'vitest';

export interface SharedEtcd {
  /** Where nodes connect: etcd itself, or the gRPC proxy in front of it. */
  readonly endpoints: string[];
  /** A plain client for the test itself (operator actions, reading what is really in etcd). */
  readonly client: Etcd3;
  readonly handle: EtcdHandle;
  /** The gRPC proxy the nodes go through, when the file asked for one. */
  readonly proxy: GrpcProxy | undefined;
}

/** How the nodes of a test file reach etcd. */
export interface UseEtcdOptions {
  /** `grpc-proxy`: through etcd's gRPC proxy (`etcd grpc-proxy start`); the test's own client stays direct. */
  readonly via?: 'direct' | 'grpc-proxy';
}

let counter = 0;

/** A cluster name no other test in this run uses, so tests sharing one etcd never see each other. */
export function uniqueCluster(label: string): string {
  counter++;
  return `${label}-${process.pid}-${counter}`;
}

/**
 * Starts one etcd for the test file (container, local binary or external, as the testkit decides)
 * and stops it afterwards. With no etcd available this fails with an install hint: never a skip.
 * It prints which etcd the file runs on, and what the engine and etcd itself say about it (a claim
 * that does not hold fails the file).
 */
export function useEtcd(options: UseEtcdOptions = {}): SharedEtcd {
  const shared = {} as {
    endpoints: string[];
    client: Etcd3;
    handle: EtcdHandle;
    proxy: GrpcProxy | undefined;
  };
  beforeAll(async () => {
    const started = performance.now();
    shared.handle = await startEtcd();
    const startMs = Math.round(performance.now() - started);
    shared.client = new Etcd3({ hosts: [...shared.handle.endpoints] });
    shared.proxy = options.via === 'grpc-proxy' ? await startGrpcProxy(shared.handle) : undefined;
    shared.endpoints = [...(shared.proxy ?? shared.handle).endpoints];
    console.info(`[integration] etcd: ${shared.handle.description} (started in ${startMs} ms)`);
    if (shared.proxy)
      console.info(`[integration] nodes connect through etcd's gRPC proxy at ${shared.endpoints.join(', ')}`);
    console.info(`[integration] confirmed: ${await confirmEtcdHandle(shared.handle)}`);
  }, 60_000);
  afterAll(async () => {
    shared.client?.close();
    await shared.proxy?.stop();
    await shared.handle?.stop();
  });
  return shared;
}

/** The lease TTL of test nodes: etcd's minimum that ZTAP accepts, so crashes are noticed fast. */
export const TEST_TTL_SECONDS = 2;

/** A node of `cluster` on the test's etcd with fast timings (heartbeat 200 ms, TTL 2 s, leads at once). */
export function testNodeOptions(
  etcd: Pick<SharedEtcd, 'endpoints'>,
  nodeId: string,
  cluster: string,
): EtcdElectionOptions {
  return {
    nodeId,
    nodeAddress: '127.0.0.1:9090',
    endpoints: etcd.endpoints,
    cluster,
    heartbeatInterval: 200,
    electionTimeout: TEST_TTL_SECONDS * 1000,
    initialLeadership: 0,
  };
}

/**
 * Leaves what a node that crashed a moment ago leaves: its member record (at `address`) and campaign
 * key on a lease of the test TTL that nobody renews. Returns the lease id.
 */
export async function plantCrashedNode(
  client: Etcd3,
  prefix: string,
  nodeId: string,
  address: string,
): Promise<string> {
  const leaseId = String((await client.leaseClient.leaseGrant({ TTL: TEST_TTL_SECONDS })).ID);
  const record = memberRecord({ address, joinedAt: new Date().toISOString(), health: 'healthy' });
  await client.put(`${prefix}members/${nodeId}`).value(record).lease(leaseId).exec();
  await client
    .put(`${prefix}election/${BigInt(leaseId).toString(16)}`)
    .value(nodeId)
    .lease(leaseId)
    .exec();
  return leaseId;
}

/** A member record as a node stores it (the JSON docs/architecture.md describes). */
export function memberRecord(record: {
  address: string;
  joinedAt: string;
  metadata?: Record<string, string>;
  health?: 'healthy' | 'unhealthy';
}): string {
  return JSON.stringify({
    address: record.address,
    metadata: record.metadata ?? {},
    joinedAt: record.joinedAt,
    ...(record.health ? { health: record.health } : {}),
  });
}

/** Waits for `promise`, failing with a clear message after `ms` instead of hanging the run. */
export async function within<T>(promise: Promise<T>, ms = 20_000, what = 'the expected event'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls a condition until it holds, bounded (shared with the testkit). */
export { eventually } from '@ztap/testkit';
