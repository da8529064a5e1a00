import { connect, createServer, type Server } from 'node:net';
import { EtcdStartError } from '../errors.ts';

/**
 * `count` distinct TCP ports on 127.0.0.1 that were free a moment ago: the OS picks each (listen on
 * port 0) and all stay held until every one is picked, so none repeats. Someone may take one before
 * etcd binds it; the launcher retries the start when etcd reports the address in use.
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let index = 0; index < count; index++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      const address = server.address();
      if (address === null || typeof address === 'string')
        throw new EtcdStartError('the OS gave no TCP port for a loopback server');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` (within `timeoutMs`). */
export function acceptsConnections(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: timeoutMs });
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
