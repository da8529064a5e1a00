/**
 * Where a test's etcd comes from: a container started by Testcontainers, `etcd` processes started from a
 * local binary, or an etcd someone else runs (given in `ZTAP_TEST_ETCD_ENDPOINTS`).
 */
export type EtcdProvider = 'container' | 'local' | 'external';

/**
 * A running etcd (one server or a cluster) that a test talks to, and owns until {@link stop}:
 * `await using etcd = await startEtcd()` stops it when the scope ends.
 */
export interface EtcdHandle extends AsyncDisposable {
  /**
   * Client URLs, e.g. `['http://127.0.0.1:40123']`: what `EtcdElection` takes as `endpoints` (and an
   * etcd client as `hosts`).
   */
  readonly endpoints: readonly string[];
  readonly provider: EtcdProvider;
  /** The etcd server version, as etcd reports it, e.g. `3.5.21`. */
  readonly version: string;
  /** For people reading test output, e.g. `local etcd 3.4.23 (/usr/bin/etcd) on 127.0.0.1:40123`. */
  readonly description: string;
  /** The processes behind it when {@link provider} is `'local'`; empty otherwise. */
  readonly members: readonly EtcdMember[];
  /** The container behind it when {@link provider} is `'container'`; `undefined` otherwise. */
  readonly container?: EtcdContainerInfo;
  /** How its client port speaks TLS, when it was started with `tls`; `undefined` for plaintext. */
  readonly tls?: EtcdServerTls | undefined;
  /**
   * Ends everything this handle started and removes its data (the container, the processes and their
   * data dirs); a no-op for `'external'`. Idempotent: every call returns the same promise.
   */
  stop(): Promise<void>;
}

/** The container running an etcd of the `'container'` provider. */
export interface EtcdContainerInfo {
  /** The engine's id of the container. */
  readonly id: string;
  /** The container's name, which is also the etcd member's name (`ztap-etcd-<random>`). */
  readonly name: string;
  /** The image it runs, as asked for (`ZTAP_TEST_ETCD_IMAGE`, else {@link DEFAULT_ETCD_IMAGE}). */
  readonly image: string;
}

/**
 * TLS on the client port of local etcd processes, as PEM files. The endpoints become `https://`; peers
 * keep talking plaintext on loopback.
 */
export interface EtcdServerTls {
  /** The server certificate (valid for 127.0.0.1) and its key. */
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA that signed the server certificate: the launcher's own requests trust it. */
  readonly caFile: string;
  /**
   * Requires client certificates signed by `caFile` (`--client-cert-auth --trusted-ca-file`); the
   * launcher's own requests (health, status, version) present this one.
   */
  readonly clientCert?: { readonly certFile: string; readonly keyFile: string };
}

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /**
   * Forces a provider, ahead of every environment variable. Tests that need a local process (to kill or
   * pause it, or for TLS) say `'local'`; without it the environment decides (see {@link startEtcd}).
   */
  readonly provider?: EtcdProvider;
  /**
   * More etcd flags, after the launcher's own (so they win), e.g. `['--quota-backend-bytes', '16777216']`
   * or `['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '10']`. Applied to local
   * processes and containers; an external etcd cannot take them, so asking for them there throws.
   */
  readonly extraArgs?: readonly string[];
  /** How long a start may take before it fails (with etcd's log); 20 s locally, 60 s for a container. */
  readonly startupTimeoutMs?: number;
  /** Serve clients over TLS; only the `'local'` provider can (it must be asked for). */
  readonly tls?: EtcdServerTls;
  /**
   * Aborting it rejects the start with the signal's reason; whatever was started is removed (a
   * container Testcontainers is still creating, as soon as it exists).
   */
  readonly signal?: AbortSignal | undefined;
}

/** Options of a bounded wait on etcd members. */
export interface WaitOptions {
  /** How long to wait before failing; the default depends on the wait. */
  readonly timeoutMs?: number;
  /** Aborting it rejects the wait with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of local etcd members: those of {@link startEtcdCluster} but the member count. */
export interface EtcdClusterOptions {
  /** More etcd flags for every member, after the launcher's own (so they win). */
  readonly extraArgs?: readonly string[];
  /** How long the cluster may take to become healthy before the start fails; 20 s by default. */
  readonly startupTimeoutMs?: number;
  /** Serve clients over TLS (every member, with the same certificate). */
  readonly tls?: EtcdServerTls;
  /**
   * The peer URL the other members dial to reach a member, given the one it listens on (default: that
   * one): put a proxy there to delay or cut the traffic between members, as across a WAN.
   */
  readonly advertisePeerUrl?: (member: {
    readonly name: string;
    readonly index: number;
    readonly peerUrl: string;
  }) => string | Promise<string>;
  /** Aborting it rejects the start with the signal's reason, and the members are stopped. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link startEtcdCluster}. */
export interface StartEtcdClusterOptions extends EtcdClusterOptions {
  /** How many members, e.g. 3 (a majority survives one failure). At least 1. */
  readonly members: number;
}

/** Options of {@link EtcdMember.restart}. */
export interface RestartOptions extends WaitOptions {
  /**
   * Wait until the member reports healthy (it has a leader and serves a quorum read); `true` by default.
   * Say `false` while the cluster has no quorum (e.g. restarting members one by one after killing them
   * all): the restart then waits only until the member listens on its ports.
   */
  readonly waitForHealth?: boolean;
  /** Bound on that wait; 20 s by default. */
  readonly timeoutMs?: number;
}

/**
 * One local etcd process of a cluster, with the levers chaos tests pull. Its name, ports and data survive
 * {@link kill} and {@link stop}, so {@link restart} brings the same member back.
 */
export interface EtcdMember {
  /** The etcd `--name`, unique within its cluster. */
  readonly name: string;
  /** Its client URL, e.g. `http://127.0.0.1:40123` (`https://` with TLS). */
  readonly clientUrl: string;
  /** Its peer (raft) URL. */
  readonly peerUrl: string;
  /**
   * The pid of its latest process; a restart changes it, and after an exit it names a process that is
   * gone (check {@link running} before signalling it yourself).
   */
  readonly pid: number;
  /** Whether its process is alive (paused counts as alive). */
  readonly running: boolean;
  /** Whether it is paused by {@link pause}. */
  readonly paused: boolean;
  /** Holds its data dir (`data/`) and its log (`etcd.log`, appended to across restarts). */
  readonly dir: string;
  /** Its log file: etcd's stdout and stderr. */
  readonly logFile: string;
  /**
   * Ends the process with `signal` (SIGKILL by default: a crash, no goodbye to its peers) and resolves
   * once it has exited. Does nothing if it is not running.
   */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Freezes the process (SIGSTOP): it holds its ports and leases but answers nothing. */
  pause(): void;
  /** Thaws a paused process (SIGCONT). */
  resume(): void;
  /** Stops it if it runs (like {@link stop}), then starts it again with the same data dir and ports. */
  restart(options?: RestartOptions): Promise<void>;
  /**
   * Resolves once it reports healthy (it has a leader and serves a quorum read); rejects with an
   * `EtcdStartError` after `timeoutMs` (20 s by default) or if it exits.
   */
  waitForHealth(options?: WaitOptions): Promise<void>;
  /** Ends it gracefully (SIGTERM, SIGKILL after a few seconds); keeps its data for {@link restart}. */
  stop(): Promise<void>;
}

/** Local etcd members on loopback forming one cluster; also usable wherever an {@link EtcdHandle} is. */
export interface EtcdCluster extends EtcdHandle {
  readonly provider: 'local';
  readonly members: readonly EtcdMember[];
  /**
   * The member that is raft leader right now: it says so, and every running, unpaused member that answers
   * follows it. Polls until that holds (an election may be under way); fails with a `WaitTimeoutError`
   * saying what each member said after `timeoutMs` (10 s by default).
   */
  leader(options?: WaitOptions): Promise<EtcdMember>;
}
