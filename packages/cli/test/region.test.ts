import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MultiRegionStatus } from '@ztap/cluster-multi-region';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { regionStatusLines } from '../src/commands/region.ts';
import { regionSettings } from '../src/commands/region-agent.ts';
import { globalEndpointsFrom, parseRegionAddress } from '../src/commands/region-options.ts';
import { type CliIO, createProgram, UsageError } from '../src/index.ts';
import { exampleStatus } from './region-status-example.ts';

const io = (env: Record<string, string> = {}): CliIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env,
  onShutdown: () => () => {},
});

/** The agent command after parsing `args` (its action does not run). */
function parsedAgent(args: string[], env: Record<string, string> = {}): { command: Command; io: CliIO } {
  const cli = io(env);
  const program = createProgram(cli);
  const agent = program.commands.find((command) => command.name() === 'agent') as Command;
  agent.action(() => {});
  program.parse(['agent', '--id', 'n1', '--address', '127.0.0.1:1', ...args], { from: 'user' });
  return { command: agent, io: cli };
}

describe('ztap region status: arguments', () => {
  it('reads --region NAME=URL[,URL]', () => {
    expect(parseRegionAddress('eu=http://10.0.1.5:2379,http://10.0.1.6:2379')).toEqual({
      name: 'eu',
      endpoints: ['http://10.0.1.5:2379', 'http://10.0.1.6:2379'],
    });
    for (const bad of ['eu', '=http://x:1', 'eu=', 'EU=http://x:1'])
      expect(() => parseRegionAddress(bad)).toThrow(UsageError);
  });

  it('takes the global endpoints from the flag, else ZTAP_GLOBAL_ENDPOINTS, adding the scheme', () => {
    expect(globalEndpointsFrom({ globalEndpoints: '10.0.9.1:2379' }, io(), false)).toEqual([
      'http://10.0.9.1:2379',
    ]);
    expect(globalEndpointsFrom({}, io({ ZTAP_GLOBAL_ENDPOINTS: 'a:1,b:2' }), true)).toEqual([
      'https://a:1',
      'https://b:2',
    ]);
    expect(() => globalEndpointsFrom({}, io(), false)).toThrow(/--global-endpoints/);
  });

  it('prints the global leader, then a row per region with its leader, lag and reachability', () => {
    const status = exampleStatus;
    expect(regionStatusLines(status, (_style, text) => text)).toEqual([
      'global leader  us (us-1@us, global term 12)',
      'global store   http://g:1: revision 40, 3 policies',
      '',
      'REGION  REACHABLE  LEADER  TERM  HEALTHY  LAG   REPLICATED TO  POLICIES',
      'eu      yes        eu-2    7     2/2      1.2s  40             3',
      'ap      no         -       -     -        -     -              -         etcd at http://a:1 is unreachable',
    ]);
  });

  it('counts one global policy in the singular', () => {
    const status: MultiRegionStatus = {
      global: { endpoints: ['http://g:1'], reachable: true, revision: 9, policies: 1 },
      regions: [],
    };
    expect(regionStatusLines(status, (_style, text) => text)[1]).toBe(
      'global store   http://g:1: revision 9, 1 policy',
    );
  });
});

describe('ztap agent --region: settings', () => {
  it('is an ordinary agent without a region', () => {
    const { command, io: cli } = parsedAgent([]);
    expect(regionSettings(command, cli)).toBeUndefined();
  });

  it('takes flags first, then the config file, then the environment', () => {
    const file = join(tmpdir(), `ztap-region-${process.pid}.json`);
    writeFileSync(
      file,
      JSON.stringify({ region: 'eu', globalEndpoints: ['http://g:1', 'http://g:2'], homeRegion: 'us' }),
    );
    const { command, io: cli } = parsedAgent(['--region-config', file, '--home-region', 'ap'], {
      ZTAP_GLOBAL_PREFIX: '/g/',
      ZTAP_REGION: 'ignored',
    });
    expect(regionSettings(command, cli)).toEqual({
      region: 'eu',
      globalEndpoints: 'http://g:1,http://g:2',
      homeRegion: 'ap',
      globalPrefix: '/g/',
    });
  });

  it('refuses a config file with an unknown setting, naming it', () => {
    const file = join(tmpdir(), `ztap-region-bad-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ region: 'eu', globalEndpoint: 'http://g:1' }));
    const { command, io: cli } = parsedAgent(['--region-config', file]);
    expect(() => regionSettings(command, cli)).toThrow(/unknown setting "globalEndpoint"/);
  });
});
