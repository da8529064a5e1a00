import { validateAddress, validateMetadata, validateNodeId } from '@ztap/cluster';
import type { Command } from 'commander';
import { parseDuration } from '../duration.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { ago, changeJson, countStates, listJson, metadataText, statusJson, table } from '../format.ts';
import { type CliIO, painter, writeLine } from '../io.ts';
import { collect, parseMetadata } from '../options.ts';
import { oneShot, streaming } from '../with-client.ts';

const examples = (lines: string[]) => `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;

export function registerClusterCommands(program: Command, io: CliIO): void {
  const cluster = program
    .command('cluster')
    .description('inspect and change cluster membership')
    .addHelpText(
      'after',
      examples(['ztap cluster status', 'ztap cluster list -o yaml', 'ztap cluster watch']),
    );

  cluster
    .command('status')
    .description('current leader and term, and how many nodes are healthy, unhealthy or unknown')
    .addHelpText(
      'after',
      `${examples(['ztap cluster status', 'ztap --cluster payments cluster status -o yaml'])}
Exits 1 when the cluster has no leader (so it can gate scripts and probes).`,
    )
    .action(async (_options, command: Command) =>
      oneShot(command, io, async ({ client, options, output, cluster: name }, call) => {
        const state = await client.getState(call);
        if (output.structured) output.document(statusJson(name, client.prefix, state));
        else {
          const paint = painter(io, options.color !== false);
          const counts = countStates(state);
          const leader = state.leader
            ? `${paint('bold', state.leader.id)} (term ${state.term}, ${state.leader.address})`
            : paint('red', 'none');
          for (const line of table([
            ['cluster', `${name} (${client.prefix})`],
            ['leader', leader],
            [
              'nodes',
              `${counts.total} (${paint('green', `${counts.healthy} healthy`)}, ${counts.unhealthy} unhealthy, ${counts.unknown} unknown)`,
            ],
          ]))
            writeLine(io.stdout, line);
        }
        if (!state.leader) throw new CliFailure(`no leader in cluster ${JSON.stringify(name)}`);
      }),
    );

  cluster
    .command('list')
    .description('every node: id, address, state, role, joined, last seen, metadata')
    .addHelpText('after', examples(['ztap cluster list', "ztap cluster list --json | jq '.nodes[].id'"]))
    .action(async (_options, command: Command) =>
      oneShot(command, io, async ({ client, options, output, cluster: name }, call) => {
        const state = await client.getState({ leaseTimes: true, ...call });
        if (output.structured) {
          output.document(listJson(name, client.prefix, state));
          return;
        }
        if (state.nodes.length === 0) {
          writeLine(io.stdout, `no nodes in cluster ${JSON.stringify(name)}`);
          return;
        }
        const paint = painter(io, options.color !== false);
        const now = new Date();
        const rows = [['ID', 'ADDRESS', 'STATE', 'ROLE', 'JOINED', 'LAST SEEN', 'METADATA']];
        for (const node of state.nodes) {
          rows.push([
            node.id,
            node.address,
            node.state,
            node.role,
            ago(node.joinedAt, now),
            ago(node.lastSeen, now),
            metadataText(node),
          ]);
        }
        const [header, ...lines] = table(rows);
        writeLine(io.stdout, paint('bold', header as string));
        for (const line of lines) writeLine(io.stdout, line);
      }),
    );

  cluster
    .command('join')
    .description('register a node (it shows as "unknown" until a node with that id runs)')
    .argument('<id>', 'node id: 1-128 characters, no "/", whitespace or control characters')
    .argument('<address>', 'where the node serves, host:port')
    .option('--meta <key=value>', 'a metadata label (repeatable)', collect, [])
    .addHelpText(
      'after',
      examples([
        'ztap cluster join node-2 192.168.1.2:9090',
        'ztap cluster join node-3 10.0.0.3:9090 --meta zone=eu-1',
      ]),
    )
    .action(async (id: string, address: string, local: { meta: string[] }, command: Command) =>
      oneShot(command, io, async ({ client, output, cluster: name }, call) => {
        // Checked here so errors name the arguments as the user typed them.
        validateNodeId(id, '<id>');
        validateAddress(address, '<address>');
        const metadata = validateMetadata(parseMetadata(local.meta), '--meta');
        await client.registerNode({ id, address, metadata }, call);
        if (output.structured) output.document({ joined: id, address, cluster: name });
        else writeLine(io.stdout, `node ${id} joined cluster ${name} at ${address}`);
      }),
    );

  cluster
    .command('leave')
    .description('remove a node (a running node joins again: stop its agent to remove it for good)')
    .argument('<id>', 'node id')
    .addHelpText('after', examples(['ztap cluster leave node-2']))
    .action(async (id: string, _local, command: Command) =>
      oneShot(command, io, async ({ client, output, cluster: name }, call) => {
        await client.deregisterNode(validateNodeId(id, '<id>'), call);
        if (output.structured) output.document({ left: id, cluster: name });
        else writeLine(io.stdout, `node ${id} left cluster ${name}`);
      }),
    );

  cluster
    .command('transfer')
    .description('hand leadership to a healthy candidate, and wait until it leads')
    .argument('<id>', 'node id of the candidate that is to lead')
    .option(
      '--if-term <term>',
      'only if the leader still holds this term (as `ztap cluster status` shows it)',
    )
    .option('--wait <duration>', 'how long the leader gives the target to lead, its drain included', '15s')
    .addHelpText(
      'after',
      `${examples(['ztap cluster transfer node-2', 'ztap cluster transfer node-2 --if-term 1234 --wait 30s'])}
The leader steps down first (its leader work drains), then the target leads with a higher term.
Exits 0 once the target leads, 1 with the reason otherwise (nothing is written when the term given
is not the leader's, or the target is unknown, unhealthy or not a candidate).`,
    )
    .action(async (id: string, local: { ifTerm?: string; wait: string }, command: Command) =>
      oneShot(command, io, async ({ client, output, cluster: name }) => {
        validateNodeId(id, '<id>');
        const timeoutMs = parseDuration(local.wait, '--wait');
        const ifTerm = local.ifTerm === undefined ? undefined : parseTerm(local.ifTerm);
        const result = await client.transferLeadership(id, { ifTerm, timeoutMs });
        if (output.structured) output.document({ leader: result.nodeId, term: result.term, cluster: name });
        else writeLine(io.stdout, `${result.nodeId} leads cluster ${name} (term ${result.term})`);
      }),
    );

  cluster
    .command('watch')
    .description('stream changes as they happen, until interrupted (Ctrl-C)')
    .option('--no-existing', 'do not start with the current members and leader')
    .addHelpText(
      'after',
      examples([
        'ztap cluster watch',
        'ztap cluster watch --json | jq -c \'select(.type=="leader_elected")\'',
      ]),
    )
    .action(async (local: { existing: boolean }, command: Command) =>
      streaming(command, io, async ({ client, options, output }) => {
        const controller = new AbortController();
        const stopListening = io.onShutdown(() => controller.abort());
        const paint = painter(io, options.color !== false);
        try {
          for await (const change of client.watch({
            signal: controller.signal,
            includeExisting: local.existing,
          })) {
            if (output.structured) {
              output.item(changeJson(change));
              continue;
            }
            const style =
              change.type === 'leader_elected' || change.type === 'node_healthy'
                ? 'green'
                : change.type === 'node_joined' || change.type === 'node_updated'
                  ? 'cyan'
                  : 'yellow';
            const term = change.term === undefined ? '' : ` term ${change.term}`;
            writeLine(
              io.stdout,
              `${paint('dim', change.timestamp.toISOString())}  ${paint(style, change.type.padEnd(14))}  ${change.node.id}${term}`,
            );
          }
        } finally {
          stopListening();
        }
      }),
    );
}

/** `--if-term`: a term is a whole number above 0 (an etcd revision). */
function parseTerm(text: string): number {
  const term = /^[1-9][0-9]*$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(term))
    throw new UsageError(`--if-term must be a term, a whole number above 0 (got ${JSON.stringify(text)})`);
  return term;
}
