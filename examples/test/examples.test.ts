import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startEtcd } from '@ztap/cluster-testing';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const examples = new URL('../src/', import.meta.url);
const runExample = (file: string, env: Record<string, string> = {}) =>
  run(process.execPath, ['--conditions=@ztap/source', new URL(file, examples).pathname], {
    timeout: 60_000,
    env: { ...process.env, ...env },
  });

describe('examples', () => {
  it('the etcd example runs its leader-only job through a fenced write', async () => {
    await using etcd = await startEtcd({ provider: 'local' });
    const { stdout } = await runExample('on-etcd.ts', { ZTAP_ETCD_ENDPOINTS: etcd.endpoints.join(',') });
    expect(stdout.trim()).toMatch(/^ran the leader-only job with term \d+$/);
  });

  it('the quickstart runs and reports its leadership and changes', async () => {
    const { stdout } = await runExample('quickstart.ts');
    expect(stdout.trim().split('\n')).toEqual([
      'node-1 leads with fencing token 1',
      'node_joined node-1',
      'leader_elected node-1',
    ]);
  });

  it('the demo on the memory backend names it and reports two failovers', async () => {
    const { stdout } = await runExample('demo.ts', { ZTAP_DEMO_BACKEND: 'memory' });
    expect(stdout).toContain('ZTAP cluster demo on the in-memory backend (ZTAP_DEMO_BACKEND=memory)');
    expect(stdout.match(/=> node-\d took over [\d.]+ ms after the fault/g)).toHaveLength(2);
    expect(stdout).toMatch(/node-3 leads with term 3/);
    expect(stdout).toContain('never two leaders');
  });

  it('the demo on etcd starts its own etcd when none is reachable, and the isolated leader steps down first', async () => {
    const { stdout } = await runExample('demo.ts', {
      ZTAP_DEMO_BACKEND: 'etcd',
      ZTAP_ETCD_ENDPOINTS: 'http://127.0.0.1:1',
    });
    expect(stdout).toMatch(/ZTAP cluster demo on etcd: local etcd [\d.]+ .* started for this demo/);
    expect(stdout.match(/=> node-\d took over [\d.]+ ms after the fault/g)).toHaveLength(2);
    expect(stdout).toMatch(
      /stopped acting as leader [\d.]+ ms after the fault, [\d.]+ ms before the new leader was known: never two leaders/,
    );
  }, 60_000);

  it('the multi-region demo starts its own regions, fails over without two global leaders, and the cut-off region catches up', async () => {
    const { stdout } = await runExample('multi-region/main.ts');
    expect(stdout).toMatch(/^ZTAP multi-region demo: regions eu, us, ap on local etcd cluster of 3/m);
    expect(stdout).toMatch(/ eu-\d leads region eu and globally \(global term \d+\)$/m);
    expect(stdout).toContain(
      "Region eu (the home region, the global leader's) is cut off from the other regions.",
    );
    expect(stdout.match(/ {4}every node of (eu|us|ap) has web@\d+, \d+ ms after the push$/gm)).toHaveLength(
      5,
    );
    expect(stdout).toMatch(/ms before its successor: never two global leaders\.$/m);
    expect(stdout).toMatch(/ eu still serves web@\d+, last confirmed current [\d.]+ s ago$/m);
    expect(stdout).toMatch(/ eu caught up: web@\d+ everywhere$/m);
    expect(stdout).toMatch(/ eu-\d of the home region eu leads globally again \(global term \d+\)$/m);
  }, 90_000);
});
