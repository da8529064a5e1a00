import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { eventually } from '@ztap/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { liveGroupMembers, parseProcStat, signalGroup } from '../src/run/process-group.ts';

describe('/proc/<pid>/stat', () => {
  it('finds state and process group after a name holding spaces and parentheses', () => {
    expect(parseProcStat('4242 (my (odd) name) S 1 4240 4240 0 -1 4194560 ...')).toEqual({
      pid: 4242,
      name: 'my (odd) name',
      state: 'S',
      pgid: 4240,
    });
  });

  it.each(['', 'garbage', '12 (truncated'])('rejects %j', (text) => {
    expect(parseProcStat(text)).toBeUndefined();
  });
});

describe('a process group', () => {
  const groups: number[] = [];
  afterEach(() => {
    for (const pgid of groups.splice(0)) signalGroup(pgid, 'SIGKILL');
  });

  /** `sh` leading a new group, with a grandchild; resolves once both are running. */
  async function startGroup(): Promise<{ pgid: number; grandchild: number }> {
    const child = spawn('sh', ['-c', 'sleep 1000 & echo $!; wait'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pgid = child.pid as number;
    groups.push(pgid);
    const grandchild = await new Promise<number>((resolve) =>
      child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))),
    );
    // `$!` is known at fork; the grandchild runs sleep only once it has exec'd.
    const commandOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    await eventually(() => commandOf(grandchild).startsWith('sleep'), 5000, 'the grandchild to run sleep');
    return { pgid, grandchild };
  }

  it('lists every live process in it, grandchildren too, with their command lines', async () => {
    const { pgid, grandchild } = await startGroup();
    expect(liveGroupMembers(pgid)).toEqual([
      { pid: pgid, command: 'sh -c sleep 1000 & echo $!; wait' },
      { pid: grandchild, command: 'sleep 1000' },
    ]);
  });

  it('ends as a whole with one signal, after which it has no live member and cannot be signalled', async () => {
    const { pgid } = await startGroup();
    expect(signalGroup(pgid, 'SIGKILL')).toBe(true);
    await eventually(() => liveGroupMembers(pgid).length === 0, 5000, 'the group to end');
    // The grandchild may linger as a zombie where init does not reap: it counts as ended.
    expect(liveGroupMembers(pgid)).toEqual([]);
  });

  it('refuses ids that kill() would read as "every process"', () => {
    for (const pgid of [0, 1, -1, 1.5]) {
      expect(() => signalGroup(pgid, 'SIGTERM')).toThrow(RangeError);
      expect(() => liveGroupMembers(pgid)).toThrow(RangeError);
    }
  });
});
