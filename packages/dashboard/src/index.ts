/**
 * `@ztap/cluster-dashboard`: a live, read-only web dashboard of a ZTAP cluster on etcd — the leader and
 * how long it has led, members and their health, a leadership timeline reconstructed from etcd's
 * history, policies with diffs between versions. Mount its handler in your own `http.Server`, or run
 * `ztap dashboard`.
 * @packageDocumentation
 */
export { createDashboard, type Dashboard, type DashboardOptions } from './dashboard.ts';
export { DashboardExposedError, isDashboardExposedError } from './errors.ts';
export { CONTENT_SECURITY_POLICY } from './http-handler.ts';
export { assertSafeListen, isLoopbackHost } from './listen-rule.ts';
export type { SseStats } from './sse-hub.ts';
export type * from './wire.ts';
