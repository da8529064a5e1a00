import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { containerRuntimeCandidates, dockerApiAnswers } from '../src/etcd/container-runtime.ts';

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

    const started = performance.now();
    expect(await dockerApiAnswers(`unix://${path}`, 300)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
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
