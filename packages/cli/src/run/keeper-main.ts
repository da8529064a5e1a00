/**
 * The keeper's process (see keeper.ts). `ztap run` starts it with `process.execPath` in a session of
 * its own, its stdio inherited (so the command's output reaches the terminal), messages from
 * `ztap run` on fd 3 and to it on fd 4. Its argument is `ztap run`'s pid, for messages. It uses nothing outside Node and this folder.
 */
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { hostClock } from './host-clock.ts';
import { Keeper } from './keeper.ts';
import { type FromKeeper, TO_KEEPER, type ToKeeper } from './keeper-protocol.ts';
import { MessageChannel } from './message-channel.ts';
import { liveGroupMembers, signalGroup } from './process-group.ts';

const parentPid = process.argv[2] ?? 'unknown';
process.title = `ztap-run-keeper ${parentPid}`;
// The terminal or pipe we share may be gone with ztap run: a failed warning must not kill the keeper.
process.stderr.on('error', () => {});

const channel: MessageChannel<ToKeeper, FromKeeper> = new MessageChannel(
  new Socket({ fd: 3, readable: true, writable: false }),
  new Socket({ fd: 4, readable: false, writable: true }),
  TO_KEEPER,
  {
    onMessage: (message) => keeper.receive(message),
    onInvalid: (line) => {
      // Only a broken ztap run writes this: stop trusting it, exactly as if it had died.
      process.stderr.write(`ztap run keeper: unreadable message from ztap run: ${line.slice(0, 200)}\n`);
      channel.close();
      keeper.orphan();
    },
    onClose: () => keeper.orphan(),
  },
);

const keeper = new Keeper(
  {
    clock: hostClock,
    spawn: (command, env, events) => {
      const [file, ...args] = command as [string, ...string[]];
      // detached: setsid(), so the command leads a new session and process group that ends as one.
      const child = spawn(file, args, { stdio: 'inherit', env, detached: true });
      child.once('error', (error) => events.onError(error.message));
      child.once('exit', (code, signal) =>
        events.onExit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
      return child.pid;
    },
    members: liveGroupMembers,
    signal: (pgid, signal) => void signalGroup(pgid, signal),
    send: (report) => channel.send(report),
    warn: (line) => process.stderr.write(`ztap run keeper: ${line}\n`),
    done: () => {
      channel.close(() => process.exit(0));
      // Should the flush never complete, the keeper still must not linger.
      setTimeout(() => process.exit(0), 1000).unref();
    },
  },
  `ztap run (pid ${parentPid})`,
);
