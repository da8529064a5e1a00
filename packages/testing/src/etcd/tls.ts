import { readFileSync } from 'node:fs';
import type { EtcdServerTls } from './types.ts';

/** What the launcher's own requests (health, status, version) need to reach a TLS client port. */
export interface ProbeTls {
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/**
 * etcd's flags for serving clients over TLS. `--trusted-ca-file` only with client-certificate auth:
 * etcd turns that auth on whenever a trusted CA is given, whatever `--client-cert-auth` says.
 */
export function serverTlsArgs(tls: EtcdServerTls | undefined): string[] {
  if (!tls) return [];
  const args = ['--cert-file', tls.certFile, '--key-file', tls.keyFile];
  if (tls.clientCert) args.push('--client-cert-auth', '--trusted-ca-file', tls.caFile);
  return args;
}

/** The PEM contents the probes present, read once (the files must exist when etcd starts anyway). */
export function probeTlsOf(tls: EtcdServerTls | undefined): ProbeTls | undefined {
  if (!tls) return undefined;
  const ca = readFileSync(tls.caFile);
  if (!tls.clientCert) return { ca };
  return { ca, cert: readFileSync(tls.clientCert.certFile), key: readFileSync(tls.clientCert.keyFile) };
}
