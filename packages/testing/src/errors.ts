import { ZtapError } from '@ztap/cluster';

/**
 * Whether `error` is an Error carrying `code`. The guards below compare codes, not prototypes, so they
 * also recognise errors from a second copy of this package in the same process.
 */
const hasCode = (error: unknown, code: string): boolean =>
  error instanceof Error && (error as { code?: unknown }).code === code;

/** What to do on a machine where tests find no etcd; part of every {@link NoEtcdError}. */
export const ETCD_INSTALL_HINT = [
  'Tests that need etcd never skip; give them one of these:',
  '  - Docker or Podman answering on its Docker API socket (DOCKER_HOST, /var/run/docker.sock), so',
  '    Testcontainers starts etcd in a container (image: ZTAP_TEST_ETCD_IMAGE, default quay.io/coreos/etcd);',
  '  - a local etcd binary: `apt-get install etcd-server` (Debian/Ubuntu), `brew install etcd`, or a release',
  '    from https://github.com/etcd-io/etcd/releases; on PATH, or named by ETCD_BIN=/path/to/etcd;',
  '  - a running etcd: ZTAP_TEST_ETCD_ENDPOINTS=http://127.0.0.1:2379 (comma-separated).',
  'ZTAP_TEST_ETCD_PROVIDER=container|local|external forces one of them. More: the README of',
  '@ztap/cluster-testing and docs/testing-your-service.md.',
].join('\n');

/**
 * No etcd can be provided the way the options and the environment ask: no container engine, no
 * binary, no endpoints. The message says why and how to get one; tests that get it fail, never skip.
 */
export class NoEtcdError extends ZtapError {
  static readonly code = 'ZTAP_TESTING_NO_ETCD';
  /** Why, without the install hint. */
  readonly reason: string;

  constructor(reason: string, options?: ErrorOptions) {
    super(NoEtcdError.code, `${reason}\n${ETCD_INSTALL_HINT}`, options);
    this.reason = reason;
  }
}
export const isNoEtcdError = (error: unknown): error is NoEtcdError => hasCode(error, NoEtcdError.code);

/**
 * An etcd was there to start (a binary, a container engine, endpoints) but did not become healthy: it
 * exited, did not answer in time, or could not be created. The message ends with the last lines etcd
 * printed, when there are any.
 */
export class EtcdStartError extends ZtapError {
  static readonly code = 'ZTAP_TESTING_ETCD_START';
  /** The last lines of etcd's output (its log file or the container's output); empty when none. */
  readonly logTail: string;

  constructor(message: string, details: { logTail?: string; logName?: string } = {}, options?: ErrorOptions) {
    const logTail = details.logTail?.trim() ?? '';
    const log =
      details.logName === undefined
        ? ''
        : `\n--- last lines of ${details.logName} ---\n${logTail || '(empty)'}`;
    super(EtcdStartError.code, `${message}${log}`, options);
    this.logTail = logTail;
  }
}
export const isEtcdStartError = (error: unknown): error is EtcdStartError =>
  hasCode(error, EtcdStartError.code);

/** `stop()` could not remove what it started (e.g. the container engine went away); `cause` says why. */
export class EtcdStopError extends ZtapError {
  static readonly code = 'ZTAP_TESTING_ETCD_STOP';

  constructor(message: string, options?: ErrorOptions) {
    super(EtcdStopError.code, message, options);
  }
}
export const isEtcdStopError = (error: unknown): error is EtcdStopError => hasCode(error, EtcdStopError.code);

/**
 * A bounded wait of this package ran out: a leader, a leadership, a member's health or exit. The
 * message says what was awaited and what was seen instead.
 */
export class WaitTimeoutError extends ZtapError {
  static readonly code = 'ZTAP_TESTING_TIMEOUT';
  /** What was awaited, e.g. `a leader that node-a and node-b agree on`. */
  readonly awaited: string;
  readonly timeoutMs: number;
  /** What was seen instead when the time ran out, e.g. `node-a sees no leader; node-b sees no leader`. */
  readonly seen: string;

  constructor(awaited: string, timeoutMs: number, seen: string, options?: ErrorOptions) {
    super(
      WaitTimeoutError.code,
      `timed out after ${timeoutMs} ms waiting for ${awaited}${seen ? `; seen instead: ${seen}` : ''}`,
      options,
    );
    this.awaited = awaited;
    this.timeoutMs = timeoutMs;
    this.seen = seen;
  }
}
export const isWaitTimeoutError = (error: unknown): error is WaitTimeoutError =>
  hasCode(error, WaitTimeoutError.code);

/** A lever that needs a running etcd member (pause, resume) was pulled on one that is not running. */
export class EtcdMemberStoppedError extends ZtapError {
  static readonly code = 'ZTAP_TESTING_MEMBER_STOPPED';
  /** The member's name, e.g. `etcd-2`. */
  readonly member: string;

  constructor(member: string, action: string) {
    super(
      EtcdMemberStoppedError.code,
      `cannot ${action} etcd member ${member}: it is not running (restart() it first)`,
    );
    this.member = member;
  }
}
export const isEtcdMemberStoppedError = (error: unknown): error is EtcdMemberStoppedError =>
  hasCode(error, EtcdMemberStoppedError.code);
