import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Writable } from 'node:stream';

/**
 * Cleanup that does not depend on anyone calling `stop()`: etcd processes and data dirs still
 * registered when this process ends are SIGKILLed by pid and removed, two ways.
 *
 * - An 'exit' handler does it at once when the process exits normally.
 * - A watchdog process does it when this one dies in a way that runs no handler: test runners end their
 *   workers with signals or thread termination (vitest's do). It reads what to clean from a pipe and
 *   acts when the pipe closes, which the kernel does however we die. It runs in its own process group,
 *   so a Ctrl-C aimed at the test run does not kill it first.
 *
 * Processes are unregistered the moment they exit, and the watchdog only kills a pid whose command line
 * still names its data dir, so neither ever signals a process we did not start.
 */
const livePids = new Set<number>();
const liveDirs = new Set<string>();
let installed = false;
let watchdog: Writable | undefined;

/** The watchdog, as a CommonJS script for `node -e`: JSON lines in, cleanup on end of input. */
const WATCHDOG_SOURCE = `
const fs = require('node:fs');
const pids = new Map();
const dirs = new Set();
let pending = '';
const apply = (line) => {
  if (!line) return;
  const message = JSON.parse(line);
  if (message.op === 'process') pids.set(message.pid, message.marker);
  if (message.op === 'exited') pids.delete(message.pid);
  if (message.op === 'dir') dirs.add(message.path);
  if (message.op === 'removed') dirs.delete(message.path);
};
const cleanup = () => {
  for (const [pid, marker] of pids) {
    try {
      const cmdline = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8');
      if (cmdline.includes(marker)) process.kill(pid, 'SIGKILL');
    } catch {}
  }
  for (const dir of dirs) {
    try { fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }); } catch {}
  }
  process.exit(0);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  const lines = pending.split('\\n');
  pending = lines.pop();
  for (const line of lines) { try { apply(line); } catch {} }
});
process.stdin.on('end', cleanup);
process.stdin.on('error', cleanup);
`;

function tellWatchdog(message: object): void {
  watchdog?.write(`${JSON.stringify(message)}\n`);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const dir of liveDirs) {
      try {
        // Retries: a member killed a moment ago may still be finishing a write.
        rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
      } catch {
        // The watchdog tries again.
      }
    }
  });
  // /proc tells the watchdog whether a pid is still ours; without it (not Linux) it stays off.
  if (process.platform !== 'linux') return;
  const { NODE_OPTIONS: _, ...env } = process.env; // no loaders or conditions of the test runner
  const child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], {
    env,
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  child.on('error', () => {}); // no watchdog then; the 'exit' handler remains
  child.stdin.on('error', () => {}); // it died: writes fail, and nothing depends on them
  // Neither the watchdog nor the pipe to it may keep this process alive.
  child.unref();
  (child.stdin as Writable & { unref?: () => void }).unref?.();
  watchdog = child.stdin;
}

/**
 * Registers a child process until it exits (`onExit` must be called from its 'exit' event). `marker`
 * is a string its command line contains (its data dir).
 */
export function trackProcess(pid: number, marker: string): { readonly onExit: () => void } {
  install();
  livePids.add(pid);
  tellWatchdog({ op: 'process', pid, marker });
  return {
    onExit: () => {
      livePids.delete(pid);
      tellWatchdog({ op: 'exited', pid });
    },
  };
}

/** Registers a dir to remove when this process ends, unless {@link untrackDir} is called first. */
export function trackDir(path: string): void {
  install();
  liveDirs.add(path);
  tellWatchdog({ op: 'dir', path });
}

/** Forgets a dir that has been removed. */
export function untrackDir(path: string): void {
  liveDirs.delete(path);
  tellWatchdog({ op: 'removed', path });
}
