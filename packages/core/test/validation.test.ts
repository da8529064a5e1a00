import { describe, expect, it } from 'vitest';
import {
  isValidationError,
  MAX_METADATA_BYTES,
  MAX_NODE_ID_LENGTH,
  validateAddress,
  validateMetadata,
  validateNodeId,
  validateRegistration,
} from '../src/index.ts';

describe('node ids', () => {
  it.each(['node-1', 'n', 'a.b_c-d', 'ünïcode', 'x'.repeat(MAX_NODE_ID_LENGTH)])('accepts %j', (id) => {
    expect(validateNodeId(id)).toBe(id);
  });
  it.each([
    ['', 'must not be empty'],
    ['x'.repeat(MAX_NODE_ID_LENGTH + 1), `at most ${MAX_NODE_ID_LENGTH} characters`],
    ['a/b', 'must not contain "/"'],
    ['bell\u0007', 'control characters'],
    ['line\nbreak', 'control characters'],
    [' padded', 'must not contain whitespace'],
    ['two words', 'must not contain whitespace'],
    ['no\u00a0break', 'must not contain whitespace'],
    ['ideographic\u3000space', 'must not contain whitespace'],
    [42, 'must be a string'],
  ])('rejects %j: %s', (id, rule) => {
    expect(() => validateNodeId(id)).toThrow(rule);
    expect(() => validateNodeId(id, 'node.id')).toThrow(expect.objectContaining({ field: 'node.id' }));
  });
});

describe('addresses', () => {
  it.each(['10.0.0.7:9090', 'node-1.internal:80', 'localhost:65535', '[::1]:9090', '[fe80::1%eth0]:1'])(
    'accepts %j',
    (address) => expect(validateAddress(address)).toBe(address),
  );
  it.each([
    ['localhost', 'host:port'],
    [':9090', 'host:port'],
    ['host:', 'port must be a number'],
    ['host:0', 'port must be a number from 1 to 65535'],
    ['host:65536', 'from 1 to 65535'],
    ['host:http', 'port must be a number'],
    ['bad host:80', 'host:port'],
    ['-lead.example:80', 'host:port'],
    ['::1:9090', 'host:port'],
    [undefined, 'must be a string'],
  ])('rejects %j', (address, rule) => {
    expect(() => validateAddress(address)).toThrow(rule);
  });
});

describe('metadata', () => {
  it('accepts string values and returns a frozen copy', () => {
    const input = { zone: 'eu-1', 'app.kubernetes.io/name': 'ztap' };
    const metadata = validateMetadata(input);
    expect(metadata).toEqual(input);
    expect(metadata).not.toBe(input);
    expect(Object.isFrozen(metadata)).toBe(true);
  });
  it('treats undefined as empty', () => {
    expect(validateMetadata(undefined)).toEqual({});
  });
  it.each([
    [[], 'must be an object'],
    [null, 'must be an object'],
    [{ n: 1 }, 'metadata.n must be a string'],
    [{ '': 'x' }, 'must be 1-128 characters'],
    [{ big: 'x'.repeat(MAX_METADATA_BYTES) }, `at most ${MAX_METADATA_BYTES} bytes`],
  ])('rejects %j', (metadata, rule) => {
    expect(() => validateMetadata(metadata)).toThrow(rule);
  });
});

describe('registrations', () => {
  it('names the nested field that broke a rule', () => {
    for (const [node, field] of [
      [{ id: 'a/b', address: 'h:1' }, 'node.id'],
      [{ id: 'a', address: 'h' }, 'node.address'],
      [{ id: 'a', address: 'h:1', metadata: { k: false } }, 'node.metadata.k'],
    ] as const) {
      try {
        validateRegistration(node);
        expect.unreachable();
      } catch (error) {
        expect(isValidationError(error) && error.field).toBe(field);
      }
    }
  });
});
