import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkContainerRuntimeAt,
  containerRuntimeCandidates,
  dockerApiAnswers,
} from '../src/etcd/container-runtime.ts';

describe('dockerApiAnswers', () => {
  let dir: string;
  let server: Server;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ztap-docker-sock-'));
  });
  afterEach(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives up on a socket that accepts but never answers, within its bound, and closes the connection', async () => {
    const path = join(dir, 'silent.sock');
    const accepted: Socket[] = [];
    server = createServer((socket) => {
      accepted.push(socket);
      socket.resume(); // read (and drop) the request, so the client's close is seen
    });
    server.listen(path);
    await once(server, 'listening');

    expect(await dockerApiAnswers(`unix://${path}`, 300)).toBe(false);
    expect(accepted).toHaveLength(1);
    const [socket] = accepted as [Socket];
    if (!socket.destroyed) await once(socket, 'close');
  });

  it('accepts any HTTP answer', async () => {
    const path = join(dir, 'docker.sock');
    server = createHttpServer((_, response) => response.end('OK'));
    server.listen(path);
    await once(server, 'listening');
    expect(await dockerApiAnswers(`unix://${path}`, 2_000)).toBe(true);
    expect(await dockerApiAnswers(`unix://${join(dir, 'missing.sock')}`, 2_000)).toBe(false);
  });
});

describe('containerRuntimeCandidates', () => {
  const context = (env: NodeJS.ProcessEnv, files: Record<string, string> = {}) => ({
    env,
    home: '/home/tester',
    uid: 1000,
    platform: 'linux' as const,
    exists: (path: string) => path in files,
    readFile: (path: string) => files[path] ?? '',
  });

  it('follows Testcontainers: tc.host, DOCKER_HOST over docker.host, the root socket, one rootless socket', () => {
    const files = {
      '/home/tester/.testcontainers.properties': 'tc.host=tcp://tc:2375\ndocker.host = unix:///props.sock\n',
      '/var/run/docker.sock': '',
      '/run/user/1000/docker.sock': '',
      '/home/tester/.docker/run/docker.sock': '',
    };
    expect(containerRuntimeCandidates(context({ DOCKER_HOST: 'unix:///env.sock' }, files))).toEqual([
      'tcp://tc:2375',
      'unix:///env.sock',
      'unix:///var/run/docker.sock',
      'unix:///home/tester/.docker/run/docker.sock',
    ]);
    expect(containerRuntimeCandidates(context({}, files))).toContain('unix:///props.sock');
  });

  it('finds nothing where nothing is', () => {
    expect(containerRuntimeCandidates(context({}))).toEqual([]);
  });
});

describe('checkContainerRuntimeAt', () => {
  let dir: string;
  let server: Server | undefined;
  let http: HttpServer | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ztap-docker-sock-'));
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    server?.close();
    http?.closeAllConnections(); // the requests it never answered
    http?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('says no, within its bound, when no candidate answers', async () => {
    const path = join(dir, 'silent.sock');
    server = createServer((socket) => socket.resume());
    server.listen(path);
    await once(server, 'listening');
    const check = await checkContainerRuntimeAt([`unix://${path}`], { pingTimeoutMs: 300 });
    expect(check).toEqual({ available: false, reason: `no answer within 300 ms from unix://${path}` });
  });

  it('says no, within its bound, when an engine answers /_ping but then stalls Testcontainers', async () => {
    const path = join(dir, 'stalling.sock');
    const stalled: string[] = [];
    const stalling = createHttpServer((request, response) => {
      if (request.url?.endsWith('/_ping')) response.end('OK');
      else stalled.push(request.url ?? ''); // never answered
    });
    http = stalling;
    stalling.listen(path);
    await once(stalling, 'listening');
    vi.stubEnv('DOCKER_HOST', `unix://${path}`);
    const check = await checkContainerRuntimeAt([`unix://${path}`], { clientTimeoutMs: 500 });
    expect(check.available).toBe(false);
    expect(check.available || check.reason).toMatch(
      /^Testcontainers found no usable engine after \d+ ms: .*timed out after 500 ms waiting for Testcontainers setup/,
    );
    expect(stalled.length).toBeGreaterThan(0); // it did get past /_ping
  });
});
