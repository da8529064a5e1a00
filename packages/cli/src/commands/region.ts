import {
  type MultiRegionStatus,
  type RegionAddress,
  readMultiRegionStatus,
} from '@ztap/cluster-multi-region';
import type { Command } from 'commander';
import { connectionSettingsFrom } from '../connection.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { table } from '../format.ts';
import { type CliIO, painter, writeLine } from '../io.ts';
import { collect, type GlobalOptions } from '../options.ts';
import { outputFormat, outputTo } from '../output.ts';

interface RegionStatusOptions extends GlobalOptions {
  readonly globalEndpoints?: string;
  readonly globalPrefix?: string;
  readonly region: string[];
}

/** `--region NAME=URL[,URL]` → a region to read besides the directory's. */
export function parseRegionAddress(text: string): RegionAddress {
  const separator = text.indexOf('=');
  const name = text.slice(0, separator);
  const endpoints = text
    .slice(separator + 1)
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter(Boolean);
  if (separator <= 0 || endpoints.length === 0)
    throw new UsageError(
      `--region must be NAME=URL[,URL...], e.g. eu=http://10.0.1.5:2379 (got ${JSON.stringify(text)})`,
    );
  return { name, endpoints };
}

/** `--global-endpoints` or ZTAP_GLOBAL_ENDPOINTS, as etcd URLs (`host:port` gets a scheme). */
export function globalEndpointsFrom(
  options: { globalEndpoints?: string },
  io: CliIO,
  tls: boolean,
): string[] {
  const text = options.globalEndpoints ?? io.env.ZTAP_GLOBAL_ENDPOINTS;
  const endpoints = (text ?? '')
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter(Boolean)
    .map((endpoint) =>
      /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `${tls ? 'https' : 'http'}://${endpoint}`,
    );
  if (endpoints.length === 0)
    throw new UsageError('--global-endpoints (or ZTAP_GLOBAL_ENDPOINTS) must name the global etcd');
  return endpoints;
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);

/** The human table of `ztap region status`. */
export function regionStatusLines(
  status: MultiRegionStatus,
  colour: (style: 'red' | 'bold', text: string) => string,
) {
  const global = status.global;
  const leader = global.leader
    ? `${colour('bold', global.leader.region)} (${global.leader.node}, global term ${global.leader.term})`
    : global.reachable
      ? colour('red', 'none')
      : colour('red', `unknown: ${global.error}`);
  const head = [
    `global leader  ${leader}`,
    global.reachable
      ? `global store   ${global.endpoints.join(',')}: revision ${global.revision}, ${global.policies} ${global.policies === 1 ? 'policy' : 'policies'}`
      : `global store   ${global.endpoints.join(',')}: ${colour('red', 'unreachable')}`,
    '',
  ];
  const rows = status.regions.map((region) => {
    const replication = region.replication;
    return [
      region.name,
      region.reachable ? 'yes' : colour('red', 'no'),
      region.leader?.nodeId ?? '-',
      region.leader ? String(region.leader.term) : '-',
      region.nodes === undefined ? '-' : `${region.healthyNodes}/${region.nodes}`,
      seconds(replication?.lagMs),
      replication ? `${replication.globalRevision}${replication.resyncing ? ' (resyncing)' : ''}` : '-',
      replication ? String(replication.policies) : '-',
      region.reachable ? '' : (region.error ?? ''),
    ];
  });
  return [
    ...head,
    ...table([
      ['REGION', 'REACHABLE', 'LEADER', 'TERM', 'HEALTHY', 'LAG', 'REPLICATED TO', 'POLICIES', ''],
      ...rows,
    ]),
  ];
}

export function registerRegionCommands(program: Command, io: CliIO): void {
  const region = program
    .command('region')
    .description('inspect a multi-region cluster: regional leaders, the global leader, replication')
    .addHelpText(
      'after',
      `
Examples:
  $ ztap region status --global-endpoints http://10.0.9.1:2379
  $ ztap region status --global-endpoints http://10.0.9.1:2379 --region eu=http://10.0.1.5:2379 --json`,
    );

  region
    .command('status')
    .description(
      'every region: its leader and term, whether its etcd answers, its replication lag; and the global leader',
    )
    .option('--global-endpoints <urls>', 'the global etcd, comma-separated (env: ZTAP_GLOBAL_ENDPOINTS)')
    .option('--global-prefix <prefix>', 'the global cluster prefix (default /ztap/global/<cluster>/)')
    .option(
      '--region <name=urls>',
      "a region's etcd, besides those the global store lists (repeatable; wins over the listed one)",
      collect,
      [],
    )
    .addHelpText(
      'after',
      `
Regions come from the directory in the global store (each regional leader registers its region and
the endpoints its nodes use) and from --region. TLS, --user and --timeout apply to every etcd.
Exits 1 when the global store or any region cannot be read (after printing what could).`,
    )
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<RegionStatusOptions>();
      if (options.prefix !== undefined)
        throw new UsageError('--prefix does not apply to region status: use --cluster or --global-prefix');
      const output = outputTo(io, outputFormat(options));
      const { connection } = connectionSettingsFrom(options, io);
      const regions = options.region.map(parseRegionAddress);
      // --timeout bounds the whole command: half for the global store, half for the regions (read
      // at once), one attempt each.
      const phaseMs = Math.max(50, Math.floor((connection.requestTimeout ?? 5000) / 2));
      const status = await readMultiRegionStatus({
        global: {
          endpoints: globalEndpointsFrom(options, io, connection.tls !== undefined),
          ...(connection.tls ? { tls: connection.tls } : {}),
          ...(connection.auth ? { auth: connection.auth } : {}),
          ...(options.globalPrefix !== undefined ? { prefix: options.globalPrefix } : {}),
        },
        ...(connection.cluster !== undefined ? { cluster: connection.cluster } : {}),
        regions,
        requestTimeout: phaseMs,
        maxRetries: 0,
      });
      if (output.structured) output.document(status);
      else {
        const paint = painter(io, options.color !== false);
        for (const line of regionStatusLines(status, paint)) writeLine(io.stdout, line);
      }
      const unreachable = [
        ...(status.global.reachable ? [] : ['the global store']),
        ...status.regions.filter((one) => !one.reachable).map((one) => `region ${one.name}`),
      ];
      if (unreachable.length > 0) throw new CliFailure(`cannot read ${unreachable.join(', ')}`);
    });
}
