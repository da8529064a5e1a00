import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources (the `@ztap/source` export
// condition), so no build is needed before `pnpm test`.
export default defineConfig({
  resolve: { conditions: ['@ztap/source'] },
  ssr: { resolve: { conditions: ['@ztap/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'integration/**/*.test.ts', 'examples/test/**/*.test.ts'],
  },
});
