/**
 * A signal that aborts on the first SIGTERM or SIGINT, so the program can stop its work, resign and
 * exit 0 by itself. A second SIGTERM or SIGINT exits at once with status 1, for an operator who will
 * not wait. Call it first thing, before anything slow, so no signal ever finds the default handler.
 */
export function shutdownSignal(log: (line: string) => void = console.log): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(1);
    log(`${signal}: shutting down`);
    controller.abort(new Error(`shutting down (${signal})`));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return controller.signal;
}

/** Resolves when `signal` aborts (at once if it already has). */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
