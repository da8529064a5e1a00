import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, systemClock, ValidationError } from '@ztap/cluster';
import { describeValue } from '@ztap/cluster/backend';
import { EtcdClusterClient, type EtcdClusterClientOptions } from '@ztap/cluster-etcd';
import { type ClusterSource, EtcdSource } from './etcd-source.ts';
import { createRequestHandler } from './http-handler.ts';
import { LiveFeed } from './live-feed.ts';
import { DashboardModel } from './model.ts';
import { SseHub, type SseStats } from './sse-hub.ts';
import { loadStaticFiles } from './static-files.ts';
import { TokenGate } from './token-gate.ts';
import type { WireRegions, WireSnapshot } from './wire.ts';

export interface DashboardOptions {
  /**
   * A client to read the cluster with (the dashboard never closes it). Give this or `connection`.
   * A read-only etcd role on the cluster's prefix is enough: the dashboard never writes.
   */
  readonly client?: EtcdClusterClient;
  /** How to reach etcd (endpoints, TLS, user, cluster or prefix); the dashboard opens and closes its client. */
  readonly connection?: EtcdClusterClientOptions;
  /**
   * Required on every request when set: `Authorization: Bearer <token>`, or the session cookie a
   * one-time `?token=<token>` link sets. At least 16 characters. It is never sent to the page.
   */
  readonly token?: string;
  /** Where the dashboard is mounted in your server, e.g. `/dashboard/`. Default `/`. */
  readonly basePath?: string;
  /** How often to check that etcd answers (an outage is shown within this plus the request timeout). Default 1000 ms. */
  readonly probeIntervalMs?: number;
  /** How often `lastSeen` is read from the members' leases (one request per member); 0 turns it off. Default 5000 ms. */
  readonly lastSeenIntervalMs?: number;
  /** How many unsent bytes a tab may fall behind before it is disconnected (it reconnects and resyncs). Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /**
   * Multi-region deployments: each value is shown as the page's Regions section (regions, their
   * leaders, replication lag, the global leader). Without it the section does not appear.
   */
  readonly regions?: AsyncIterable<WireRegions>;
  /** Hears of failures the page cannot show (a watch that had to restart); for your logs. */
  readonly onError?: (error: unknown) => void;
  readonly clock?: Clock;
}

/** A running dashboard: mount `handler` in any Node HTTP server; `close()` stops it. */
export interface Dashboard extends AsyncDisposable {
  /** Serves the page, its event stream and its API under `basePath`; 404 elsewhere. Never writes to etcd. */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
  /** The picture every new tab starts from. */
  snapshot(): WireSnapshot;
  /** Open tabs and what they were sent. */
  readonly stats: SseStats;
  /** Ends every tab's stream, stops following etcd and closes the client it opened. */
  close(): Promise<void>;
}

const MIN_TOKEN_LENGTH = 16;

function checkedInterval(field: string, value: number, allowZero: boolean): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1))
    throw new ValidationError(
      field,
      `must be a whole number of milliseconds${allowZero ? ', 0 or more' : ' above 0'} (got ${describeValue(value)})`,
    );
  return value;
}

function checkedToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw new ValidationError(
      'token',
      `must be at least ${MIN_TOKEN_LENGTH} characters without spaces (a random one: openssl rand -hex 16)`,
    );
  return token;
}

function checkedBasePath(basePath: string): string {
  if (typeof basePath !== 'string' || !basePath.startsWith('/') || /[?#\s]/.test(basePath))
    throw new ValidationError(
      'basePath',
      `must be a URL path starting with "/" (got ${describeValue(basePath)})`,
    );
  return basePath.endsWith('/') ? basePath : `${basePath}/`;
}

/**
 * Starts a live dashboard of one cluster: it begins following etcd at once (one watch, however many
 * tabs are open) and serves the page through `handler`.
 *
 * ```ts
 * const dashboard = createDashboard({ connection: { endpoints: ['http://127.0.0.1:2379'], cluster: 'payments' } });
 * http.createServer(dashboard.handler).listen(8080, '127.0.0.1');
 * ```
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  if ((options.client === undefined) === (options.connection === undefined))
    throw new ValidationError('client', 'or connection must be given, not both and not neither');
  const requestTimeout = options.connection?.requestTimeout ?? 5000;
  const owned = options.client
    ? undefined
    : new EtcdClusterClient({ watchBufferSize: 100_000, ...options.connection });
  const client = (options.client ?? owned) as EtcdClusterClient;
  const dashboard = createDashboardOn(new EtcdSource(client, requestTimeout), options);
  return {
    handler: dashboard.handler,
    snapshot: dashboard.snapshot,
    get stats() {
      return dashboard.stats;
    },
    close: async () => {
      await dashboard.close();
      await owned?.close();
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

/** The dashboard on any {@link ClusterSource} (tests give a scripted one). */
export function createDashboardOn(
  source: ClusterSource,
  options: Omit<DashboardOptions, 'client' | 'connection'>,
): Dashboard {
  const token = checkedToken(options.token);
  const basePath = checkedBasePath(options.basePath ?? '/');
  const clock = options.clock ?? systemClock;
  const hub = new SseHub({
    maxBufferedBytes: checkedInterval('maxBufferedBytes', options.maxBufferedBytes ?? 1024 * 1024, false),
    heartbeatMs: 15_000,
    clock,
  });
  let snapshotText: string | undefined;
  const model = new DashboardModel(
    source.keys.prefix,
    (delta) => {
      snapshotText = undefined;
      hub.broadcast(JSON.stringify(delta));
    },
    () => clock.wallNow().getTime(),
  );
  const feed = new LiveFeed(source, model, {
    probeIntervalMs: checkedInterval('probeIntervalMs', options.probeIntervalMs ?? 1000, false),
    lastSeenIntervalMs: checkedInterval('lastSeenIntervalMs', options.lastSeenIntervalMs ?? 5000, true),
    retryDelayMs: 1000,
    clock,
    regions: options.regions,
    onError: options.onError,
  });
  const closing = new AbortController();
  const handler = createRequestHandler({
    basePath,
    gate: new TokenGate(token, basePath),
    hub,
    files: loadStaticFiles(),
    source,
    snapshot: () => {
      snapshotText ??= JSON.stringify(model.snapshot());
      return snapshotText;
    },
    signal: closing.signal,
  });
  feed.start();
  let closed: Promise<void> | undefined;
  return {
    handler,
    snapshot: () => model.snapshot(),
    get stats() {
      return hub.stats;
    },
    close: () => {
      closed ??= (async () => {
        closing.abort(new Error('the dashboard is closing'));
        hub.close();
        await feed.close();
      })();
      return closed;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
