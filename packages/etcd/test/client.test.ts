/**
 * A client is built on first use, and building one checks its TLS material: a key given as the
 * certificate fails there, before any request. It fails as the operation that needed the client, typed like any other
 * etcd failure — never as a raw OpenSSL error.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EtcdClusterClient } from '../src/cluster-client.ts';
import { isEtcdRequestError } from '../src/errors.ts';
import { EtcdElection } from '../src/etcd-election.ts';

// A private key where the certificate belongs: OpenSSL refuses it as the client is built.
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
});
const badTls = { endpoints: ['https://127.0.0.1:1'], tls: { ca: key, cert: key, key } };

describe('TLS material that cannot be loaded', () => {
  it("fails the cluster client's read as that read", async () => {
    const client = new EtcdClusterClient({ ...badTls, requestTimeout: 200 });
    const error = await client.getState().catch((caught: unknown) => caught);
    expect(isEtcdRequestError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^etcd failed to read the cluster: .*PEM routines/);
    await client.close();
  });

  it('fails an operator policy push as the read that begins it', async () => {
    const client = new EtcdClusterClient({ ...badTls, requestTimeout: 200 });
    const error = await client.policies.push('p', 'a: 1\n').catch((caught: unknown) => caught);
    expect(isEtcdRequestError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^etcd failed to read a policy: .*PEM routines/);
  });

  it("fails an election's start, and leaves it stoppable", async () => {
    const election = new EtcdElection({
      ...badTls,
      nodeId: 'node-1',
      nodeAddress: '127.0.0.1:1',
      electionTimeout: 2000,
      heartbeatInterval: 500,
      requestTimeout: 200,
    });
    const error = await election.start().catch((caught: unknown) => caught);
    expect(isEtcdRequestError(error)).toBe(true);
    expect((error as Error).message).toMatch(/PEM routines/);
    await election.stop();
  });
});
