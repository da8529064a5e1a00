import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthCheck, HealthVerdict } from '@ztap/cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { healthCheckFrom } from '../src/health-check.ts';

const check = (options: { healthCmd?: string; healthUrl?: string }) =>
  healthCheckFrom(options) as HealthCheck;
const run = (health: HealthCheck, signal = new AbortController().signal) =>
  Promise.resolve(health({ signal })) as Promise<HealthVerdict>;

describe('--health-cmd', () => {
  it('is healthy when the command exits 0', async () => {
    expect(await run(check({ healthCmd: 'echo fine; echo also-fine >&2; exit 0' }))).toEqual({
      healthy: true,
    });
  });

  it('says the exit status and the end of stderr, on one line', async () => {
    expect(await run(check({ healthCmd: 'echo ignored; printf "broken\\n  pipe\\n" >&2; exit 3' }))).toEqual({
      healthy: false,
      reason: 'health command exited with status 3: broken pipe',
    });
    expect(await run(check({ healthCmd: 'exit 1' }))).toEqual({
      healthy: false,
      reason: 'health command exited with status 1',
    });
  });

  it('quotes only the last 200 bytes of a long stderr', async () => {
    const verdict = await run(
      check({ healthCmd: 'head -c 5000 /dev/zero | tr "\\0" a >&2; echo " the end" >&2; exit 2' }),
    );
    expect(verdict.reason).toMatch(/^health command exited with status 2: a+ the end$/);
    expect(verdict.reason?.length).toBe('health command exited with status 2: '.length + 199);
  });

  it('says which signal killed the command', async () => {
    expect(await run(check({ healthCmd: 'echo dying >&2; kill -KILL $$' }))).toEqual({
      healthy: false,
      reason: 'health command was killed by SIGKILL: dying',
    });
  });

  it('does not wait for a background process that keeps stderr open after success', async () => {
    expect(await run(check({ healthCmd: 'sleep 5 & exit 0' }))).toEqual({ healthy: true });
  });
});

describe('--health-url', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });
  const serve = async (status: number) => {
    server = createServer((_request, response) => response.writeHead(status).end());
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/ready?token=secret`;
  };

  it('is healthy on 2xx and names any other HTTP status, never the URL', async () => {
    expect(await run(check({ healthUrl: await serve(204) }))).toEqual({ healthy: true });
    server?.close();
    const verdict = await run(check({ healthUrl: await serve(503) }));
    expect(verdict).toEqual({ healthy: false, reason: 'health URL answered HTTP 503 Service Unavailable' });
  });

  it('says why the URL could not be fetched', async () => {
    const url = await serve(200);
    server?.close();
    await new Promise((resolve) => server?.once('close', resolve));
    const verdict = await run(check({ healthUrl: url }));
    expect(verdict.healthy).toBe(false);
    expect(verdict.reason).toMatch(
      /^health URL could not be fetched: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );
    expect(verdict.reason).not.toContain('secret');
  });
});
