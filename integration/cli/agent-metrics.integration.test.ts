/**
 * `ztap agent`'s /metrics against a real etcd: the shared watch of the cluster prefix runs with the
 * election's settings and reports to its telemetry, even though the agent's policy subscription is
 * the first to use it.
 */
import { cutOffProxy, type EtcdLink } from '@ztap/cluster-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { ZtapProcess } from '../support/ztap.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
const links: EtcdLink[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
  await Promise.all(links.splice(0).map((link) => link.close()));
});

/** The value of one series in a Prometheus text exposition (0 when absent). */
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
};

describe('ztap agent /metrics', () => {
  it('counts a failure of the shared watch (its progress check) in ztap_cluster_etcd_errors_total', async () => {
    const link = await cutOffProxy(etcd);
    links.push(link);
    const agent = new ZtapProcess([
      ...['--endpoints', link.endpoints.join(','), '--cluster', uniqueCluster('cli-watch-errors'), '--json'],
      ...['agent', '--id', 'w1', '--address', '127.0.0.1:9001', '--listen', '0'],
      ...['--heartbeat', '200ms', '--election-timeout', '2s', '--timeout', '500ms'],
      // Never a candidate: once joined, the only requests it sends are the watch's progress checks
      // (every election timeout); keepalives are a stream and count elsewhere.
      ...['--initial-leadership', '1h'],
    ]);
    running.push(agent);
    const { port } = await within(
      agent.json<{ event: string; port: number }>((line) => line.event === 'listening'),
    );
    const unavailable = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      return sample(await response.text(), 'ztap_cluster_etcd_errors_total{kind="unavailable"}');
    };
    expect(await unavailable()).toBe(0);

    link.cut();
    await eventually(async () => (await unavailable()) > 0, 20_000, 'a failed progress check to be counted');
  }, 40_000);
});
