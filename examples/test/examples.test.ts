import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const examples = new URL('../src/', import.meta.url);
const readme = new URL('../../README.md', import.meta.url);
const runExample = (file: string) =>
  run(process.execPath, ['--conditions=@ztap/source', new URL(file, examples).pathname], { timeout: 30_000 });

describe('examples', () => {
  it('the README shows the quickstart exactly as it is compiled and run here', async () => {
    const [text, source] = await Promise.all([
      readFile(readme, 'utf8'),
      readFile(new URL('quickstart.ts', examples), 'utf8'),
    ]);
    const block = /<!-- quickstart -->\s*```ts\n([\s\S]*?)```/.exec(text)?.[1];
    expect(block, 'README.md needs a ```ts block right after <!-- quickstart -->').toBeDefined();
    expect(block).toBe(source);
  });

  it('the quickstart runs and reports its leadership and changes', async () => {
    const { stdout } = await runExample('quickstart.ts');
    expect(stdout.trim().split('\n')).toEqual([
      'node-1 leads with fencing token 1',
      'node_joined node-1',
      'leader_elected node-1',
    ]);
  });

  it('the demo names its backend and reports two failovers', async () => {
    const { stdout } = await runExample('demo.ts');
    expect(stdout).toContain('ZTAP cluster demo on the in-memory backend');
    expect(stdout.match(/=> node-\d took over [\d.]+ ms after the fault/g)).toHaveLength(2);
    expect(stdout).toMatch(/node-3 leads with term 3/);
  });
});
