/**
 * Every failure an operator can meet is one clear line on stderr and a documented exit code:
 * 1 for operational failures, 2 for usage errors.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EtcdHandle } from '@ztap/cluster-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueCluster, useEtcd } from '../support/etcd.ts';
import { fillUntilNoSpace, RBAC_USERS, startRbacEtcd, startSmallQuotaEtcd } from '../support/special-etcd.ts';
import { type ZtapResult, ztap } from '../support/ztap.ts';

const etcd = useEtcd();
const target = () => ['--endpoints', etcd.endpoints.join(','), '--cluster', uniqueCluster('cli-errors')];

/** Exactly one line on stderr, starting with "ztap: ". */
function expectOneLine(result: ZtapResult, code: number, pattern: RegExp): void {
  expect(result.code).toBe(code);
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^ztap: /);
  expect(result.stderr).toMatch(pattern);
}

describe('usage errors exit 2', () => {
  it.each([
    [
      ['cluster', 'bogus'],
      /unknown command "bogus" for "ztap cluster" \(commands: .*\); see ztap cluster --help/,
    ],
    [['cluster', 'list', '--frobnicate'], /unknown option '--frobnicate' \(see ztap cluster list --help\)/],
    [['cluster', 'join', 'only-id'], /missing required argument 'address'/],
    [['--frobnicate', 'cluster', 'list'], /unknown option '--frobnicate'/],
    [['cluster', 'join', 'a/b', '10.0.0.1:1'], /<id> must not contain "\/" \(got "a\/b"\)/],
    [['cluster', 'join', 'n1', '10.0.0.1'], /<address> must be host:port/],
    [['cluster', 'join', 'n1', '10.0.0.1:70000'], /port must be a number from 1 to 65535/],
    [['cluster', 'join', 'n1', '10.0.0.1:1', '--meta', 'novalue'], /--meta must be key=value/],
    [['--timeout', 'soon', 'cluster', 'list'], /--timeout must be a duration like 500ms, 5s, 2m or 1m30s/],
    [['--cert', 'c.pem', 'cluster', 'list'], /--cert needs --key too/],
    [
      ['--cacert', '/nonexistent/ca.pem', 'cluster', 'list'],
      /cannot read --cacert \/nonexistent\/ca.pem: ENOENT/,
    ],
    [
      ['--user', 'bob', 'cluster', 'list'],
      /--user bob needs a password: set ZTAP_ETCD_PASSWORD \(or ETCDCTL_PASSWORD\)/,
    ],
    [['agent', '--id', 'n1'], /required option '--address <host:port>' not specified/],
    [
      [
        'agent',
        '--id',
        'n1',
        '--address',
        '127.0.0.1:1',
        '--heartbeat',
        '500ms',
        '--election-timeout',
        '2500ms',
      ],
      /--election-timeout must be a whole number of seconds, at least 2000ms/,
    ],
    [
      ['agent', '--id', 'n1', '--address', '127.0.0.1:1', '--heartbeat', '2s'],
      /--heartbeat must be at most a third of --election-timeout/,
    ],
    [['run', '--id', 'n1'], /missing required argument 'command'/],
    [
      ['agent', '--id', 'n1', '--address', '127.0.0.1:1', '--log-format', 'xml'],
      /--log-format must be one of text, json \(got "xml"\)/,
    ],
    [['--json', 'dashboard', '--log-format', 'text'], /--json and --log-format text disagree: give one/],
    [
      ['agent', '--id', 'n1', '--address', '127.0.0.1:1', '--role', 'boss'],
      /--role must be one of candidate, member \(got "boss"\)/,
    ],
    [
      ['agent', '--id', 'n1', '--address', '127.0.0.1:1', '--role', 'observer'],
      /--role must be one of candidate, member \(got "observer"\)/,
    ],
    [
      ['agent', '--id', 'n1', '--address', '127.0.0.1:1', '--view', 'narrow'],
      /--view must be one of full, leader \(got "narrow"\)/,
    ],
    [
      [
        'agent',
        '--id',
        'n1',
        '--address',
        '127.0.0.1:1',
        '--role',
        'member',
        '--region',
        'eu',
        '--global-endpoints',
        'http://127.0.0.1:1',
      ],
      /--role member and --view leader cannot be combined with --region/,
    ],
    [['run', '--id', 'n1', '--log-format', 'yaml', '--', 'true'], /--log-format must be one of text, json/],
  ])('ztap %j', async (args, pattern) => {
    expectOneLine(await ztap([...target(), ...args]), 2, pattern);
  });

  it('--help on every command exits 0 with examples', async () => {
    for (const args of [
      [],
      ['cluster'],
      ['cluster', 'status'],
      ['cluster', 'list'],
      ['cluster', 'join'],
      ['cluster', 'leave'],
      ['cluster', 'watch'],
      ['agent'],
      ['run'],
    ]) {
      const result = await ztap([...args, '--help']);
      expect(result.code, `ztap ${args.join(' ')} --help`).toBe(0);
      expect(result.stdout, `ztap ${args.join(' ')} --help`).toContain('Examples:');
    }
    const version = await ztap(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  }, 30_000);
});

describe('operational failures exit 1', () => {
  it('an unreachable endpoint is named, fast', async () => {
    const startedAt = performance.now();
    const result = await ztap(['--endpoints', '127.0.0.1:1', 'cluster', 'status']);
    const took = performance.now() - startedAt;
    expectOneLine(
      result,
      1,
      /^ztap: etcd at http:\/\/127\.0\.0\.1:1 is unreachable \(connect ECONNREFUSED 127\.0\.0\.1:1\) — is etcd running/,
    );
    console.info(`[cli] unreachable endpoint reported in ${took.toFixed(0)} ms`);
    // "Fast": well inside one request deadline (--timeout, 5 s by default), not after retries pile up.
    expect(took).toBeLessThan(5000);
  });

  it('a TLS client against a plaintext etcd is explained as a TLS failure', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ztap-tls-'));
    try {
      const ca = join(dir, 'ca.pem');
      await promisify(execFile)('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=ztap-test',
        '-keyout',
        join(dir, 'ca-key.pem'),
        '-out',
        ca,
      ]);
      const endpoint = (etcd.endpoints[0] as string).replace(/^https?:\/\//, '');
      const result = await ztap([
        '--endpoints',
        endpoint,
        '--cacert',
        ca,
        '--timeout',
        '2s',
        'cluster',
        'list',
      ]);
      expectOneLine(result, 1, /TLS handshake failed/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('with RBAC', () => {
    let rbac: EtcdHandle;
    beforeAll(async () => {
      rbac = await startRbacEtcd();
    }, 60_000);
    afterAll(async () => {
      await rbac?.stop();
    });
    const as = (user: string) => [
      '--endpoints',
      rbac.endpoints.join(','),
      '--cluster',
      'rbac',
      '--user',
      user,
    ];

    it('a read-only user can list, but join fails with "permission denied"', async () => {
      const env = { ZTAP_ETCD_PASSWORD: RBAC_USERS.viewer.password };
      expect((await ztap([...as('viewer'), 'cluster', 'list'], env)).code).toBe(0);
      const join = await ztap([...as('viewer'), 'cluster', 'join', 'n1', '10.0.0.1:1'], env);
      expectOneLine(
        join,
        1,
        /^ztap: etcd denied permission to register a node: the user's role does not cover this key range\n$/,
      );
    });

    it('a wrong password is rejected, and never printed', async () => {
      const result = await ztap([...as('viewer'), 'cluster', 'list'], {
        ZTAP_ETCD_PASSWORD: 'hunter2-wrong',
      });
      expectOneLine(result, 1, /^ztap: etcd rejected the credentials: /);
      expect(result.stdout + result.stderr).not.toContain('hunter2-wrong');
    });
  });

  describe('with a full etcd', () => {
    let full: EtcdHandle;
    beforeAll(async () => {
      full = await startSmallQuotaEtcd();
      await fillUntilNoSpace(full);
    }, 60_000);
    afterAll(async () => {
      await full?.stop();
    });

    it('database space exceeded is explained with what to do', async () => {
      const result = await ztap([
        '--endpoints',
        full.endpoints.join(','),
        'cluster',
        'join',
        'n1',
        '10.0.0.1:1',
      ]);
      expectOneLine(
        result,
        1,
        /database space exceeded \(NOSPACE alarm\)\. An operator must compact, defragment and disarm the alarm/,
      );
    });
  });
});
