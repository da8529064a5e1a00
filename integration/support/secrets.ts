import { pemBody } from './tls-certs.ts';

/** A secret and every form in which it could show up in printed text. */
export interface Secret {
  readonly name: string;
  readonly forms: readonly string[];
}

/** Node prints a Buffer as `<Buffer 70 77 2d ...>`: the first bytes, in spaced hex. */
const inspectedBytes = (text: string) =>
  Buffer.from(text.slice(0, 16))
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');

/** A password: as is, in base64 and hex, and as an inspected Buffer would show it. */
export function passwordSecret(name: string, password: string): Secret {
  const bytes = Buffer.from(password);
  return {
    name,
    forms: [password, bytes.toString('base64'), bytes.toString('hex'), inspectedBytes(password)],
  };
}

/**
 * A private key in PEM: its whole body, each of its lines (a partial leak counts) and the DER bytes in
 * hex. (An inspected Buffer of the file shows 50 bytes: the header and the start of the algorithm
 * identifier, which every P-256 key shares; nothing secret.)
 */
export function privateKeySecret(name: string, pem: string): Secret {
  const body = pemBody(pem);
  const lines = pem.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----'));
  return { name, forms: [body, ...lines, Buffer.from(body, 'base64').toString('hex')] };
}

/** The names of the secrets that appear in `text`, in any of their forms. */
export function leakedSecrets(text: string, secrets: readonly Secret[]): string[] {
  return secrets
    .filter((secret) => secret.forms.some((form) => text.includes(form)))
    .map((secret) => secret.name);
}
