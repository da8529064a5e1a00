#!/usr/bin/env node
import { processIO } from './io.ts';
import { main } from './program.ts';

// grpc-js passes IP addresses as TLS server names (Node's DEP0123): a library detail, not something
// an operator can act on, and it would break the one-line-per-failure promise.
process.noDeprecation = true;

process.exitCode = await main(process.argv.slice(2), processIO());
// Once the command is done and its output is out, nothing is left to wait for. etcd3 keeps a channel
// that is still connecting alive for another second after close() (its workaround for grpc-node
// #1487), which would stretch a command --timeout bounds past its deadline.
await Promise.all(
  [process.stdout, process.stderr].map((stream) => new Promise((flushed) => stream.write('', flushed))),
);
process.exit();
