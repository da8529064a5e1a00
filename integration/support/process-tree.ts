import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The leader's work in the `ztap run` tests: a process tree with grandchildren. Every tree records
 * its pids in `<node>.pids` (the shell first: it is the command, and its pid the group id) and a
 * heartbeat subshell appends to `<node>.heartbeat`. Before doing anything, a tree notes in
 * `<node>.saw-alive` which processes of other nodes' trees were still running, and in
 * `<node>.saw-heartbeats` how far their heartbeats had got: what the successor saw when it started.
 *
 * $1: `obey` (exits on SIGTERM), `ignore` (the whole tree ignores SIGTERM: only SIGKILL ends it),
 * or `leave` (starts its children, then exits 7 without waiting for them).
 */
const TREE_SCRIPT = `#!/bin/sh
dir=$(dirname "$0")
me=$ZTAP_NODE_ID
: > "$dir/$me.saw-alive"
: > "$dir/$me.saw-heartbeats"
for file in "$dir"/*.pids; do
  [ -e "$file" ] || continue
  for pid in $(cat "$file"); do
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
    if [ -n "$state" ] && [ "$state" != Z ]; then echo "$pid" >> "$dir/$me.saw-alive"; fi
  done
done
for file in "$dir"/*.heartbeat; do
  [ -e "$file" ] && echo "$(basename "$file" .heartbeat) $(wc -c < "$file")" >> "$dir/$me.saw-heartbeats"
done
if [ "$1" = ignore ]; then trap "" TERM; else trap "exit 0" TERM; fi
echo $$ >> "$dir/$me.pids"
sleep 1000 &
sleeper=$!
echo $sleeper >> "$dir/$me.pids"
(while :; do echo beat >> "$dir/$me.heartbeat"; sleep 0.05; done) &
echo $! >> "$dir/$me.pids"
# Started only once both children run their own code: a signal that comes between fork and exec is
# caught by the trap the child inherited from this shell, and lost.
until grep -q '^sleep' "/proc/$sleeper/cmdline" 2>/dev/null && [ -s "$dir/$me.heartbeat" ]; do sleep 0.01; done
echo "tree-started $me"
if [ "$1" = leave ]; then exit 7; fi
wait
`;

/** Whether `pid` is a process that can still run (a zombie has exited: init may never reap it). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The pids of processes that can still run in process group `pgid` (a /proc scan of our own). */
export function runningInGroup(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(group) === pgid && state !== 'Z' && state !== 'X') found.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

export class ProcessTrees {
  readonly dir: string;
  readonly #script: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#script = join(dir, 'tree.sh');
  }

  static async create(): Promise<ProcessTrees> {
    const trees = new ProcessTrees(await mkdtemp(join(tmpdir(), 'ztap-run-tree-')));
    await writeFile(trees.#script, TREE_SCRIPT);
    await chmod(trees.#script, 0o755);
    return trees;
  }

  /** The command line for `ztap run -- …`. */
  command(mode: 'obey' | 'ignore' | 'leave'): string[] {
    return ['sh', this.#script, mode];
  }

  async #lines(file: string): Promise<string[]> {
    const text = await readFile(join(this.dir, file), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean);
  }

  /** The pids `node`'s tree recorded: its shell (the group id) first. */
  async pids(node: string): Promise<number[]> {
    return (await this.#lines(`${node}.pids`)).map(Number);
  }

  /** Of `node`'s recorded pids and its process group, what can still run. */
  async running(node: string): Promise<number[]> {
    const pids = await this.pids(node);
    if (pids.length === 0) throw new Error(`${node}'s tree recorded no pids in ${this.dir}`);
    return [...new Set([...pids.filter(isRunning), ...runningInGroup(pids[0] as number)])];
  }

  /** The other trees' processes that were running when `node`'s tree started. */
  async sawRunning(node: string): Promise<number[]> {
    return (await this.#lines(`${node}.saw-alive`)).map(Number);
  }

  /** How many heartbeat bytes `of`'s tree had written when `observer`'s tree started. */
  async sawHeartbeatBytes(observer: string, of: string): Promise<number> {
    const line = (await this.#lines(`${observer}.saw-heartbeats`)).find((entry) =>
      entry.startsWith(`${of} `),
    );
    return Number(line?.split(' ')[1] ?? 0);
  }

  async heartbeatBytes(node: string): Promise<number> {
    return (await readFile(join(this.dir, `${node}.heartbeat`), 'utf8').catch(() => '')).length;
  }

  /**
   * Kills whatever a test left running (code without a keeper leaves grandchildren), then removes
   * the files. Only processes that are still ours: a recorded pid may since belong to another.
   */
  async dispose(): Promise<void> {
    for (const file of readdirSync(this.dir).filter((name) => name.endsWith('.pids'))) {
      for (const pid of await this.pids(file.slice(0, -'.pids'.length))) {
        const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (!commandLine.includes(this.#script) && commandLine !== 'sleep\u00001000\u0000') continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
