/**
 * `--log-format` of the commands that log: JSON lines for log shippers with the library's own events
 * (a lost lease here) among the command's, or text for people; the built binary against a real etcd.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { revokeCandidateLease } from '../support/etcdctl.ts';
import { ZtapProcess } from '../support/ztap.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
});

const fastNode = ['--heartbeat', '200ms', '--election-timeout', '2s', '--initial-leadership', '0'];

function start(args: string[]): ZtapProcess {
  const process = new ZtapProcess(['--endpoints', etcd.endpoints.join(','), ...args]);
  running.push(process);
  return process;
}

describe('ztap agent --log-format', () => {
  it('json: every line an object with time, level, event and msg; library events among them, bound to the node', async () => {
    const cluster = uniqueCluster('log-json');
    const agent = start([
      '--cluster',
      cluster,
      'agent',
      '--id',
      'j1',
      '--address',
      '127.0.0.1:9000',
      '--log-format',
      'json',
      ...fastNode,
    ]);
    await within(agent.json<{ event: string }>((line) => line.event === 'leader'));
    await revokeCandidateLease(etcd.endpoints, cluster);
    const lost = await within(agent.json<{ event: string }>((line) => line.event === 'lease_lost'));
    expect(lost).toMatchObject({
      level: 'warn',
      msg: 'lease lost',
      nodeId: 'j1',
      prefix: `/ztap/clusters/${cluster}/`,
      leaseId: expect.stringMatching(/^\d+$/),
    });
    // The command's own account of the same loss, once: not the library's leadership_lost as well.
    await within(agent.json<{ event: string; reason: string }>((line) => line.event === 'follower'));
    await within(agent.json<{ event: string }>((line) => line.event === 'leader')); // it leads again
    const lines = agent.lines.items.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of lines) {
      expect(Object.keys(line).slice(0, 4), JSON.stringify(line)).toEqual(['time', 'level', 'event', 'msg']);
      expect(['debug', 'info', 'warn', 'error']).toContain(line.level);
    }
    expect(lines.find((line) => line.event === 'follower')).toMatchObject({
      level: 'warn',
      reason: 'lease_lost',
    });
    expect(lines.filter((line) => line.event === 'leadership_lost')).toEqual([]);
  });

  it('text (the default): a sentence per line, the library events with their details', async () => {
    const cluster = uniqueCluster('log-text');
    const agent = start([
      '--cluster',
      cluster,
      'agent',
      '--id',
      't1',
      '--address',
      '127.0.0.1:9000',
      ...fastNode,
    ]);
    await within(agent.line(/ this node leads \(term \d+\)$/));
    await revokeCandidateLease(etcd.endpoints, cluster);
    await within(agent.line(/^\S+Z {2}lease lost \(leaseId=\d+\)$/));
    expect(agent.lines.items.some((line) => line.startsWith('{'))).toBe(false);
  });

  it('--json is --log-format json, for ztap dashboard too', async () => {
    const dashboard = start(['--cluster', uniqueCluster('log-dash'), '--json', 'dashboard', '--listen', '0']);
    const listening = await within(dashboard.json<{ event: string }>((line) => line.event === 'listening'));
    expect(listening).toMatchObject({
      level: 'info',
      msg: expect.stringMatching(/^dashboard of .+ on http:\/\/127\.0\.0\.1:\d+\/$/),
    });
  });
});
