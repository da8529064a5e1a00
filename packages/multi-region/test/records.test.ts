import { describe, expect, it } from 'vitest';
import {
  decodeCheckpoint,
  decodeRegion,
  decodeReplica,
  encodeCheckpoint,
  encodeRegion,
  encodeReplica,
  policyFromValue,
} from '../src/records.ts';

describe('records kept in etcd', () => {
  it('a replica carries the global version and the global value verbatim', () => {
    const value = JSON.stringify({
      document: 'a: 1\n',
      updatedAt: '2026-01-01T00:00:00.000Z',
      updatedBy: 'n1',
    });
    const replica = decodeReplica(encodeReplica({ globalVersion: 42, value }));
    expect(replica).toEqual({ globalVersion: 42, value });
    expect(policyFromValue('web', replica?.globalVersion ?? 0, replica?.value ?? '')).toEqual({
      name: 'web',
      version: 42,
      document: 'a: 1\n',
      updatedAt: new Date('2026-01-01T00:00:00.000Z'),
      updatedBy: 'n1',
    });
  });

  it('values that are not ours read as undefined instead of throwing', () => {
    for (const junk of [
      '',
      'not json',
      '{}',
      '{"globalVersion":"7","value":"x"}',
      '{"globalVersion":1.5,"value":"x"}',
    ])
      expect(decodeReplica(junk)).toBeUndefined();
    expect(policyFromValue('web', 1, '{"document":3}')).toBeUndefined();
    expect(decodeCheckpoint('{"globalRevision":3}')).toBeUndefined();
    expect(decodeRegion('{"name":"eu","endpoints":[1]}')).toBeUndefined();
  });

  it('checkpoints and region records survive a round trip', () => {
    const checkpoint = {
      globalRevision: 17,
      globalClusterId: '1234',
      confirmedAt: '2026-01-01T00:00:01.000Z',
      confirmIntervalMs: 1000,
      globalLeader: { node: 'n1@eu', region: 'eu', term: 9 },
      writer: { nodeId: 'n2', term: 33 },
    };
    expect(decodeCheckpoint(encodeCheckpoint(checkpoint))).toEqual(checkpoint);
    const region = {
      name: 'eu',
      endpoints: ['http://10.0.0.1:2379'],
      regionalPrefix: '/a/',
      replicaPrefix: '/b/',
    };
    expect(decodeRegion(encodeRegion(region))).toEqual(region);
  });
});
