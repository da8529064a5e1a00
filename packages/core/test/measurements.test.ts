/**
 * The policy wrapper the metrics packages hand to applications: it counts failed writes, and passes
 * every call on as given — a caller's signal included, so an abandoned read still ends at the backend.
 */
import { describe, expect, it } from 'vitest';
import { NotLeaderError, type PolicySync, reportPolicySyncFailures } from '../src/index.ts';

describe('reportPolicySyncFailures', () => {
  it('passes each call on with its options, and reports failed writes by reason', async () => {
    const seen: [string, unknown][] = [];
    const policies: PolicySync = {
      syncPolicy: async (_name, _document, options) => {
        seen.push(['sync', options]);
        throw new NotLeaderError('node-1', 'write policies');
      },
      deletePolicy: async (_name, options) => {
        seen.push(['delete', options]);
        return false;
      },
      getPolicyVersion: async (_name, options) => {
        seen.push(['version', options]);
        return undefined;
      },
      getPolicy: async (_name, options) => {
        seen.push(['get', options]);
        return undefined;
      },
      listPolicies: async (options) => {
        seen.push(['list', options]);
        return [];
      },
      subscribePolicies: (options) => {
        seen.push(['subscribe', options]);
        return (async function* () {})();
      },
    };
    const failures: string[] = [];
    const reported = reportPolicySyncFailures(policies, (reason) => failures.push(reason));
    const options = { signal: new AbortController().signal };

    await expect(reported.syncPolicy('p', 'a: 1\n', options)).rejects.toBeInstanceOf(NotLeaderError);
    await reported.deletePolicy('p', options);
    await reported.getPolicyVersion('p', options);
    await reported.getPolicy('p', options);
    await reported.listPolicies(options);
    reported.subscribePolicies(options);

    expect(seen).toEqual(
      ['sync', 'delete', 'version', 'get', 'list', 'subscribe'].map((call) => [call, options]),
    );
    expect(failures).toEqual(['not_leader']);
  });
});
