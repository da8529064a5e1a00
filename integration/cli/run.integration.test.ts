/**
 * `ztap run` against a real etcd, the built binary spawned as an operator would: no work of a deposed
 * leader survives. The command is a process tree with grandchildren (support/process-tree.ts); after
 * every way leadership can end, no process of that tree may be left, and when a successor takes over
 * without a handover (the old ztap run killed or frozen), the old tree must be gone before the
 * successor's command starts — which the successor's own command checks as its first act.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { etcdctl, revokeCandidateLease } from '../support/etcdctl.ts';
import { isRunning, ProcessTrees } from '../support/process-tree.ts';
import { ZtapProcess, ztap } from '../support/ztap.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
const trees: ProcessTrees[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
  await Promise.all(trees.splice(0).map((tree) => tree.dispose()));
});

/** TTL 2 s, so the step-down deadline comes 1.6 s after the last keepalive. */
const fastNode = ['--heartbeat', '200ms', '--election-timeout', '2s', '--initial-leadership', '0'];
const target = (cluster: string) => ['--endpoints', etcd.endpoints.join(','), '--cluster', cluster];

async function setup(label: string) {
  const cluster = uniqueCluster(label);
  const work = await ProcessTrees.create();
  trees.push(work);
  const run = (id: string, command: string[], options: string[] = []) => {
    const process = new ZtapProcess([
      ...target(cluster),
      '--json',
      'run',
      '--id',
      id,
      ...fastNode,
      ...options,
      '--',
      ...command,
    ]);
    running.push(process);
    return process;
  };
  return { cluster, work, run };
}

/** What ztap run logged as `event` (its JSON lines), waiting for it. */
const logged = (process: ZtapProcess, event: string) =>
  within(
    process.json((line) => line.event === event),
    20_000,
    `the "${event}" log line`,
  );

describe('ztap run ends the whole process tree', { timeout: 20_000 }, () => {
  it('when leadership is lost (campaign key deleted), before exiting; then the next leader runs it', async () => {
    const { cluster, work, run } = await setup('run-lost');
    const first = run('r1', work.command('obey'));
    await within(first.line(/^tree-started r1$/));
    const second = run('r2', work.command('obey'));
    await logged(second, 'waiting');
    expect(second.lines.items.some((line) => line.startsWith('tree-started'))).toBe(false);

    await etcdctl(etcd.endpoints, 'del', '--prefix', `/ztap/clusters/${cluster}/election/`);
    expect(await within(first.exited)).toBe(1);
    expect(first.stderr).toBe('ztap: leadership lost (lease_lost); stopped sh\n');
    expect(await work.running('r1')).toEqual([]);

    await within(second.line(/^tree-started r2$/));
    const term = async (process: ZtapProcess) => ((await logged(process, 'leader')) as { term: number }).term;
    expect(await term(second)).toBeGreaterThan(await term(first));
  });

  it('when an operator revokes the lease with etcdctl', async () => {
    const { cluster, work, run } = await setup('run-revoke');
    const leader = run('r1', work.command('obey'));
    await within(leader.line(/^tree-started r1$/));
    await revokeCandidateLease(etcd.endpoints, cluster);

    expect(await within(leader.exited)).toBe(1);
    expect(leader.stderr).toBe('ztap: leadership lost (lease_lost); stopped sh\n');
    expect(await work.running('r1')).toEqual([]);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s to ztap run, which then exits with the command status',
    async (signal) => {
      const { work, run } = await setup('run-signal');
      const leader = run('r1', work.command('obey'));
      await within(leader.line(/^tree-started r1$/));
      leader.signal(signal);
      expect(await within(leader.exited)).toBe(0); // the tree's trap exits 0
      expect(await work.running('r1')).toEqual([]);
    },
  );

  it('that ignores SIGTERM: SIGKILL after --grace, and the log names what was still running', async () => {
    const { work, run } = await setup('run-stubborn');
    const leader = run('r1', work.command('ignore'), ['--grace', '1s']);
    await within(leader.line(/^tree-started r1$/));
    const pids = await work.pids('r1');
    leader.signal('SIGTERM');

    expect(await within(leader.exited)).toBe(137); // sh, killed by SIGKILL
    expect(await work.running('r1')).toEqual([]);
    const killing = (await logged(leader, 'killing')) as { processes: { pid: number; command: string }[] };
    expect(killing.processes.map((process) => process.pid)).toEqual(expect.arrayContaining(pids));
    expect(killing.processes.find((process) => process.pid === pids[1])?.command).toBe('sleep 1000');
  });

  it("when the command exits by itself: what it left running is stopped, and ztap exits with the command's status", async () => {
    const { work, run } = await setup('run-exit');
    const leader = run('solo', work.command('leave'));
    expect(await within(leader.exited)).toBe(7);
    expect(await work.running('solo')).toEqual([]);
    expect(await logged(leader, 'terminating')).toMatchObject({ cause: 'exited' });
  });

  it('when the keeper dies, ztap run kills the group itself and exits 1 saying so', async () => {
    const { work, run } = await setup('run-keeper-dies');
    const leader = run('r1', work.command('ignore'));
    await within(leader.line(/^tree-started r1$/));
    const { keeperPid, pid } = (await logged(leader, 'started')) as { keeperPid: number; pid: number };
    process.kill(keeperPid, 'SIGKILL');

    expect(await within(leader.exited)).toBe(1);
    expect(leader.stderr).toBe(
      `ztap: the keeper of sh (pid ${keeperPid}) was killed by SIGKILL; killed process group ${pid}\n`,
    );
    await eventually(async () => (await work.running('r1')).length === 0, 5000, "r1's tree to end");
  });
});

describe('without a handover, the old tree is gone before the successor starts', { timeout: 30_000 }, () => {
  /** r1 leads, running a tree that ignores SIGTERM with a grace far beyond the TTL; r2 waits. */
  async function leaderAndSuccessor(label: string) {
    const { cluster, work, run } = await setup(label);
    const first = run('r1', work.command('ignore'), ['--grace', '60s']);
    await within(first.line(/^tree-started r1$/));
    const second = run('r2', work.command('ignore'));
    await logged(second, 'waiting');
    /** Once r2's command has started: r1's tree had ended before it, and has not beaten since. */
    const expectOldTreeGoneFirst = async () => {
      await within(second.line(/^tree-started r2$/));
      expect(await work.sawRunning('r2')).toEqual([]);
      expect(await work.running('r1')).toEqual([]);
      expect(await work.heartbeatBytes('r1')).toBe(await work.sawHeartbeatBytes('r2', 'r1'));
    };
    return { cluster, first, expectOldTreeGoneFirst };
  }

  it('leadership transferred to the waiting node (ztap cluster transfer): the handover waits until the tree is gone', async () => {
    const { cluster, first, expectOldTreeGoneFirst } = await leaderAndSuccessor('run-transfer');
    const transfer = ztap([...target(cluster), 'cluster', 'transfer', 'r2']);
    await expectOldTreeGoneFirst();
    expect(await transfer).toMatchObject({ code: 0, stdout: expect.stringMatching(/^r2 leads cluster /) });
    expect(await within(first.exited)).toBe(1);
    expect(first.stderr).toBe('ztap: leadership lost (transferred); stopped sh\n');
  });

  it('ztap run killed with SIGKILL: the keeper ends the tree, with SIGKILL by the deadline despite --grace 60s', async () => {
    const { first, expectOldTreeGoneFirst } = await leaderAndSuccessor('run-sigkill');
    first.signal('SIGKILL');
    await expectOldTreeGoneFirst();
    expect(first.stderr).toMatch(/^ztap run keeper: lost contact with ztap run \(pid \d+\); stopping sh$/m);
    expect(first.stderr).toMatch(
      /still running: .*pid \d+ \(sleep 1000\).*; sending SIGKILL to process group/,
    );
    const { keeperPid } = (await logged(first, 'started')) as { keeperPid: number };
    await eventually(() => !isRunning(keeperPid), 5000, 'the keeper to exit');
  });

  it('ztap run frozen with SIGSTOP beyond the TTL: the tree is gone before the successor starts', async () => {
    const { first, expectOldTreeGoneFirst } = await leaderAndSuccessor('run-sigstop');
    first.signal('SIGSTOP');
    try {
      await expectOldTreeGoneFirst();
    } finally {
      first.signal('SIGCONT');
    }
    // Resumed, it finds its leadership gone (the deadline, or the lease expired meanwhile) and says so.
    expect(await within(first.exited)).toBe(1);
    expect(first.stderr).toMatch(/^ztap: leadership lost \((deadline|lease_lost)\); stopped sh\n$/);
  });

  it('a ztap run killed while still waiting to lead leaves no keeper behind', async () => {
    const { work, run } = await setup('run-waiting');
    const leader = run('r1', work.command('obey'));
    await within(leader.line(/^tree-started r1$/));
    const waiting = run('r2', work.command('obey'));
    const { keeperPid } = (await logged(waiting, 'waiting')) as { keeperPid: number };
    expect(isRunning(keeperPid)).toBe(true);
    waiting.signal('SIGKILL');
    await eventually(() => !isRunning(keeperPid), 5000, "r2's keeper to exit");
  });
});

it('a command that cannot be started: exit 1, saying why', { timeout: 20_000 }, async () => {
  const result = await ztap([
    ...target(uniqueCluster('run-missing')),
    'run',
    '--id',
    'solo',
    ...fastNode,
    '--',
    './no-such-command',
  ]);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe('ztap: cannot start ./no-such-command: spawn ./no-such-command ENOENT\n');
});
