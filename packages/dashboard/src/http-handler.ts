import type { IncomingMessage, ServerResponse } from 'node:http';
import { isValidationError, validatePolicyName } from '@ztap/cluster';
import type { ClusterSource } from './etcd-source.ts';
import { lineDiff } from './line-diff.ts';
import type { SseHub } from './sse-hub.ts';
import type { StaticFile } from './static-files.ts';
import type { TokenGate } from './token-gate.ts';
import type { WirePolicyDiff, WirePolicyDocument, WirePolicyVersion } from './wire.ts';

/** How many versions of a policy the page can pick from (each is one read of etcd's history). */
export const MAX_POLICY_VERSIONS = 50;

/**
 * The page may load nothing from anywhere but this server, run no inline script, and talk to no
 * other origin; nobody may frame it.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface HandlerParts {
  readonly basePath: string;
  readonly gate: TokenGate;
  readonly hub: SseHub;
  readonly files: ReadonlyMap<string, StaticFile>;
  readonly source: ClusterSource;
  /** The snapshot a new tab starts from, as JSON text. */
  readonly snapshot: () => string;
  readonly signal: AbortSignal;
}

/** A client mistake, answered with 400 and a message naming the parameter. */
class BadRequest extends Error {}

function send(
  response: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': contentType,
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(response.req?.method === 'HEAD' ? undefined : body);
}

const sendJson = (response: ServerResponse, status: number, value: unknown) =>
  send(response, status, `${JSON.stringify(value)}\n`, 'application/json; charset=utf-8');

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function deniedPage(reason: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="color-scheme" content="light dark">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>ZTAP dashboard: token needed</title></head>
<body><main><h1>This dashboard needs its token</h1>
<p>${escapeHtml(reason)}. Open the link that <code>ztap dashboard</code> printed (it ends in
<code>?token=…</code>), or send <code>Authorization: Bearer &lt;token&gt;</code>.</p></main></body></html>
`;
}

function positiveInteger(url: URL, name: string): number {
  const text = url.searchParams.get(name);
  const value = Number(text);
  if (text === null || !/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1)
    throw new BadRequest(
      `${name} must be a policy version (a positive whole number; got ${JSON.stringify(text)})`,
    );
  return value;
}

/** Routes one request; everything it serves is read-only. */
export function createRequestHandler(
  parts: HandlerParts,
): (request: IncomingMessage, response: ServerResponse) => void {
  const { basePath, gate, hub, files, source } = parts;
  return (request, response) => {
    void route(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof BadRequest || error instanceof URIError || isValidationError(error))
        sendJson(response, 400, { error: (error as Error).message });
      else sendJson(response, 502, { error: `etcd could not answer: ${(error as Error).message}` });
    });
  };

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    if (url.pathname === basePath.slice(0, -1)) {
      send(response, 308, '', 'text/plain', { location: `${basePath}${url.search}` });
      return;
    }
    if (!url.pathname.startsWith(basePath)) {
      sendJson(response, 404, { error: `not found: the dashboard is at ${basePath}` });
      return;
    }
    const decision = gate.check(request, url);
    if (decision.kind === 'deny') {
      send(response, 401, deniedPage(decision.reason), 'text/html; charset=utf-8', {
        'www-authenticate': 'Bearer realm="ztap-dashboard"',
      });
      return;
    }
    if (decision.kind === 'redirect') {
      send(response, 303, '', 'text/plain', { location: decision.location, 'set-cookie': decision.cookie });
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, 405, 'the dashboard is read-only: GET only\n', 'text/plain; charset=utf-8', {
        allow: 'GET, HEAD',
      });
      return;
    }
    const path = url.pathname.slice(basePath.length);
    if (path === '' || path === 'index.html') {
      const page = files.get('index.html');
      if (page) send(response, 200, page.body, page.contentType);
      else sendJson(response, 500, { error: 'the page is missing from the package (web/index.html)' });
      return;
    }
    if (path === 'events') {
      response.setHeaders(new Map(Object.entries(SECURITY_HEADERS)));
      hub.attach(response, parts.snapshot());
      return;
    }
    if (path === 'api/snapshot') {
      send(response, 200, parts.snapshot(), 'application/json; charset=utf-8');
      return;
    }
    const asset = /^assets\/([\w-]+\.[a-z]+)$/.exec(path)?.[1];
    if (asset) {
      const file = asset !== 'index.html' ? files.get(asset) : undefined;
      if (file) send(response, 200, file.body, file.contentType, { 'cache-control': 'no-cache' });
      else sendJson(response, 404, { error: `no such file: ${asset}` });
      return;
    }
    const policy = /^api\/policies\/([^/]+)(\/versions|\/diff)?$/.exec(path);
    if (policy) {
      const name = validatePolicyName(decodeURIComponent(policy[1] as string));
      if (policy[2] === '/versions') return sendJson(response, 200, await versions(name));
      if (policy[2] === '/diff') return sendJson(response, 200, await diff(name, url));
      return sendJson(response, 200, await document(name, url));
    }
    sendJson(response, 404, { error: `not found: ${path}` });
  }

  async function versions(name: string): Promise<WirePolicyVersion[]> {
    const found = await source.policyVersions(name, MAX_POLICY_VERSIONS, parts.signal);
    return found.map((policy) => ({
      version: policy.version,
      updatedBy: policy.updatedBy,
      updatedAt: policy.updatedAt.toISOString(),
    }));
  }

  async function at(name: string, version: number) {
    const policy = await source.policyAt(name, version, parts.signal);
    if (!policy)
      throw new BadRequest(
        `policy ${JSON.stringify(name)} has no version ${version} in etcd's history (it never existed or was compacted away)`,
      );
    return policy;
  }

  async function document(name: string, url: URL): Promise<WirePolicyDocument> {
    const policy = url.searchParams.has('version')
      ? await at(name, positiveInteger(url, 'version'))
      : (await source.policyVersions(name, 1, parts.signal))[0];
    if (!policy) throw new BadRequest(`there is no policy ${JSON.stringify(name)}`);
    return {
      name,
      version: policy.version,
      updatedBy: policy.updatedBy,
      updatedAt: policy.updatedAt.toISOString(),
      document: policy.document,
    };
  }

  async function diff(name: string, url: URL): Promise<WirePolicyDiff> {
    const from = positiveInteger(url, 'from');
    const to = positiveInteger(url, 'to');
    const [older, newer] = await Promise.all([at(name, from), at(name, to)]);
    const { lines, truncated } = lineDiff(older.document, newer.document);
    return { name, from, to, lines, truncated };
  }
}
