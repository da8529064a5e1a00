import { isValidationError } from '@ztap/cluster';
import { resolveConfig } from '@ztap/cluster/backend';
import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdElection } from '../src/etcd-election.ts';
import { type EtcdElectionOptions, resolveEtcdOptions } from '../src/options.ts';

const base = { nodeId: 'n1', nodeAddress: '127.0.0.1:9090' };
const resolve = (options: Partial<EtcdElectionOptions>) => {
  const full = { ...base, ...options } as EtcdElectionOptions;
  return resolveEtcdOptions(full, resolveConfig(full));
};
const fieldOf = (options: Partial<EtcdElectionOptions>) => {
  try {
    resolve(options);
  } catch (error) {
    if (isValidationError(error)) return { field: error.field, message: error.message };
    throw error;
  }
  return { field: undefined, message: 'accepted' };
};

describe('EtcdElection options', () => {
  it('defaults like etcdctl and derives the lease from electionTimeout', () => {
    expect(resolve({})).toMatchObject({
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/ztap/clusters/default/',
      leaseTtlSeconds: 5,
      requestTimeout: 2500,
      stepDownMargin: 1000,
    });
    expect(resolve({ electionTimeout: 2000, heartbeatInterval: 500 })).toMatchObject({
      leaseTtlSeconds: 2,
      requestTimeout: 1000,
      stepDownMargin: 400,
    });
  });

  it.each([
    [{ electionTimeout: 2500, heartbeatInterval: 500 }, 'electionTimeout', 'whole number of seconds'],
    [{ electionTimeout: 1000, heartbeatInterval: 100 }, 'electionTimeout', 'at least 2000 ms'],
    [{ endpoints: ['127.0.0.1:2379'] }, 'endpoints[0]', 'must be a URL'],
    [{ endpoints: ['ftp://127.0.0.1:2379'] }, 'endpoints[0]', 'http:// or https://'],
    [{ endpoints: ['http://127.0.0.1'] }, 'endpoints[0]', 'must name a port'],
    [{ endpoints: [] }, 'endpoints', 'at least one'],
    [{ tls: { ca: 'x' } }, 'endpoints', 'https:// when tls is given'],
    [{ endpoints: ['https://h:2379'], tls: { cert: 'c' } }, 'tls', 'both cert and key'],
    [{ auth: { username: '', password: 'p' } }, 'auth', 'non-empty username'],
    [{ requestTimeout: 5000 }, 'requestTimeout', 'below electionTimeout'],
    [{ stepDownMargin: 3000 }, 'stepDownMargin', 'below electionTimeout − 2 × heartbeatInterval'],
    [{ cluster: 'a/b' }, 'cluster', 'letters, digits'],
    [{ prefix: '/' }, 'prefix', 'non-empty key prefix other than "/"'],
  ])('rejects %j naming %s', (options, field, rule) => {
    const { field: named, message } = fieldOf(options as Partial<EtcdElectionOptions>);
    expect(named).toBe(field);
    expect(message).toContain(rule);
  });

  it('takes an endpoint with a trailing slash as the endpoint, and refuses any other path', () => {
    expect(resolve({ endpoints: ['http://127.0.0.1:2379/', 'https://[::1]:2379'] }).endpoints).toEqual([
      'http://127.0.0.1:2379',
      'https://[::1]:2379',
    ]);
    expect(fieldOf({ endpoints: ['http://127.0.0.1:2379/v3'] })).toEqual({
      field: 'endpoints[0]',
      message: 'endpoints[0] must be scheme://host:port, without a path (got "http://127.0.0.1:2379/v3")',
    });
    const credentials = fieldOf({ endpoints: ['http://root:hunter2@127.0.0.1:2379'] });
    expect(credentials.message).toContain('must not carry a user or password');
    expect(credentials.message).not.toContain('hunter2');
  });

  it('adds the trailing slash a prefix needs, so cluster "a" never matches "ab"', () => {
    expect(resolve({ prefix: '/apps/a' }).prefix).toBe('/apps/a/');
    expect(resolve({ cluster: 'prod.eu-1' }).prefix).toBe('/ztap/clusters/prod.eu-1/');
  });

  it('takes a shared client, but not together with connection options', () => {
    const client = new Etcd3({ hosts: 'http://127.0.0.1:1' });
    try {
      expect(resolve({ client }).client).toBe(client);
      expect(fieldOf({ client, endpoints: ['http://127.0.0.1:2379'] }).field).toBe('client');
    } finally {
      client.close();
    }
  });

  it('constructs without any I/O, even for an endpoint nobody listens on', () => {
    const election = new EtcdElection({ ...base, endpoints: ['http://127.0.0.1:1'] });
    expect(election.isLeader()).toBe(false);
    expect(election.leaseId).toBeUndefined();
    expect(election.requestCount).toBe(0);
  });
});
