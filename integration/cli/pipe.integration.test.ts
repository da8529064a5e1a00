/**
 * `ztap … | head`: when the reader of its output goes away, ztap ends quietly, as programs killed by
 * SIGPIPE do, instead of crashing with an unhandled EPIPE stack trace.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ZTAP_BIN } from '../support/ztap.ts';

const run = promisify(execFile);

describe('a closed output pipe', () => {
  it('ends ztap quietly with exit 0 when the reader has gone', async () => {
    // `true` exits without reading, long before node has started and written the help.
    const { stdout, stderr } = await run(
      '/bin/bash',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template
      ['-c', '"$0" "$1" --help | true; echo "status ${PIPESTATUS[0]}"', process.execPath, ZTAP_BIN],
      { env: { PATH: process.env.PATH ?? '' } },
    );
    expect(stdout.trim()).toBe('status 0');
    expect(stderr).not.toMatch(/EPIPE|Error/);
  });
});
