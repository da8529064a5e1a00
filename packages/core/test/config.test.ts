import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/backend.ts';
import { DEFAULT_CONFIG, isValidationError, systemClock, ValidationError } from '../src/index.ts';

const base = { nodeId: 'node-1', nodeAddress: '192.168.1.1:9090' };

function ruleBroken(config: object): ValidationError {
  try {
    resolveConfig({ ...base, ...config });
  } catch (error) {
    if (isValidationError(error)) return error;
    throw error;
  }
  throw new Error(`config was accepted: ${JSON.stringify(config)}`);
}

describe('resolveConfig', () => {
  it("fills in the seed's defaults", () => {
    const config = resolveConfig(base);
    expect(config).toMatchObject({
      nodeId: 'node-1',
      nodeAddress: '192.168.1.1:9090',
      heartbeatInterval: 1000,
      electionTimeout: 5000,
      initialLeadership: 3000,
      maxRetries: 3,
      watchBufferSize: 1024,
      drainTimeout: 5000,
      priority: 0,
      minLeadership: 5000,
      metadata: {},
    });
    expect(config.clock).toBe(systemClock);
    expect(DEFAULT_CONFIG).toMatchObject({ heartbeatInterval: 1000, electionTimeout: 5000 });
  });

  it('keeps values that follow the rules', () => {
    const config = resolveConfig({
      ...base,
      heartbeatInterval: 500,
      electionTimeout: 2000,
      initialLeadership: 0,
      maxRetries: 0,
      drainTimeout: 0,
    });
    expect(config).toMatchObject({
      heartbeatInterval: 500,
      electionTimeout: 2000,
      initialLeadership: 0,
      maxRetries: 0,
      drainTimeout: 0,
    });
    expect(resolveConfig({ ...base, drainTimeout: 300_000 }).drainTimeout).toBe(300_000);
  });

  it('returns a frozen copy', () => {
    const metadata = { zone: 'a' };
    const config = resolveConfig({ ...base, metadata });
    metadata.zone = 'changed';
    expect(config.metadata).toEqual({ zone: 'a' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [
      { heartbeatInterval: 2000, electionTimeout: 5000 },
      'heartbeatInterval',
      'at most a third of electionTimeout',
    ],
    [{ heartbeatInterval: 0 }, 'heartbeatInterval', 'from 1 to'],
    [{ heartbeatInterval: 1.5 }, 'heartbeatInterval', 'whole number of milliseconds'],
    [{ electionTimeout: -1 }, 'electionTimeout', 'from 1 to'],
    [{ electionTimeout: Number.NaN }, 'electionTimeout', 'whole number'],
    [{ initialLeadership: -5 }, 'initialLeadership', 'from 0 to'],
    [{ maxRetries: 1000 }, 'maxRetries', 'from 0 to 100'],
    [{ watchBufferSize: 0 }, 'watchBufferSize', 'from 1 to'],
    [{ drainTimeout: -1 }, 'drainTimeout', 'from 0 to 300000 milliseconds'],
    [{ drainTimeout: 300_001 }, 'drainTimeout', 'from 0 to 300000 milliseconds'],
    [{ drainTimeout: '5s' }, 'drainTimeout', 'whole number of milliseconds'],
    [{ nodeId: '' }, 'nodeId', 'must not be empty'],
    [{ nodeAddress: 'localhost' }, 'nodeAddress', 'host:port'],
    [{ metadata: { zone: 1 } }, 'metadata.zone', 'must be a string'],
    [{ healthCheck: 'yes' }, 'healthCheck', 'must be a function'],
    [{ priority: 1.5 }, 'priority', 'whole number from -1000000 to 1000000'],
    [{ priority: 1_000_001 }, 'priority', 'whole number from -1000000 to 1000000'],
    [{ priority: '10' }, 'priority', 'whole number from -1000000 to 1000000'],
    [{ minLeadership: -1 }, 'minLeadership', 'from 0 to'],
    [{ priority: 5, view: 'leader' }, 'priority', "needs view: 'full'"],
  ])('rejects %j naming %s and the rule', (config, field, rule) => {
    const error = ruleBroken(config);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.message).toContain(rule);
    expect(error.code).toBe('ZTAP_VALIDATION');
  });

  it('defaults to a candidate with the full view, and keeps a role and a view that exist', () => {
    expect(resolveConfig(base)).toMatchObject({ role: 'candidate', view: 'full' });
    expect(resolveConfig({ ...base, role: 'member', view: 'leader' })).toMatchObject({
      role: 'member',
      view: 'leader',
    });
    expect(resolveConfig({ ...base, role: 'observer' }).role).toBe('observer');
  });

  it.each([
    [{ role: 'leader' }, 'role', "role must be one of 'candidate', 'member', 'observer' (got \"leader\")"],
    [{ role: 1 }, 'role', "role must be one of 'candidate', 'member', 'observer' (got 1)"],
    [{ view: 'narrow' }, 'view', "view must be one of 'full', 'leader' (got \"narrow\")"],
  ])('rejects %j naming the field and the allowed values', (fields, field, message) => {
    const error = (() => {
      try {
        resolveConfig({ ...base, ...(fields as object) });
      } catch (caught) {
        return caught as ValidationError;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.field).toBe(field);
    expect(error.message).toBe(message);
  });

  it('rejects a missing config object', () => {
    expect(() => resolveConfig(undefined as never)).toThrow(ValidationError);
  });
});
