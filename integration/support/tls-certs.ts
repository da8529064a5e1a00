import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key: paths (for etcd and `ztap --cert/--key`) and PEM contents (for the library). */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

/** Throwaway PKI for one test file, in a temp dir that {@link TestPki.remove} deletes. */
export interface TestPki {
  readonly dir: string;
  /** The CA that signs the server and the client certificates. */
  readonly ca: CertFiles;
  /** For 127.0.0.1 and localhost, usable as server and client (etcd's gateway dials itself with it). */
  readonly server: CertFiles;
  /** Client certificate with CN `alpha`, signed by {@link ca}. */
  readonly client: CertFiles;
  /** A second CA that signed nothing etcd knows: trusting it must fail the handshake. */
  readonly otherCa: CertFiles;
  /** A client certificate signed by {@link otherCa}: etcd must refuse it. */
  readonly strangerClient: CertFiles;
  remove(): Promise<void>;
}

const INSTALL_HINT = 'openssl is needed by the TLS tests: apt-get install openssl (or put openssl on PATH)';

async function openssl(...args: string[]): Promise<void> {
  try {
    await run('openssl', args, { env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(INSTALL_HINT);
    throw error;
  }
}

async function files(certFile: string, keyFile: string): Promise<CertFiles> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { certFile, keyFile, cert, key };
}

// P-256 keys: generated in milliseconds (RSA takes long enough to notice), and etcd and gRPC take them.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];

async function selfSignedCa(dir: string, name: string): Promise<CertFiles> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  await openssl(
    'req',
    '-x509',
    ...NEW_KEY,
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  );
  return files(certFile, keyFile);
}

async function signedBy(
  ca: CertFiles,
  dir: string,
  name: string,
  extensions: readonly string[],
): Promise<CertFiles> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  // OpenSSL 3: `req -x509 -CA` makes the key and the CA-signed certificate in one step.
  await openssl(
    'req',
    '-x509',
    ...NEW_KEY,
    '-subj',
    `/CN=${name}`,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    ...extensions.flatMap((extension) => ['-addext', extension]),
    '-keyout',
    keyFile,
    '-out',
    certFile,
  );
  return files(certFile, keyFile);
}

const LEAF = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];

/** Generates a CA, a server certificate for loopback, client certificates and a CA nobody trusts. */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'ztap-pki-'));
  try {
    const [ca, otherCa] = await Promise.all([
      selfSignedCa(dir, 'ztap-test-ca'),
      selfSignedCa(dir, 'other-ca'),
    ]);
    const [server, client, strangerClient] = await Promise.all([
      signedBy(ca, dir, 'etcd-server', [
        ...LEAF,
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        'extendedKeyUsage=serverAuth,clientAuth',
      ]),
      signedBy(ca, dir, 'alpha', [...LEAF, 'extendedKeyUsage=clientAuth']),
      signedBy(otherCa, dir, 'stranger', [...LEAF, 'extendedKeyUsage=clientAuth']),
    ]);
    return {
      dir,
      ca,
      server,
      client,
      otherCa,
      strangerClient,
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The base64 body of a PEM block (what must never leak), without its armour lines. */
export function pemBody(pem: string): string {
  return pem
    .split('\n')
    .filter((line) => line && !line.startsWith('-----'))
    .join('');
}
