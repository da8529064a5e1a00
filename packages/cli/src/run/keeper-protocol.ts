import type { GroupProcess } from './process-group.ts';

/*
 * What `ztap run` and its keeper say to each other: one JSON object per line, on the keeper's fd 3
 * (to the keeper) and fd 4 (from it); see message-channel.ts. Deadlines are on the host's monotonic clock (see host-clock.ts), so they mean the
 * same instant in both processes however late a message is read.
 */

/** `ztap run` → keeper. */
export type ToKeeper =
  /** Run `command` with `env`. `validUntilMs`: when leadership ends unless renewed. */
  | {
      readonly type: 'start';
      readonly command: readonly string[];
      readonly env: Readonly<Record<string, string>>;
      readonly graceMs: number;
      readonly validUntilMs: number;
    }
  /** The lease was renewed: leadership now holds until `validUntilMs`. */
  | { readonly type: 'renew'; readonly validUntilMs: number }
  /** Stop the command's process group (leadership lost, or ztap run was told to stop). */
  | { readonly type: 'stop' };

/** Why the keeper is ending the process group. */
export type StopCause =
  /** The command exited by itself and left processes in its group. */
  | 'exited'
  /** `ztap run` asked. */
  | 'stop'
  /** The leadership deadline passed without a renewal (ztap run frozen, or too slow to say). */
  | 'deadline'
  /** The pipe to `ztap run` closed: it died (even by SIGKILL), or broke the protocol. */
  | 'orphaned';

/** Keeper → `ztap run`. */
export type FromKeeper =
  /** The command runs as `pid`, which is also its process group id. */
  | { readonly type: 'started'; readonly pid: number }
  /** The command could not be started (no such file, not executable, ...). */
  | { readonly type: 'failed'; readonly message: string }
  /** The command's own process ended with `status` (128 + n for signal n). */
  | { readonly type: 'exited'; readonly status: number }
  /**
   * SIGTERM went to these `processes`, the group; SIGKILL follows unless they end first: after
   * `graceMs` (--grace), or at the leadership deadline, `deadlineMs` from now, if that comes first
   * (a renewal moves the deadline while ztap run still leads).
   */
  | {
      readonly type: 'stopping';
      readonly cause: StopCause;
      readonly processes: readonly GroupProcess[];
      readonly graceMs: number;
      readonly deadlineMs: number;
    }
  /** These were still running when the grace ran out; SIGKILL went to the group. */
  | { readonly type: 'killing'; readonly processes: readonly GroupProcess[] }
  /**
   * The group has ended (`remaining`: what even SIGKILL did not end in time, normally nothing).
   * `status` is the command's, or null when it never started (it could not, or the deadline had
   * already passed when `start` arrived). The keeper's last message: it exits after this.
   */
  | { readonly type: 'ended'; readonly status: number | null; readonly remaining: readonly GroupProcess[] };

type Field = 'number' | 'string' | 'strings' | 'processes' | 'env' | 'cause' | 'status';

const isProcess = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  Number.isInteger((value as GroupProcess).pid) &&
  typeof (value as GroupProcess).command === 'string';

const FIELD_CHECKS: Record<Field, (value: unknown) => boolean> = {
  number: (value) => typeof value === 'number' && Number.isFinite(value),
  string: (value) => typeof value === 'string',
  strings: (value) => Array.isArray(value) && value.every((item) => typeof item === 'string'),
  processes: (value) => Array.isArray(value) && value.every(isProcess),
  env: (value) =>
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((item) => typeof item === 'string'),
  cause: (value) => ['exited', 'stop', 'deadline', 'orphaned'].includes(value as string),
  status: (value) => value === null || Number.isInteger(value),
};

/** The fields each message type must carry. */
export type MessageShapes = Readonly<Record<string, Readonly<Record<string, Field>>>>;

export const TO_KEEPER: MessageShapes = {
  start: { command: 'strings', env: 'env', graceMs: 'number', validUntilMs: 'number' },
  renew: { validUntilMs: 'number' },
  stop: {},
};

export const FROM_KEEPER: MessageShapes = {
  started: { pid: 'number' },
  failed: { message: 'string' },
  exited: { status: 'number' },
  stopping: { cause: 'cause', processes: 'processes', graceMs: 'number', deadlineMs: 'number' },
  killing: { processes: 'processes' },
  ended: { status: 'status', remaining: 'processes' },
};

/** The message on `line` if it is one of `shapes` with every field it needs, else undefined. */
export function parseMessage<T extends { type: string }>(line: string, shapes: MessageShapes): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(shapes, type)) return undefined;
  const shape = shapes[type] as Readonly<Record<string, Field>>;
  for (const [name, field] of Object.entries(shape)) {
    if (!FIELD_CHECKS[field]((value as Record<string, unknown>)[name])) return undefined;
  }
  return value as T;
}
