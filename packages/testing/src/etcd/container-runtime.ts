import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ContainerRuntimeClient } from 'testcontainers';
import { type HttpTarget, httpRequest } from './http.ts';
import { monotonicMs, withTimeout } from './timing.ts';

/** How long the Docker API sockets get to answer `GET /_ping`. */
const PING_TIMEOUT_MS = 3_000;
/**
 * How long Testcontainers then gets to set itself up (it asks the engine for its info, and inside a
 * container it looks up the bridge gateway). It never gives up on its own when an engine stalls.
 */
const CLIENT_TIMEOUT_MS = 15_000;

/** What the places Testcontainers looks for a container engine depend on. */
export interface RuntimeLookupContext {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly uid: number;
  readonly platform: NodeJS.Platform;
  readonly exists: (path: string) => boolean;
  readonly readFile: (path: string) => string;
}

const defaultContext = (): RuntimeLookupContext => ({
  env: process.env,
  home: homedir(),
  uid: userInfo().uid,
  platform: process.platform,
  exists: existsSync,
  readFile: (path) => readFileSync(path, 'utf8'),
});

/** `tc.host` and `docker.host` from `~/.testcontainers.properties`, which Testcontainers reads too. */
function testcontainersProperties(context: RuntimeLookupContext): { tcHost?: string; dockerHost?: string } {
  const file = join(context.home, '.testcontainers.properties');
  if (!context.exists(file)) return {};
  const properties: { tcHost?: string; dockerHost?: string } = {};
  for (const line of context.readFile(file).split('\n')) {
    const match = /^\s*(tc\.host|docker\.host)\s*[=:]\s*(\S+)\s*$/.exec(line);
    if (match?.[1] === 'tc.host') properties.tcHost = match[2] as string;
    if (match?.[1] === 'docker.host') properties.dockerHost = match[2] as string;
  }
  return properties;
}

/**
 * The Docker API endpoints Testcontainers (12.x) would try, in its order: `tc.host`; `DOCKER_HOST` (else
 * `docker.host`); `/var/run/docker.sock`; the first rootless socket that exists; the Windows pipe.
 */
export function containerRuntimeCandidates(context: RuntimeLookupContext = defaultContext()): string[] {
  const properties = testcontainersProperties(context);
  const candidates: string[] = [];
  if (properties.tcHost) candidates.push(properties.tcHost);
  const dockerHost = context.env.DOCKER_HOST ?? properties.dockerHost;
  if (dockerHost) candidates.push(dockerHost);
  if (context.platform === 'linux' || context.platform === 'darwin') {
    if (context.exists('/var/run/docker.sock')) candidates.push('unix:///var/run/docker.sock');
    const xdg = context.env.XDG_RUNTIME_DIR;
    const rootless = [
      xdg === undefined ? undefined : join(xdg, 'docker.sock'),
      join(context.home, '.docker', 'run', 'docker.sock'),
      join(context.home, '.docker', 'desktop', 'docker.sock'),
      join('/run', 'user', String(context.uid), 'docker.sock'),
    ].find((path) => path !== undefined && context.exists(path));
    if (rootless) candidates.push(`unix://${rootless}`);
  }
  if (context.platform === 'win32') candidates.push('npipe:////./pipe/docker_engine');
  return candidates;
}

/** Where to send a plain HTTP request for a Docker host URI; `undefined` when we cannot (npipe, ssh). */
function httpTargetOf(uri: string): HttpTarget | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  if (['tcp:', 'http:', 'https:'].includes(url.protocol)) {
    const tls = url.protocol === 'https:';
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || (tls ? 2376 : 2375)) };
  }
  return undefined;
}

/**
 * Whether something speaks HTTP at a Docker host URI within `timeoutMs`: any response counts (a TLS
 * endpoint answers plain HTTP with a 400). The connection is always closed, so an engine that accepts
 * but never answers leaves nothing behind. URIs we cannot probe (npipe, ssh) count as answering, and
 * Testcontainers' own attempt is bounded later.
 */
export async function dockerApiAnswers(uri: string, timeoutMs: number): Promise<boolean> {
  const target = httpTargetOf(uri);
  if (!target) return true;
  try {
    await httpRequest(target, { path: '/_ping', timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/** Whether Testcontainers can use a container engine, and which, or why not. */
export type ContainerRuntimeCheck =
  | {
      readonly available: true;
      readonly description: string;
      /** Where the containers' published ports are reached, e.g. `127.0.0.1` (`TESTCONTAINERS_HOST_OVERRIDE`). */
      readonly host: string;
    }
  | { readonly available: false; readonly reason: string };

/** `Podman Engine` or `Docker Engine` (from the engine's version components), else `container engine`. */
async function engineName(client: ContainerRuntimeClient): Promise<string> {
  try {
    const version = await withTimeout(
      client.container.dockerode.version(),
      PING_TIMEOUT_MS,
      'engine version',
    );
    const name = version.Components?.[0]?.Name;
    if (name === 'Engine') return 'Docker Engine';
    return name || 'container engine';
  } catch {
    return 'container engine';
  }
}

/**
 * {@link checkContainerRuntime} for given candidate endpoints and bounds: `pingTimeoutMs` for their
 * answer to `GET /_ping`, then `clientTimeoutMs` for Testcontainers' own setup (it uses `DOCKER_HOST`
 * and its other settings, not `candidates`).
 */
export async function checkContainerRuntimeAt(
  candidates: readonly string[],
  { pingTimeoutMs = PING_TIMEOUT_MS, clientTimeoutMs = CLIENT_TIMEOUT_MS } = {},
): Promise<ContainerRuntimeCheck> {
  if (candidates.length === 0) {
    return {
      available: false,
      reason: 'no Docker API socket found (DOCKER_HOST unset, no /var/run/docker.sock)',
    };
  }
  const answers = await Promise.all(candidates.map((uri) => dockerApiAnswers(uri, pingTimeoutMs)));
  if (!answers.includes(true)) {
    return {
      available: false,
      reason: `no answer within ${pingTimeoutMs} ms from ${candidates.join(', ')}`,
    };
  }
  // Only now load Testcontainers (it is large), and bound its setup: it has no timeout of its own.
  const started = monotonicMs();
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await withTimeout(getContainerRuntimeClient(), clientTimeoutMs, 'Testcontainers setup');
    const runtime = client.info.containerRuntime;
    return {
      available: true,
      description: `${await engineName(client)} ${runtime.serverVersion} (${runtime.operatingSystem})`,
      host: runtime.host,
    };
  } catch (error) {
    const elapsed = Math.round(monotonicMs() - started);
    return {
      available: false,
      reason: `Testcontainers found no usable engine after ${elapsed} ms: ${error}`,
    };
  }
}

const checks = new Map<string, Promise<ContainerRuntimeCheck>>();

/**
 * Whether a container engine answers, within a few seconds however it misbehaves (a socket that accepts
 * but never answers makes Testcontainers hang). Cached per set of candidate endpoints.
 */
export function checkContainerRuntime(): Promise<ContainerRuntimeCheck> {
  const candidates = containerRuntimeCandidates();
  const key = candidates.join('\n');
  let result = checks.get(key);
  if (!result) {
    result = checkContainerRuntimeAt(candidates);
    checks.set(key, result);
  }
  return result;
}
