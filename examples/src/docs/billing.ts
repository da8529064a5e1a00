import { setTimeout as delay } from 'node:timers/promises';

/**
 * Stands in for your own leader-only work in docs/getting-started.md: it settles a batch of invoices
 * every second until its signal aborts. The signal goes to everything that can be cancelled (here a
 * timer, which then rejects with an `AbortError`, as `fetch` and database drivers do).
 */
export async function settleInvoices({ term, signal }: { term: number; signal: AbortSignal }): Promise<void> {
  console.log(`term ${term}: settling invoices`);
  try {
    for (;;) await delay(1000, undefined, { signal });
  } finally {
    console.log(`term ${term}: stopped settling invoices (${(signal.reason as Error).message})`);
  }
}
