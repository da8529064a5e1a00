import { type MultiRegionStatus, readMultiRegionStatus } from '@ztap/cluster-multi-region';
import type { Command } from 'commander';
import { connectionSettingsFrom } from '../connection.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { table } from '../format.ts';
import { type CliIO, painter, writeLine } from '../io.ts';
import type { GlobalOptions } from '../options.ts';
import { outputFormat, outputTo } from '../output.ts';
import { type RegionReadFlags, regionReadFrom, regionReadOptions } from './region-options.ts';

interface RegionStatusOptions extends GlobalOptions, RegionReadFlags {}

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

  regionReadOptions(region.command('status'))
    .description(
      'every region: its leader and term, whether its etcd answers, its replication lag; and the global leader',
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
      const status = await readMultiRegionStatus(
        regionReadFrom(options, io, connectionSettingsFrom(options, io)),
      );
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
