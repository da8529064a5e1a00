import { spawn } from 'node:child_process';
import type { HealthCheck, HealthVerdict } from '@ztap/cluster';
import { oneLine } from '@ztap/cluster/backend';
import { UsageError } from './errors.ts';

/** How much of a failing health command's stderr its reason quotes (the end: where errors are). */
export const STDERR_TAIL_BYTES = 200;

const HEALTHY: HealthVerdict = { healthy: true };

/**
 * The agent's application health check: a shell command (healthy when it exits 0) or an HTTP URL
 * (healthy on a 2xx answer). Either is abandoned when the election's deadline signal aborts. A
 * failure says why: the command's exit status or signal and the end of its stderr, or the URL's
 * HTTP status (never the URL itself: it may carry credentials).
 */
export function healthCheckFrom(options: {
  healthCmd?: string;
  healthUrl?: string;
}): HealthCheck | undefined {
  if (options.healthCmd !== undefined && options.healthUrl !== undefined) {
    throw new UsageError('--health-cmd and --health-url are alternatives: give one');
  }
  if (options.healthCmd !== undefined) return commandCheck(options.healthCmd);
  if (options.healthUrl !== undefined) return urlCheck(options.healthUrl);
  return undefined;
}

function commandCheck(command: string): HealthCheck {
  return ({ signal }) =>
    new Promise<HealthVerdict>((resolve) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'], signal });
      const stderr = new TailBuffer(STDERR_TAIL_BYTES);
      child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
      const settle = (verdict: HealthVerdict) => {
        // A background process may still hold the pipe open; we have what we need.
        child.stderr?.destroy();
        resolve(verdict);
      };
      child.on('error', (error) => {
        if (!signal.aborted)
          settle({ healthy: false, reason: `health command could not be started: ${error.message}` });
      });
      // Success needs no stderr; a failure waits for 'close', when all of its stderr has been read.
      child.on('exit', (code) => {
        if (code === 0) settle(HEALTHY);
      });
      child.on('close', (code, signalName) => {
        if (code === 0) return;
        const tail = stderr.text();
        const how = signalName ? `was killed by ${signalName}` : `exited with status ${code}`;
        settle({ healthy: false, reason: `health command ${how}${tail ? `: ${tail}` : ''}` });
      });
    });
}

function urlCheck(text: string): HealthCheck {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--health-url must be an http(s) URL (got ${JSON.stringify(text)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--health-url must be an http(s) URL (got ${JSON.stringify(text)})`);
  }
  return async ({ signal }) => {
    let response: Response;
    try {
      response = await fetch(url, { signal });
    } catch (error) {
      if (signal.aborted) throw error;
      const cause = (error as { cause?: unknown }).cause;
      const detail = cause instanceof Error ? cause.message : (error as Error).message;
      return { healthy: false, reason: `health URL could not be fetched: ${detail}` };
    }
    await response.body?.cancel();
    if (response.ok) return HEALTHY;
    const status = `${response.status} ${response.statusText}`.trim();
    return { healthy: false, reason: `health URL answered HTTP ${status}` };
  };
}

/** The last `limit` bytes written to it, as one line of text. */
class TailBuffer {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #length = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    // Keep memory bounded however much a command writes.
    if (this.#length > 4 * this.#limit) this.#compact();
  }

  /** The tail on one line: a character cut in half at the start is dropped, whitespace collapsed. */
  text(): string {
    this.#compact();
    return oneLine(
      Buffer.concat(this.#chunks)
        .toString('utf8')
        .replace(/^\uFFFD+/, ''),
    );
  }

  #compact(): void {
    const all = Buffer.concat(this.#chunks);
    const tail = all.subarray(Math.max(0, all.length - this.#limit));
    this.#chunks = [tail];
    this.#length = tail.length;
  }
}
