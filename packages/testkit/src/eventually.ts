import { setTimeout as pause } from 'node:timers/promises';

/**
 * Polls `condition` every `intervalMs` until it holds, failing after `timeoutMs` with `what` in the
 * message. For states no event announces (a process's scheduler state, etcd's contents); where an
 * event exists, await the event instead.
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'the condition',
  intervalMs = 10,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(intervalMs);
  }
}
