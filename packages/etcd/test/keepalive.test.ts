import { EventEmitter } from 'node:events';
import { ManualClock } from '@ztap/cluster-testing';
import type { Etcd3, ILeaseKeepAliveResponse } from 'etcd3';
import { beforeEach, describe, expect, it } from 'vitest';
import { KeepaliveChannel, type KeepaliveHandler } from '../src/keepalive.ts';

/** The client side of one LeaseKeepAlive stream, driven by the test. */
class FakeStream extends EventEmitter {
  readonly written: string[] = [];
  ended = false;
  write(request: { ID: string }): boolean {
    this.written.push(request.ID);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  answer(leaseId: string, ttlSeconds: number): void {
    this.emit('data', { ID: leaseId, TTL: String(ttlSeconds) } as unknown as ILeaseKeepAliveResponse);
  }
}

type Opening = Promise<FakeStream> | 'open' | 'never';

let clock: ManualClock;
let streams: FakeStream[];
let nextOpenings: Opening[];
let heard: string[];
let channel: KeepaliveChannel;

beforeEach(() => {
  clock = new ManualClock();
  streams = [];
  nextOpenings = [];
  heard = [];
  const client = {
    leaseClient: {
      leaseKeepAlive: () => {
        const opening = nextOpenings.shift() ?? 'open';
        if (opening === 'never') return new Promise(() => {});
        if (opening !== 'open') return opening;
        const stream = new FakeStream();
        streams.push(stream);
        return Promise.resolve(stream);
      },
    },
  } as unknown as Etcd3;
  channel = new KeepaliveChannel(client, clock, 500);
  const handler: KeepaliveHandler = {
    onResponse: (sentAtMs, ttlSeconds) => heard.push(`answer sent@${sentAtMs} ttl=${ttlSeconds}`),
    onFailure: (sentAtMs, kind, error) =>
      heard.push(`failed sent@${sentAtMs} ${kind}${error ? ` (${error.message})` : ''}`),
  };
  channel.register('7', handler);
});

describe('KeepaliveChannel', () => {
  it('reports each answer with the send time of its own request', async () => {
    channel.send('7');
    await clock.advance(100);
    channel.send('7');
    await clock.advance(50);
    const [stream] = streams as [FakeStream];
    expect(stream.written).toEqual(['7', '7']);
    stream.answer('7', 2);
    stream.answer('7', 2);
    expect(heard).toEqual(['answer sent@0 ttl=2', 'answer sent@100 ttl=2']);
  });

  it('fails a keepalive unanswered past the bound once, at the next send, and opens a new stream', async () => {
    channel.send('7');
    await clock.advance(200);
    channel.send('7');
    await clock.advance(400); // the first is 600 ms old now
    expect(heard).toEqual([]);
    channel.send('7');
    await clock.advance(0);
    expect(heard).toEqual(['failed sent@0 timeout', 'failed sent@200 timeout']);
    expect(streams).toHaveLength(2);
    expect(streams[0]?.ended).toBe(true);
    expect(streams[1]?.written).toEqual(['7']);
  });

  it('ignores late answers on a stream it has reset: they must not vouch for a newer request', async () => {
    channel.send('7');
    await clock.advance(600);
    channel.send('7'); // resets the wedged stream; this request (sent at 600) goes on a new one
    await clock.advance(0);
    const [wedged, fresh] = streams as [FakeStream, FakeStream];
    wedged.answer('7', 2); // the answer to the request of 0, arriving late on the old stream
    expect(heard).toEqual(['failed sent@0 timeout']);
    fresh.answer('7', 2);
    expect(heard).toEqual(['failed sent@0 timeout', 'answer sent@600 ttl=2']);
  });

  it('fails every keepalive waiting on a stream that breaks', async () => {
    channel.send('7');
    channel.send('7');
    await clock.advance(10);
    streams[0]?.emit('error', new Error('14 UNAVAILABLE: Connection dropped'));
    expect(heard).toEqual([
      'failed sent@0 stream (14 UNAVAILABLE: Connection dropped)',
      'failed sent@0 stream (14 UNAVAILABLE: Connection dropped)',
    ]);
    channel.send('7');
    await clock.advance(0);
    expect(streams).toHaveLength(2);
  });

  it('fails keepalives whose stream cannot be opened, or never finishes opening', async () => {
    nextOpenings.push(Promise.reject(new Error('no connection')), 'never');
    channel.send('7');
    await clock.advance(100);
    expect(heard).toEqual(['failed sent@0 stream (no connection)']);
    channel.send('7'); // a new stream, which hangs while opening
    await clock.advance(600);
    channel.send('7');
    await clock.advance(0);
    expect(heard).toEqual(['failed sent@0 stream (no connection)', 'failed sent@100 timeout']);
    streams[0]?.answer('7', 2);
    expect(heard.at(-1)).toBe('answer sent@700 ttl=2');
  });

  it('reports nothing for a lease that was unregistered', async () => {
    const unregister = channel.register('8', {
      onResponse: () => heard.push('8 answered'),
      onFailure: () => heard.push('8 failed'),
    });
    channel.send('8');
    await clock.advance(10);
    unregister();
    streams[0]?.answer('8', 2);
    streams[0]?.emit('error', new Error('gone'));
    expect(heard).toEqual([]);
  });
});
