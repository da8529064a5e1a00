import { EtcdClusterClient } from '@ztap/cluster-etcd';
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { connectionFrom, type GlobalOptions } from './options.ts';

/** Opens a read/admin client from the global options and closes it when `work` is done. */
export async function withClient<T>(
  command: Command,
  io: CliIO,
  work: (client: EtcdClusterClient, options: GlobalOptions) => Promise<T>,
): Promise<T> {
  const options = command.optsWithGlobals<GlobalOptions>();
  await using client = new EtcdClusterClient(connectionFrom(options, io));
  // `return await`: the client must outlive the work, not be disposed when the promise is returned.
  return await work(client, options);
}
