#!/usr/bin/env node
import { processIO } from './io.ts';
import { main } from './program.ts';

// grpc-js passes IP addresses as TLS server names (Node's DEP0123): a library detail, not something
// an operator can act on, and it would break the one-line-per-failure promise.
process.noDeprecation = true;

process.exitCode = await main(process.argv.slice(2), processIO());
