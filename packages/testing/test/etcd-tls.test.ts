import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { targetOfUrl } from '../src/etcd/http.ts';
import { serverTlsArgs } from '../src/etcd/tls.ts';
import { startEtcd } from '../src/index.ts';

// Each test states the environment it needs; the settings of whoever runs the tests must not leak in.
beforeEach(() => {
  vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', '');
  vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const tls = { certFile: '/pki/server.pem', keyFile: '/pki/server-key.pem', caFile: '/pki/ca.pem' };

describe('TLS for a local etcd (used end to end by integration/security)', () => {
  it('serves the certificate; requires client certificates only when asked', () => {
    expect(serverTlsArgs(undefined)).toEqual([]);
    expect(serverTlsArgs(tls)).toEqual([
      '--cert-file',
      '/pki/server.pem',
      '--key-file',
      '/pki/server-key.pem',
    ]);
    // etcd turns client-certificate auth on whenever it is given a trusted CA.
    expect(
      serverTlsArgs({ ...tls, clientCert: { certFile: '/pki/client.pem', keyFile: '/pki/client-key.pem' } }),
    ).toEqual([
      ...['--cert-file', '/pki/server.pem', '--key-file', '/pki/server-key.pem'],
      ...['--client-cert-auth', '--trusted-ca-file', '/pki/ca.pem'],
    ]);
  });

  it('is refused by every provider but local, rather than quietly testing plaintext', async () => {
    await expect(startEtcd({ provider: 'container', tls })).rejects.toThrow(
      "tls is supported for local etcd processes only: start this etcd with provider 'local'",
    );
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', 'https://127.0.0.1:2379');
    await expect(startEtcd({ tls })).rejects.toThrow('tls is supported for local etcd processes only');
  });

  it("the launcher's own requests go over TLS to https:// URLs, and need to know what to trust", () => {
    const ca = Buffer.from('ca');
    expect(targetOfUrl('http://127.0.0.1:2379')).toEqual({ host: '127.0.0.1', port: 2379 });
    expect(targetOfUrl('https://127.0.0.1:2379', { ca })).toEqual({
      host: '127.0.0.1',
      port: 2379,
      tls: { ca },
    });
    expect(() => targetOfUrl('https://127.0.0.1:2379')).toThrow('https://127.0.0.1:2379 speaks TLS');
  });
});
