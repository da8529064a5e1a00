/**
 * docs/testing-your-service.md's `node:test` example, run as its readers run it: `node --test` on the
 * file (its vitest examples, beside it in src/testing/, run in this suite directly). It gets its etcd
 * the way the environment says: a container in CI, a local binary with ZTAP_TEST_ETCD_PROVIDER=local.
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const examples = new URL('../', import.meta.url);
const NODE_TEST_EXAMPLE = 'src/testing/billing.integration.node-test.ts';

/** `node --test` on the example, with TAP output; never throws for a failing run. */
function nodeTest(env: Record<string, string | undefined> = {}) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@ztap/source', '--test', '--test-reporter=tap', NODE_TEST_EXAMPLE],
      { cwd: examples.pathname, env: { ...process.env, ...env }, timeout: 150_000 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : null, output: `${stdout}${stderr}` });
      },
    );
  });
}

describe("the testing guide's node:test example", () => {
  it('passes under `node --test`', async () => {
    const { code, output } = await nodeTest();
    expect(output).toMatch(/^ok 1 - when the leader is cut off from etcd, /m);
    expect(output).toMatch(/^# pass 1$/m);
    expect(output).toMatch(/^# fail 0$/m);
    expect(code, output).toBe(0);
  }, 180_000);

  it('fails, saying how to get an etcd, when there is none: it never passes by skipping', async () => {
    const { code, output } = await nodeTest({
      ZTAP_TEST_ETCD_ENDPOINTS: '',
      ZTAP_TEST_ETCD_PROVIDER: 'local',
      ETCD_BIN: '/nonexistent/etcd',
    });
    expect(code).not.toBe(0);
    expect(output).toContain('ETCD_BIN=/nonexistent/etcd is not an executable file.');
    expect(output).toContain('Tests that need etcd never skip');
    expect(output).toMatch(/^# pass 0$/m);
    expect(output).toMatch(/^# skipped 0$/m);
  }, 60_000);
});
