import { type CallOptions, EtcdClusterClient, isEtcdUnavailableError } from '@ztap/cluster-etcd';
import type { Command } from 'commander';
import { connectionSettingsFrom } from './connection.ts';
import { CliFailure, EXIT } from './errors.ts';
import type { CliIO } from './io.ts';
import type { GlobalOptions } from './options.ts';
import { type Output, outputFormat, outputTo } from './output.ts';

/** What a command's work is given: an open client and how to report. */
export interface ClientContext {
  readonly client: EtcdClusterClient;
  readonly options: GlobalOptions;
  readonly output: Output;
  /** The cluster's name for messages (its prefix when one was given). */
  readonly cluster: string;
}

/**
 * Runs a one-shot command (status, list, join, leave, policy push/get/list/delete): `--timeout`
 * bounds all of its etcd work, retries included, through the `call` options `work` hands to every
 * request. When it runs out, one line names the endpoints and the timeout.
 */
export async function oneShot<T>(
  command: Command,
  io: CliIO,
  work: (context: ClientContext, call: CallOptions) => Promise<T>,
): Promise<T> {
  const options = command.optsWithGlobals<GlobalOptions>();
  const output = outputTo(io, outputFormat(options));
  const { connection, timeout, cluster } = connectionSettingsFrom(options, io);
  await using client = new EtcdClusterClient(connection);
  const deadline = new Date(Date.now() + (connection.requestTimeout as number));
  try {
    // `return await`: the client must outlive the work, not be disposed when the promise is returned.
    return await work({ client, options, output, cluster }, { deadline });
  } catch (error) {
    if (isEtcdUnavailableError(error) && Date.now() >= deadline.getTime())
      throw new CliFailure(
        `etcd at ${error.endpoints.join(', ')} did not answer within ${timeout.value} (${timeout.source}) — is etcd running, and are the endpoints right?`,
        EXIT.failure,
        { cause: error },
      );
    throw error;
  }
}

/**
 * Runs a streaming command (watch) until it ends or is interrupted: `--timeout` bounds each request
 * (a stream has no end to bound), and a watch that hears nothing for that long checks in with etcd.
 */
export async function streaming<T>(
  command: Command,
  io: CliIO,
  work: (context: ClientContext) => Promise<T>,
): Promise<T> {
  const options = command.optsWithGlobals<GlobalOptions>();
  const output = outputTo(io, outputFormat(options));
  const { connection, cluster } = connectionSettingsFrom(options, io);
  await using client = new EtcdClusterClient(connection);
  return await work({ client, options, output, cluster });
}
