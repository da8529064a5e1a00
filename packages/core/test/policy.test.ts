import { describe, expect, it } from 'vitest';
import { PolicyFeed } from '../src/backend.ts';
import { type Policy, validatePolicyDocument, validatePolicyName } from '../src/index.ts';

const policy = (name: string, version: number): Policy => ({
  name,
  version,
  document: 'a: 1\n',
  updatedAt: new Date(0),
  updatedBy: 't',
});

describe('PolicyFeed', () => {
  it('starts with a snapshot, then delivers updates in order', async () => {
    const feed = new PolicyFeed({ snapshot: () => [policy('b', 2), policy('a', 1)], bufferSize: 10 });
    expect(await feed.next()).toEqual({
      value: { type: 'snapshot', policies: [policy('a', 1), policy('b', 2)] },
      done: false,
    });
    feed.push({ type: 'updated', policy: policy('a', 3) });
    feed.push({ type: 'deleted', name: 'b', version: 4 });
    expect((await feed.next()).value).toEqual({ type: 'updated', policy: policy('a', 3) });
    expect((await feed.next()).value).toEqual({ type: 'deleted', name: 'b', version: 4 });
  });

  it('a consumer that falls behind gets a fresh snapshot instead of an unbounded queue', async () => {
    let state = [policy('a', 1)];
    const feed = new PolicyFeed({ snapshot: () => state, bufferSize: 3 });
    await feed.next();
    for (let version = 2; version <= 50; version++) {
      state = [policy('a', version)];
      feed.push({ type: 'updated', policy: policy('a', version) });
    }
    expect((await feed.next()).value).toEqual({ type: 'snapshot', policies: [policy('a', 50)] });
  });

  it('ends on abort, also while waiting', async () => {
    const controller = new AbortController();
    const feed = new PolicyFeed({ snapshot: () => [], bufferSize: 3, signal: controller.signal });
    await feed.next();
    const waiting = feed.next();
    controller.abort();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});

describe('policy validation', () => {
  it('accepts sensible names and real YAML, returning the text unchanged', () => {
    expect(validatePolicyName('web.v2_a-b')).toBe('web.v2_a-b');
    const text = '# comment kept\nrules:\n  - allow: web\n';
    expect(validatePolicyDocument(text)).toBe(text);
  });

  it.each([['Web'], ['-web'], ['web-'], ['a'.repeat(129)], [''], ['a b']])('rejects the name %j', (name) => {
    expect(() => validatePolicyName(name)).toThrow('policy name must be 1-128 lowercase letters');
  });

  it('reports where YAML is broken', () => {
    expect(() => validatePolicyDocument('a: [1, 2\nb: 3\n')).toThrow(
      /document is not valid YAML \(line \d+, column \d+\)/,
    );
    expect(() => validatePolicyDocument(42)).toThrow('document must be YAML text');
  });
});
