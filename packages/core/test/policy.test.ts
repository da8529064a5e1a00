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

  it('takes UTF-8 bytes as the text they hold, byte order mark included', () => {
    const text = '\ufeff# café\nallow: [443]\n';
    expect(validatePolicyDocument(Buffer.from(text))).toBe(text);
    expect(validatePolicyDocument(new TextEncoder().encode(text))).toBe(text);
  });

  it('refuses bytes that are not UTF-8, naming the byte offset and line, instead of storing U+FFFD', () => {
    const latin1 = Buffer.concat([Buffer.from('a: 1\nname: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    expect(() => validatePolicyDocument(latin1, 'web.yaml')).toThrow(
      'web.yaml is not valid UTF-8 at byte offset 14 (line 2): 0xe9; save it as UTF-8',
    );
    const cut = Buffer.from([0x61, 0x3a, 0x20, 0xf0, 0x9f]);
    expect(() => validatePolicyDocument(cut)).toThrow('at byte offset 3 (line 1): 0xf0 0x9f;');
    const surrogate = Buffer.from([0x61, 0x3a, 0x20, 0xed, 0xa0, 0x80]);
    expect(() => validatePolicyDocument(surrogate)).toThrow('at byte offset 3 (line 1): 0xed;');
  });

  it('refuses text with a lone surrogate, which has no UTF-8 form', () => {
    expect(() => validatePolicyDocument('a: "x\ud800"\n')).toThrow(
      'document must be valid Unicode text: a lone surrogate (U+D800) at index 5 has no UTF-8 form',
    );
  });

  it.each([
    ['', 'document is empty: there is no policy document in it'],
    ['\n  \n', 'document is empty: there is no policy document in it'],
    ['---\n', 'document is empty: there is no policy document in it'],
    ['# only a comment\n', 'document holds only comments: there is no policy document in it'],
    ['--- # start\n# a comment\n...\n', 'document holds only comments: there is no policy document in it'],
    ['~\n', 'document holds only an empty (null) value: a policy document needs content'],
    ['# note\nnull\n', 'document holds only an empty (null) value: a policy document needs content'],
  ])('says why %j has no content', (text, message) => {
    expect(() => validatePolicyDocument(text)).toThrow(message);
  });

  it('says a file with several YAML documents is not one policy, in its own words', () => {
    expect(() => validatePolicyDocument('a: 1\n---\nb: 2\n', 'web.yaml')).toThrow(
      /^web\.yaml holds more than one YAML document \(a "---" line at line 2 starts another\): a policy is one document$/,
    );
  });

  it('reports where YAML is broken', () => {
    expect(() => validatePolicyDocument('a: [1, 2\nb: 3\n')).toThrow(
      /document is not valid YAML \(line \d+, column \d+\)/,
    );
    expect(() => validatePolicyDocument(42)).toThrow('document must be YAML text');
  });
});
