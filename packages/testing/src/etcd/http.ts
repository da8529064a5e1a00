import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ProbeTls } from './tls.ts';

/** Where a request goes: a host and port (over TLS when `tls` is given), or a unix socket. */
export type HttpTarget =
  | { readonly host: string; readonly port: number; readonly tls?: ProbeTls }
  | { readonly socketPath: string };

/** A response's status and whole body. */
export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

/** The host and port of an `http(s)://host:port` URL; an `https://` URL needs `tls` (what to trust). */
export function targetOfUrl(url: string, tls?: ProbeTls): HttpTarget {
  const { hostname, port, protocol } = new URL(url);
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  if (protocol !== 'https:') return { host, port: Number(port || 80) };
  if (!tls) throw new Error(`${url} speaks TLS: say which CA to trust`);
  return { host, port: Number(port || 443), tls };
}

/**
 * One request on a fresh connection, bounded by `timeoutMs` from start to the end of the body. No
 * keep-alive agent: a pooled idle socket would keep the process alive, and a paused etcd must not leave
 * a half-used connection behind for the next request.
 */
export function httpRequest(
  target: HttpTarget,
  options: {
    readonly method?: string;
    readonly path: string;
    readonly body?: string;
    readonly timeoutMs: number;
  },
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close' };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(options.body));
    }
    const where = 'socketPath' in target ? target : { host: target.host, port: target.port };
    const tls = 'socketPath' in target ? undefined : target.tls;
    const req = (tls ? httpsRequest : request)({
      ...where,
      ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
      method: options.method ?? 'GET',
      path: options.path,
      headers,
      agent: false,
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer to ${options.path} within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', () => {}); // the request's 'error' reports it
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(options.body);
  });
}
