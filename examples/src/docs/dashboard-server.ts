import { createServer } from 'node:http';
import { createDashboard } from '@ztap/cluster-dashboard';

// Read-only: a user with a read-only etcd role on the cluster's prefix is enough. For TLS and RBAC add
// `tls: { ca, cert, key }` (PEM contents) and `auth: { username, password }` to `connection`.
const dashboard = createDashboard({
  connection: {
    endpoints: (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(','),
    cluster: 'payments',
  },
  basePath: '/dashboard/',
  // Required on every request when set; leave it out only on a server that listens on loopback.
  ...(process.env.DASHBOARD_TOKEN ? { token: process.env.DASHBOARD_TOKEN } : {}),
});

const server = createServer((request, response) => {
  if (request.url?.startsWith('/dashboard/')) return dashboard.handler(request, response);
  response.writeHead(404).end(); // ... your own routes
});
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 8080;
  console.log(`dashboard on http://127.0.0.1:${port}/dashboard/`);
});

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections(); // the dashboard's event streams never end by themselves
  void dashboard.close();
});
