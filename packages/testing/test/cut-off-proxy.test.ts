import { once } from 'node:events';
import { connect } from 'node:net';
import { isValidationError } from '@ztap/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutOffProxy, type EtcdHandle, startEtcd } from '../src/index.ts';
import { get, put } from './etcd-helpers.ts';

describe('cutOffProxy', () => {
  let etcd: EtcdHandle;
  beforeAll(async () => {
    etcd = await startEtcd({ provider: 'local' });
  });
  afterAll(() => etcd?.stop());

  /** What a request through `endpoint` ends with: the value read, or the error's code. */
  const read = (endpoint: string, key: string) =>
    get(endpoint, key).then(
      (value) => `read ${value}`,
      (error: NodeJS.ErrnoException) => error.code ?? error.message,
    );

  it('passes traffic until cut, refuses it while cut, and passes it again once healed', async () => {
    await using link = await cutOffProxy(etcd);
    const [through] = link.endpoints as [string];
    expect(through).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(through).not.toBe(etcd.endpoints[0]);
    expect(link.isCut).toBe(false);

    await put(through, 'link', 'up');
    expect(await read(through, 'link')).toBe('read up');

    link.cut();
    expect(link.isCut).toBe(true);
    expect(await read(through, 'link')).toBe('ECONNRESET');
    // Only this link is cut: etcd itself still answers everyone else.
    expect(await read(etcd.endpoints[0] as string, 'link')).toBe('read up');

    link.heal();
    expect(link.isCut).toBe(false);
    expect(await read(through, 'link')).toBe('read up');
  });

  it('drops connections that are open when it is cut, as a failed network would', async () => {
    await using link = await cutOffProxy(etcd);
    const port = Number(new URL(link.endpoints[0] as string).port);
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.on('error', () => {}); // the reset is the point
    const closed = once(socket, 'close');
    link.cut();
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it('proxies every endpoint, keeps each scheme, and stays cut once closed', async () => {
    const [endpoint] = etcd.endpoints as [string];
    const tlsLike = endpoint.replace('http:', 'https:');
    const link = await cutOffProxy([endpoint, tlsLike]);
    expect(link.endpoints).toHaveLength(2);
    expect(link.endpoints[1]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await read(link.endpoints[0] as string, 'missing')).toBe('read undefined');
    await link.close();
    await link.close(); // idempotent
    link.heal();
    expect(link.isCut).toBe(true);
    expect(await read(link.endpoints[0] as string, 'missing')).toBe('ECONNREFUSED');
  });

  it('refuses what it cannot proxy, naming the argument', async () => {
    for (const bad of [[], ['127.0.0.1:2379'], ['unix:///tmp/etcd.sock']]) {
      const error = await cutOffProxy(bad).catch((caught: unknown) => caught);
      expect(isValidationError(error) && error.field, JSON.stringify(bad)).toBe('etcd.endpoints');
    }
  });
});
