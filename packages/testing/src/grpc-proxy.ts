import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@ztap/cluster';
import { EtcdStartError } from './errors.ts';
import { resolveEtcdBinary } from './etcd/binary.ts';
import { etcdChildEnv } from './etcd/child-env.ts';
import { trackDir, trackProcess, untrackDir } from './etcd/cleanup.ts';
import { acceptsConnections, freeLoopbackPorts } from './etcd/ports.ts';
import { pollUntil, withTimeout } from './etcd/timing.ts';
import type { WaitOptions } from './etcd/types.ts';

/** etcd's gRPC proxy (`etcd grpc-proxy start`) in front of an etcd, on loopback. */
export interface GrpcProxy extends AsyncDisposable {
  /** Where clients connect instead of etcd: `http://127.0.0.1:<port>`. */
  readonly endpoints: readonly string[];
  /** The etcd endpoints behind it. */
  readonly upstream: readonly string[];
  /** Its process id. */
  readonly pid: number;
  /** Its log: the proxy's stdout and stderr. */
  readonly logFile: string;
  /** Freezes the proxy (SIGSTOP): it keeps its connections and answers nothing. */
  pause(): void;
  /** Thaws it (SIGCONT). */
  resume(): void;
  /** Ends it (SIGKILL unless `SIGTERM` is asked for) and removes its directory. Idempotent. */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

/** Options of {@link startGrpcProxy}. */
export interface GrpcProxyOptions extends WaitOptions {
  /** More `etcd grpc-proxy start` flags, last so they win. */
  readonly extraArgs?: readonly string[];
}

const LOG_TAIL_CHARS = 2_000;

/**
 * Starts etcd's gRPC proxy (`etcd grpc-proxy start`, from the same etcd binary `startEtcd` uses) in
 * front of `etcd`, listening on a free loopback port, and resolves once it accepts connections.
 * Clients given {@link GrpcProxy.endpoints} reach etcd through it: it coalesces identical watches
 * and keeps leases alive on their behalf (see docs/operations.md for what that changes). Plain
 * `http://` upstreams only: the proxy's TLS flags are the caller's to pass in `extraArgs`.
 */
export async function startGrpcProxy(
  etcd: { readonly endpoints: readonly string[] },
  options: GrpcProxyOptions = {},
): Promise<GrpcProxy> {
  const upstream = [...etcd.endpoints];
  if (upstream.length === 0) throw new ValidationError('etcd.endpoints', 'must name at least one endpoint');
  const hosts = upstream.map((endpoint, index) => {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:')
      throw new ValidationError(
        `etcd.endpoints[${index}]`,
        `must be an http:// URL (got ${JSON.stringify(endpoint)}): pass the proxy's TLS flags in extraArgs instead`,
      );
    return url.host;
  });
  const binary = await resolveEtcdBinary();
  const dir = await mkdtemp(join(tmpdir(), 'ztap-grpc-proxy-'));
  trackDir(dir);
  const [port] = await freeLoopbackPorts(1);
  const listen = `127.0.0.1:${port}`;
  const logFile = join(dir, 'proxy.log');
  const args = [
    'grpc-proxy',
    'start',
    `--endpoints=${hosts.join(',')}`,
    `--listen-addr=${listen}`,
    `--advertise-client-url=${listen}`,
    `--data-dir=${join(dir, 'data')}`,
    ...(options.extraArgs ?? []),
  ];
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary.path, args, { env: etcdChildEnv(process.env), stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  const tail = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-LOG_TAIL_CHARS);
    } catch {
      return '';
    }
  };
  try {
    await once(child, 'spawn');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    untrackDir(dir);
    throw new EtcdStartError(`could not run ${binary.path} grpc-proxy: ${error}`, {}, { cause: error });
  }
  const pid = child.pid as number;
  const tracked = trackProcess(pid, dir);
  let running = true;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running = false;
      tracked.onExit();
      resolve();
    }),
  );
  child.unref();
  const timeoutMs = options.timeoutMs ?? 20_000;
  const stop = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL') => {
    if (running) {
      child.kill(signal);
      if (signal === 'SIGTERM') child.kill('SIGCONT');
      await withTimeout(exited, 10_000, `the gRPC proxy (pid ${pid}) to exit`);
    }
    await rm(dir, { recursive: true, force: true });
    untrackDir(dir);
  };
  try {
    await pollUntil(
      async () => {
        if (!running)
          throw new EtcdStartError('the gRPC proxy exited while starting', {
            logTail: tail(),
            logName: 'the proxy log',
          });
        return (await acceptsConnections(port as number, 500)) || undefined;
      },
      {
        timeoutMs,
        onTimeout: () =>
          new EtcdStartError(`the gRPC proxy did not accept connections within ${timeoutMs} ms`, {
            logTail: tail(),
            logName: 'the proxy log',
          }),
        signal: options.signal,
      },
    );
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  const signalChild = (signal: NodeJS.Signals) => {
    if (running) child.kill(signal);
  };
  return {
    endpoints: [`http://${listen}`],
    upstream,
    pid,
    logFile,
    pause: () => signalChild('SIGSTOP'),
    resume: () => signalChild('SIGCONT'),
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}
