import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources (the `@ztap/source` export
// condition), so no build is needed before `pnpm test`.
export default defineConfig({
  resolve: { conditions: ['@ztap/source'] },
  ssr: { resolve: { conditions: ['@ztap/source'] } },
  test: {
    // Bounds, not expectations: a test waits for events, and on a busy 2-core machine (CI runs the
    // integration suite beside etcd, Podman and Chromium) vitest's 5 s default fails tests that pass.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    include: [
      'packages/*/test/**/*.test.ts',
      'integration/**/*.test.ts',
      'examples/test/**/*.test.ts',
      // The example tests docs/testing-your-service.md shows, run as a user's vitest would run them.
      'examples/src/testing/*.test.ts',
    ],
  },
});
