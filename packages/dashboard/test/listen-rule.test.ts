import { describe, expect, it } from 'vitest';
import { isDashboardExposedError } from '../src/errors.ts';
import { assertSafeListen, isLoopbackHost } from '../src/listen-rule.ts';

describe('the listen rule', () => {
  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'dashboard.example', '128.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it('allows loopback without a token and anything else only with one', () => {
    expect(() => assertSafeListen('127.0.0.1', {})).not.toThrow();
    expect(() => assertSafeListen('0.0.0.0', { token: 'a-token-of-sixteen+' })).not.toThrow();
    let caught: unknown;
    try {
      assertSafeListen('0.0.0.0', {});
    } catch (error) {
      caught = error;
    }
    expect(isDashboardExposedError(caught)).toBe(true);
    expect((caught as Error).message).toMatch(/^listening on 0\.0\.0\.0 would show the cluster to anyone/);
    expect((caught as Error & { code: string }).code).toBe('ZTAP_DASHBOARD_EXPOSED');
  });
});
