import { readFileSync } from 'node:fs';
import type { Meter, MeterProvider } from '@opentelemetry/api';

/**
 * This package's name and version: an instrumentation library names its meter after itself, so a
 * reader can tell whose instruments these are (`otel_scope_name` on a Prometheus scrape).
 */
function packageIdentity(): { name: string; version: string } {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return { name: manifest.name, version: manifest.version };
}

let identity: { name: string; version: string } | undefined;

/** The meter of this package on `provider`. */
export function clusterMeter(provider: MeterProvider): Meter {
  identity ??= packageIdentity();
  return provider.getMeter(identity.name, identity.version);
}
