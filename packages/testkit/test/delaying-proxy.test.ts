import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { DelayingProxy, type DelayingProxyOptions, dialerPid } from '@ztap/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventually } from '../src/eventually.ts';

/** An echo server on loopback that also records what it received. */
async function echoServer(): Promise<{ server: Server; url: string; received: () => string }> {
  let received = '';
  const server = createServer((socket) => {
    socket.on('data', (chunk) => {
      received += chunk.toString();
      socket.write(chunk);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}`, received: () => received };
}

async function dial(proxy: DelayingProxy): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect(proxy.port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString();
  });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return { socket, received: () => received };
}

/** Lets real I/O callbacks run (fake timers leave setImmediate alone here). */
const io = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('DelayingProxy', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  const proxies: DelayingProxy[] = [];
  const sockets: Socket[] = [];
  beforeEach(async () => {
    echo = await echoServer();
  });
  afterEach(async () => {
    vi.useRealTimers();
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  });

  async function start(options: Partial<DelayingProxyOptions> = {}) {
    const proxy = await DelayingProxy.start({ target: echo.url, delayMs: 0, ...options });
    proxies.push(proxy);
    return proxy;
  }

  it('holds every chunk for the delay in each direction, then delivers it in order', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const proxy = await start({ delayMs: 1000 });
    const client = await dial(proxy);
    sockets.push(client.socket);
    client.socket.write('one,');
    client.socket.write('two');
    await eventually(() => vi.getTimerCount() > 0, 5_000, 'the proxy to queue the bytes');
    for (let step = 0; step < 5; step++) await io();
    expect(echo.received()).toBe('');
    await vi.advanceTimersByTimeAsync(999);
    for (let step = 0; step < 5; step++) await io();
    expect(echo.received()).toBe('');
    await vi.advanceTimersByTimeAsync(1);
    await eventually(() => echo.received() === 'one,two', 5_000, 'the server to get both chunks');
    // The echo comes back through the proxy: held again for the delay.
    await eventually(() => vi.getTimerCount() > 0, 5_000, 'the proxy to queue the echo');
    expect(client.received()).toBe('');
    await vi.advanceTimersByTimeAsync(1000);
    await eventually(() => client.received() === 'one,two', 5_000, 'the client to get the echo');
  });

  it('carries a large transfer intact', async () => {
    const proxy = await start({ delayMs: 5 });
    const client = await dial(proxy);
    sockets.push(client.socket);
    const payload = Array.from({ length: 20_000 }, (_, index) => `${index};`).join('');
    client.socket.write(payload);
    await eventually(() => client.received().length === payload.length, 10_000, 'the echo of 100 KiB');
    expect(client.received()).toBe(payload);
  });

  it('cuts one source off and lets the others through; heal lets it back in', async () => {
    let next = 'a';
    const proxy = await start({
      identify: () => {
        const source = next;
        next = next === 'a' ? 'b' : 'a';
        return source;
      },
    });
    const a = await dial(proxy);
    const b = await dial(proxy);
    sockets.push(a.socket, b.socket);
    await eventually(() => proxy.sources.length === 2, 5_000, 'both connections');
    expect(proxy.sources.sort()).toEqual(['a', 'b']);
    const closed = once(a.socket, 'close');
    proxy.cut('a');
    await closed;
    b.socket.write('still here');
    await eventually(() => b.received() === 'still here', 5_000, 'b to keep working');
    // The next connection is labelled "a": refused while a is cut, accepted once healed.
    const refused = await dial(proxy);
    sockets.push(refused.socket);
    await once(refused.socket, 'close');
    next = 'a';
    proxy.heal('a');
    const again = await dial(proxy);
    sockets.push(again.socket);
    again.socket.write('back');
    await eventually(() => again.received() === 'back', 5_000, 'a to be back');
  });

  it('names the process that dialled a connection (Linux /proc)', async () => {
    const pids: (number | undefined)[] = [];
    const proxy = await start({
      identify: (socket: Socket) => {
        pids.push(dialerPid(socket, [process.pid]));
        return undefined;
      },
    });
    const client = await dial(proxy);
    sockets.push(client.socket);
    await eventually(() => pids.length === 1, 5_000, 'the connection to be identified');
    expect(pids).toEqual([process.pid]);
  });
});
