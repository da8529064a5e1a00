import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { isValidationError } from '@ztap/cluster';
import type { MultiRegionStatus, MultiRegionStatusOptions } from '@ztap/cluster-multi-region';
import type { Command } from 'commander';
import { connectionSettingsFrom } from '../connection.ts';
import { CliFailure, UsageError } from '../errors.ts';
import type { CliIO } from '../io.ts';
import { createLogger, logFormat, logFormatOption } from '../log.ts';
import type { GlobalOptions } from '../options.ts';
import { parseListen } from './agent.ts';
import { pollRegions, REGION_POLL_INTERVAL_MS } from './dashboard-regions.ts';
import {
  type RegionReadFlags,
  regionReadFrom,
  regionReadOptions,
  regionReadRequested,
} from './region-options.ts';

interface DashboardCommandOptions extends RegionReadFlags {
  readonly listen: string;
  readonly token?: string | true;
}

/** The token from `--token <value>`, or for a bare `--token` from ZTAP_DASHBOARD_TOKEN, else a new random one. */
function tokenFrom(option: string | true | undefined, io: CliIO): string | undefined {
  if (option === undefined) return io.env.ZTAP_DASHBOARD_TOKEN || undefined;
  if (option === true) return io.env.ZTAP_DASHBOARD_TOKEN || randomBytes(24).toString('base64url');
  return option;
}

export function registerDashboardCommand(program: Command, io: CliIO): void {
  logFormatOption(
    regionReadOptions(program.command('dashboard'))
      .description(
        'serve a live, read-only web dashboard of the cluster (leader, members, timeline, policies)',
      )
      .option(
        '--listen <[host:]port>',
        'where to serve it (a bare port listens on 127.0.0.1)',
        '127.0.0.1:8080',
      )
      .option(
        '--token [token]',
        'require this token (at least 16 characters) on every request; bare: ZTAP_DASHBOARD_TOKEN or a random one. Required to listen beyond loopback',
      ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ ztap dashboard                                   http://127.0.0.1:8080/ (this machine only)
  $ ztap --cluster payments dashboard --listen 9000
  $ ztap dashboard --listen 0.0.0.0:8080 --token     prints a link with a fresh random token
  $ ztap --endpoints http://10.0.1.5:2379 --cluster payments dashboard --global-endpoints http://10.0.9.1:2379
                                                     adds the Regions section (multi-region)

It only reads: a read-only etcd role on the cluster's prefix is enough (--user, ZTAP_ETCD_PASSWORD).
Listening on anything but loopback needs a token; open the printed link once (it sets a cookie),
or send "Authorization: Bearer <token>". ZTAP_DASHBOARD_TOKEN sets the token without putting it
on the command line.

With --global-endpoints (or ZTAP_GLOBAL_ENDPOINTS) the page gets a Regions section: every region's
leader and term, whether its etcd answers, its replication lag, and the global leader, read as
\`ztap region status\` reads them, every ${REGION_POLL_INTERVAL_MS / 1000} s (each read bounded by --timeout).`,
    )
    .action(async (local: DashboardCommandOptions, command: Command) => {
      // Loaded here, not at startup: every other command would pay for it.
      const { assertSafeListen, createDashboard, isDashboardExposedError } = await import(
        '@ztap/cluster-dashboard'
      );
      const globals = command.optsWithGlobals<GlobalOptions & { logFormat?: string }>();
      const log = createLogger(io, logFormat(globals), globals.color !== false);
      const listen = parseListen(local.listen);
      const token = tokenFrom(local.token, io);
      try {
        assertSafeListen(listen.host, { token });
      } catch (error) {
        if (isDashboardExposedError(error))
          throw new UsageError(
            `--listen ${local.listen}: listening on ${error.host} would show the cluster to anyone who can reach this machine: add --token (or ZTAP_DASHBOARD_TOKEN) or listen on 127.0.0.1`,
          );
        throw error;
      }
      const settings = connectionSettingsFrom(globals, io);
      const { connection, cluster } = settings;
      const regionRead = regionReadRequested(local, io) ? regionReadFrom(local, io, settings) : undefined;
      const stopRegions = new AbortController();
      const onError = (error: unknown) =>
        log('error', `dashboard: ${(error as Error).message}`, { error: String(error) }, 'red');
      let dashboard: ReturnType<typeof createDashboard>;
      try {
        dashboard = createDashboard({
          connection,
          ...(token ? { token } : {}),
          ...(regionRead
            ? {
                regions: pollRegions(readRegions(regionRead), {
                  signal: stopRegions.signal,
                  onError,
                }),
              }
            : {}),
          onError,
        });
      } catch (error) {
        if (isValidationError(error) && error.field === 'token')
          throw new UsageError(`--token ${error.message.slice('token '.length)}`);
        throw error;
      }
      let server: Server | undefined;
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        const stopListening = io.onShutdown((signal) => {
          stopListening();
          resolve(signal);
        });
      });
      try {
        server = await serve(dashboard.handler, listen);
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : listen.port;
        const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
        const url = `http://${host}:${port}/`;
        // The token is printed only when this command made it up: the operator has no other way to learn it.
        const link =
          token && local.token === true && !io.env.ZTAP_DASHBOARD_TOKEN ? `${url}?token=${token}` : url;
        log('listening', `dashboard of ${cluster} on ${link}`, {
          url: link,
          prefix: dashboard.snapshot().prefix,
        });
        const signal = await stopped;
        log('stopping', `${signal}: closing the dashboard`, { signal });
      } finally {
        stopRegions.abort();
        await dashboard.close();
        await new Promise<void>((resolve) => {
          server?.closeAllConnections();
          if (server) server.close(() => resolve());
          else resolve();
        });
      }
    });
}

/** Reads the regions as `ztap region status` does; the package is loaded only by dashboards that show regions. */
function readRegions(options: MultiRegionStatusOptions): () => Promise<MultiRegionStatus> {
  return async () => (await import('@ztap/cluster-multi-region')).readMultiRegionStatus(options);
}

function serve(
  handler: (
    request: import('node:http').IncomingMessage,
    response: import('node:http').ServerResponse,
  ) => void,
  listen: { host: string; port: number },
): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', (error) =>
      reject(new CliFailure(`cannot serve the dashboard on ${listen.host}:${listen.port}: ${error.message}`)),
    );
    server.listen(listen.port, listen.host, () => resolve(server));
  });
}
