import { readFileSync } from 'node:fs';
import { type Policy, validatePolicyDocument, validatePolicyName } from '@ztap/cluster';
import type { Command } from 'commander';
import { CliFailure, UsageError } from '../errors.ts';
import { ago, table } from '../format.ts';
import { type CliIO, painter, writeLine } from '../io.ts';
import { oneShot, streaming } from '../with-client.ts';

const examples = (lines: string[]) => `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;

/** The stable JSON shape of a policy (docs/policies.md). */
export function policyJson(policy: Policy, withDocument = true) {
  return {
    name: policy.name,
    version: policy.version,
    updatedAt: policy.updatedAt.toISOString(),
    updatedBy: policy.updatedBy,
    ...(withDocument ? { document: policy.document } : {}),
  };
}

function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text))
    throw new UsageError(
      `--if-version must be a whole number, 0 meaning "only if it does not exist" (got ${JSON.stringify(text)})`,
    );
  return Number(text);
}

/** The file's bytes: the library checks they are UTF-8 (a decode here would hide bad bytes as U+FFFD). */
function readDocument(file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (error) {
    throw new UsageError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
}

export function registerPolicyCommands(program: Command, io: CliIO): void {
  const policy = program
    .command('policy')
    .description('versioned policies: push, get, list, watch, delete')
    .addHelpText(
      'after',
      `${examples(['ztap policy push web ./web.yaml', 'ztap policy list', 'ztap policy watch --json'])}
Operators write with these commands (compare-and-set with --if-version); inside services only the
elected leader writes, fenced by its term. See docs/policies.md.`,
    );

  policy
    .command('push')
    .description('publish a policy from a YAML file ("-" reads standard input)')
    .argument('<name>', 'policy name: lowercase letters, digits, ".", "_", "-"')
    .argument('<file>', 'YAML document, or - for standard input')
    .option('--if-version <n>', 'write only if the policy is at version n (0: only if it does not exist yet)')
    .addHelpText(
      'after',
      `${examples(['ztap policy push web ./web.yaml', 'ztap policy push web ./web.yaml --if-version 1843'])}
The file must be one UTF-8 YAML document. A document identical to the current version writes
nothing: ztap says "unchanged" and exits 0.`,
    )
    .action(async (name: string, file: string, local: { ifVersion?: string }, command: Command) => {
      validatePolicyName(name, '<name>');
      const ifVersion = parseVersion(local.ifVersion);
      const document = validatePolicyDocument(readDocument(file), file === '-' ? 'standard input' : file);
      await oneShot(command, io, async ({ client, output }, call) => {
        const stored = await client.policies.push(name, document, {
          ...(ifVersion === undefined ? {} : { ifVersion }),
          ...call,
        });
        if (output.structured) output.document({ ...policyJson(stored, false), changed: stored.changed });
        else if (stored.changed) writeLine(io.stdout, `policy ${name} is at version ${stored.version}`);
        else writeLine(io.stdout, `unchanged: policy ${name} is already at version ${stored.version}`);
      });
    });

  policy
    .command('get')
    .description('print a policy document (with -o json or -o yaml: its version and who wrote it, too)')
    .argument('<name>', 'policy name')
    .addHelpText(
      'after',
      examples(['ztap policy get web > web.yaml', 'ztap policy get web --json | jq .version']),
    )
    .action(async (name: string, _local, command: Command) =>
      oneShot(command, io, async ({ client, output }, call) => {
        const found = await client.policies.get(validatePolicyName(name, '<name>'), call);
        if (!found) throw new CliFailure(`no policy ${JSON.stringify(name)} in this cluster`);
        if (output.structured) output.document(policyJson(found));
        else io.stdout.write(found.document.endsWith('\n') ? found.document : `${found.document}\n`);
      }),
    );

  policy
    .command('list')
    .description('every policy with its version, when and by whom it was written')
    .addHelpText('after', examples(['ztap policy list', 'ztap policy list -o yaml']))
    .action(async (_local, command: Command) =>
      oneShot(command, io, async ({ client, options, output }, call) => {
        const policies = await client.policies.list(call);
        if (output.structured) {
          output.document({ prefix: client.prefix, policies: policies.map((p) => policyJson(p, false)) });
          return;
        }
        if (policies.length === 0) {
          writeLine(io.stdout, 'no policies');
          return;
        }
        const now = new Date();
        const [header, ...rows] = table([
          ['NAME', 'VERSION', 'UPDATED', 'BY'],
          ...policies.map((p) => [p.name, String(p.version), ago(p.updatedAt, now), p.updatedBy]),
        ]);
        writeLine(io.stdout, painter(io, options.color !== false)('bold', header as string));
        for (const row of rows) writeLine(io.stdout, row);
      }),
    );

  policy
    .command('watch')
    .description('stream policy changes until interrupted: a snapshot first, then every change')
    .addHelpText('after', examples(['ztap policy watch', 'ztap policy watch --json']))
    .action(async (_local, command: Command) =>
      streaming(command, io, async ({ client, output }) => {
        const controller = new AbortController();
        const stopListening = io.onShutdown(() => controller.abort());
        try {
          for await (const update of client.policies.subscribe({ signal: controller.signal })) {
            if (output.structured) {
              output.item(
                update.type === 'snapshot'
                  ? { type: 'snapshot', policies: update.policies.map((p) => policyJson(p, false)) }
                  : update.type === 'updated'
                    ? { type: 'updated', policy: policyJson(update.policy, false) }
                    : update,
              );
            } else if (update.type === 'snapshot') {
              writeLine(
                io.stdout,
                `snapshot: ${update.policies.map((p) => `${p.name}@${p.version}`).join(', ') || '(no policies)'}`,
              );
            } else if (update.type === 'updated') {
              writeLine(
                io.stdout,
                `updated  ${update.policy.name}@${update.policy.version} by ${update.policy.updatedBy}`,
              );
            } else {
              writeLine(io.stdout, `deleted  ${update.name}@${update.version}`);
            }
          }
        } finally {
          stopListening();
        }
      }),
    );

  policy
    .command('delete')
    .description('delete a policy (say so if there was none)')
    .argument('<name>', 'policy name')
    .option('--if-version <n>', 'delete only if the policy is at version n')
    .addHelpText('after', examples(['ztap policy delete web', 'ztap policy delete web --if-version 1843']))
    .action(async (name: string, local: { ifVersion?: string }, command: Command) =>
      oneShot(command, io, async ({ client, output }, call) => {
        const ifVersion = parseVersion(local.ifVersion);
        const deleted = await client.policies.delete(validatePolicyName(name, '<name>'), {
          ...(ifVersion === undefined ? {} : { ifVersion }),
          ...call,
        });
        if (!deleted) throw new CliFailure(`no policy ${JSON.stringify(name)} in this cluster`);
        if (output.structured) output.document({ deleted: name });
        else writeLine(io.stdout, `policy ${name} deleted`);
      }),
    );
}
