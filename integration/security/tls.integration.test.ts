/**
 * etcd serving clients over TLS only, with client-certificate authentication: the right CA and
 * certificate work for a node and for `ztap`; every mismatch fails at once with one clear error.
 * (A TLS client against a plaintext etcd: integration/cli/errors.integration.test.ts.)
 */
import { EtcdElection, type EtcdElectionOptions, isEtcdUnavailableError } from '@ztap/cluster-etcd';
import type { EtcdHandle } from '@ztap/cluster-testing';
import { waitUntilLeads } from '@ztap/cluster-testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniqueCluster, within } from '../support/etcd.ts';
import { expectOneLine } from '../support/expect-ztap.ts';
import { startTlsEtcd } from '../support/special-etcd.ts';
import { createTestPki, type TestPki } from '../support/tls-certs.ts';
import { ztap } from '../support/ztap.ts';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
}, 30_000);
afterAll(async () => {
  await pki?.remove();
});

const elections: EtcdElection[] = [];
afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.stop()));
});

function node(nodeId: string, options: Partial<EtcdElectionOptions>): EtcdElection {
  const election = new EtcdElection({
    nodeId,
    nodeAddress: '127.0.0.1:9090',
    heartbeatInterval: 200,
    electionTimeout: 2000,
    initialLeadership: 0,
    maxRetries: 0,
    ...options,
  });
  elections.push(election);
  return election;
}

/** The error a node with these connection options fails to start with. */
async function startFailure(options: Partial<EtcdElectionOptions>): Promise<Error> {
  const error = await within(
    node('n1', { cluster: uniqueCluster('tls'), ...options })
      .start()
      .then(() => new Error('the node started')),
    10_000,
    'the start to fail',
  ).catch((caught: Error) => caught);
  return error;
}

const TLS_HINT = ' — does the endpoint speak TLS (https://), and does the CA you gave match its certificate?';

describe('an etcd that requires client certificates', () => {
  let etcd: EtcdHandle;
  const endpoint = () => etcd.endpoints[0] as string;
  beforeAll(async () => {
    etcd = await startTlsEtcd(pki, { clientCertAuth: true });
    console.info(`[security] ${etcd.description}`);
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('speaks only TLS on an https:// endpoint', () => {
    expect(etcd.endpoints).toEqual([expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/)]);
    expect(etcd.description).toMatch(/over TLS with client certificates$/);
  });

  it('a node with the CA and a client certificate is elected, and its fenced writes commit', async () => {
    const election = node('n1', {
      endpoints: [endpoint()],
      cluster: uniqueCluster('tls'),
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
    });
    await election.start();
    const { term } = await waitUntilLeads(election);
    const key = Buffer.from(`${election.prefix}jobs/last-run`);
    const response = await election.guardedTxn({
      term,
      success: [{ request_put: { key, value: Buffer.from(`term ${term}`) } }],
    });
    expect(response.succeeded).toBe(true);
  }, 60_000);

  it('ztap with --cacert, --cert and --key joins, lists, and reports the leader', async () => {
    const cluster = uniqueCluster('tls-cli');
    const leader = node('leader-1', {
      endpoints: [endpoint()],
      cluster,
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
    });
    await leader.start();
    const { term } = await waitUntilLeads(leader);
    // host:port: https:// is assumed because a CA is given.
    const flags = [
      ...['--endpoints', endpoint().replace('https://', '')],
      ...['--cluster', cluster],
      ...['--cacert', pki.ca.certFile, '--cert', pki.client.certFile, '--key', pki.client.keyFile],
    ];

    const join = await ztap([...flags, 'cluster', 'join', 'n2', '10.0.0.2:9090', '--meta', 'zone=eu-1']);
    expect(join).toEqual({
      code: 0,
      stdout: `node n2 joined cluster ${cluster} at 10.0.0.2:9090\n`,
      stderr: '',
    });

    const status = await ztap([...flags, 'cluster', 'status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`leader   leader-1 (term ${term}, 127.0.0.1:9090)`);
    expect(status.stdout).toContain('nodes    2 (1 healthy, 0 unhealthy, 1 unknown)');

    const list = await ztap([...flags, 'cluster', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({
      leader: 'leader-1',
      term,
      nodes: [
        { id: 'leader-1', state: 'healthy', role: 'leader' },
        { id: 'n2', address: '10.0.0.2:9090', state: 'unknown', metadata: { zone: 'eu-1' } },
      ],
    });
  }, 60_000);

  it('a CA that did not sign the server certificate fails the handshake, and says to check the CA', async () => {
    const error = await startFailure({
      endpoints: [endpoint()],
      tls: { ca: pki.otherCa.cert, cert: pki.client.cert, key: pki.client.key },
    });
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect(error.message).toMatch(
      /^etcd at https:\/\/127\.0\.0\.1:\d+ is unreachable \(TLS handshake failed: unable to verify the first certificate/,
    );
    expect(error.message.endsWith(TLS_HINT)).toBe(true);

    const cli = await ztap([
      ...['--endpoints', endpoint(), '--timeout', '2s'],
      ...['--cacert', pki.otherCa.certFile, '--cert', pki.client.certFile, '--key', pki.client.keyFile],
      ...['cluster', 'list'],
    ]);
    expectOneLine(
      cli,
      1,
      /^ztap: etcd at https:\/\/127\.0\.0\.1:\d+ is unreachable \(TLS handshake failed: /,
    );
    expect(cli.stderr.endsWith(`${TLS_HINT}\n`)).toBe(true);
  }, 60_000);

  it('without a client certificate, etcd refuses the handshake', async () => {
    const error = await startFailure({ endpoints: [endpoint()], tls: { ca: pki.ca.cert } });
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect(error.message).toMatch(/\(TLS handshake failed: .*alert (bad certificate|certificate required)/);
    expect(error.message).toMatch(
      /— etcd rejected the client certificate: give a certificate and key \(--cert\/--key\) signed by a CA it trusts$/,
    );

    const cli = await ztap([
      ...['--endpoints', endpoint(), '--timeout', '2s', '--cacert', pki.ca.certFile],
      ...['cluster', 'status'],
    ]);
    expectOneLine(cli, 1, /\(TLS handshake failed: .*alert (bad certificate|certificate required)/);
  }, 60_000);

  it('a client certificate from a CA etcd does not trust is refused', async () => {
    const error = await startFailure({
      endpoints: [endpoint()],
      tls: { ca: pki.ca.cert, cert: pki.strangerClient.cert, key: pki.strangerClient.key },
    });
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect(error.message).toMatch(/\(TLS handshake failed: .*alert (bad certificate|unknown ca)/);

    const cli = await ztap([
      ...['--endpoints', endpoint(), '--timeout', '2s', '--cacert', pki.ca.certFile],
      ...['--cert', pki.strangerClient.certFile, '--key', pki.strangerClient.keyFile],
      ...['cluster', 'join', 'n1', '10.0.0.1:1'],
    ]);
    expectOneLine(cli, 1, /\(TLS handshake failed: .*alert (bad certificate|unknown ca)/);
  }, 60_000);

  it('plaintext (http://) to the TLS port fails at once, naming the endpoint', async () => {
    const plaintext = endpoint().replace('https://', 'http://');
    const error = await startFailure({ endpoints: [plaintext] });
    expect(isEtcdUnavailableError(error)).toBe(true);
    // grpc-js only says "Failed to connect (<time>)": the message explains it and points at TLS.
    expect(error.message).toMatch(
      /^etcd at http:\/\/127\.0\.0\.1:\d+ is unreachable \(the server closed the connection during the handshake\) — is it a TLS port\? then use https:\/\/ endpoints and the CA \(--cacert\)$/,
    );

    const cli = await ztap(['--endpoints', plaintext, '--timeout', '2s', 'cluster', 'list']);
    expectOneLine(cli, 1, /^ztap: etcd at http:\/\/127\.0\.0\.1:\d+ is unreachable \(/);
  }, 60_000);
});

describe('an etcd with server TLS only', () => {
  let etcd: EtcdHandle;
  beforeAll(async () => {
    etcd = await startTlsEtcd(pki, { clientCertAuth: false });
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('needs only the CA: --cacert alone turns on TLS, and host:port becomes https://', async () => {
    const cluster = uniqueCluster('tls-ca-only');
    const election = node('n1', { endpoints: [...etcd.endpoints], cluster, tls: { ca: pki.ca.cert } });
    await election.start();
    await waitUntilLeads(election);
    const status = await ztap([
      ...['--endpoints', (etcd.endpoints[0] as string).replace('https://', '')],
      ...['--cacert', pki.ca.certFile, '--cluster', cluster, '--json'],
      ...['cluster', 'status'],
    ]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ cluster, leader: { id: 'n1' } });
  }, 60_000);
});
