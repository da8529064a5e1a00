import {
  isFencedWriteError,
  isNotLeaderError,
  isPolicyVersionConflictError,
  isValidationError,
  type LeaderElection,
  MAX_POLICY_BYTES,
  type PolicySync,
  type PolicyUpdate,
} from '@ztap/cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Recorder } from './recorder.ts';

/** What a backend provides to be held to the `PolicySync` contract. */
export interface PolicyFixture {
  /** A started election in this test's own cluster that has become leader, with its PolicySync. */
  leader(nodeId: string): Promise<{ election: LeaderElection; policies: PolicySync }>;
  /** A started election that does not lead (its health check fails), with its PolicySync. */
  follower(nodeId: string): Promise<{ election: LeaderElection; policies: PolicySync }>;
  settle<T>(promise: Promise<T>): Promise<T>;
  cleanup(): Promise<void>;
}

const DOCUMENT = 'rules:\n  - allow: web\n    ports: [80, 443]\n';

/** The `PolicySync` contract as tests. */
export function describePolicyConformance(
  backend: string,
  createFixture: () => Promise<PolicyFixture>,
): void {
  describe(`PolicySync contract (${backend})`, () => {
    let fixture: PolicyFixture;
    beforeEach(async () => {
      fixture = await createFixture();
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('the leader publishes policies; versions strictly increase; reads return what was written', async () => {
      const { election, policies } = await fixture.leader('leader');
      const first = await policies.syncPolicy('web', DOCUMENT);
      expect(first).toMatchObject({ name: 'web', document: DOCUMENT, updatedBy: election.nodeId });
      const second = await policies.syncPolicy('web', `${DOCUMENT}# v2\n`);
      expect(second.version).toBeGreaterThan(first.version);
      await policies.syncPolicy('db', 'allow: [postgres]\n');
      expect(await policies.getPolicyVersion('web')).toBe(second.version);
      expect(await policies.getPolicy('web')).toMatchObject({
        document: `${DOCUMENT}# v2\n`,
        version: second.version,
      });
      expect((await policies.listPolicies()).map((policy) => policy.name)).toEqual(['db', 'web']);
      expect(await policies.getPolicyVersion('missing')).toBeUndefined();
    });

    it('deleting is explicit, and versions keep increasing across a delete and re-create', async () => {
      const { policies } = await fixture.leader('leader');
      const before = await policies.syncPolicy('web', DOCUMENT);
      expect(await policies.deletePolicy('web')).toBe(true);
      expect(await policies.deletePolicy('web')).toBe(false);
      expect(await policies.getPolicy('web')).toBeUndefined();
      const after = await policies.syncPolicy('web', DOCUMENT);
      expect(after.version).toBeGreaterThan(before.version);
    });

    it('a node that is not the leader cannot write, and nothing is written', async () => {
      await fixture.leader('leader');
      const { policies } = await fixture.follower('follower');
      await expect(policies.syncPolicy('web', DOCUMENT)).rejects.toSatisfy(isNotLeaderError);
      await expect(policies.deletePolicy('web')).rejects.toSatisfy(isNotLeaderError);
      expect(await policies.getPolicy('web')).toBeUndefined();
    });

    it('compare-and-set: ifVersion must match (0: must not exist yet)', async () => {
      const { policies } = await fixture.leader('leader');
      const created = await policies.syncPolicy('web', DOCUMENT, { ifVersion: 0 });
      await expect(policies.syncPolicy('web', DOCUMENT, { ifVersion: 0 })).rejects.toSatisfy(
        isPolicyVersionConflictError,
      );
      const error = await policies
        .syncPolicy('web', DOCUMENT, { ifVersion: created.version + 1000 })
        .catch((e: unknown) => e);
      expect(isPolicyVersionConflictError(error) && error.actual).toBe(created.version);
      const updated = await policies.syncPolicy('web', `${DOCUMENT}# v2\n`, { ifVersion: created.version });
      expect(updated.version).toBeGreaterThan(created.version);
      await expect(policies.deletePolicy('web', { ifVersion: created.version })).rejects.toSatisfy(
        isPolicyVersionConflictError,
      );
      expect(await policies.getPolicyVersion('web')).toBe(updated.version);
    });

    it.each([
      ['a bad name', 'Web Policy', DOCUMENT, /policy name must be 1-128 lowercase letters/],
      ['a name with a slash', 'a/b', DOCUMENT, /policy name must be/],
      ['invalid YAML', 'web', 'rules: [unclosed\n', /document is not valid YAML \(line \d+, column \d+\)/],
      ['duplicate keys', 'web', 'a: 1\na: 2\n', /document is not valid YAML/],
      [
        'a document of comments only',
        'web',
        '# only a comment\n',
        /^document holds only comments: there is no policy document in it$/,
      ],
      [
        'several documents',
        'web',
        'a: 1\n---\nb: 2\n',
        /^document holds more than one YAML document \(a "---" line at line 2 starts another\)/,
      ],
      [
        'bytes that are not UTF-8',
        'web',
        Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]),
        /^document is not valid UTF-8 at byte offset 3 \(line 1\): 0xe9/,
      ],
      ['text with a lone surrogate', 'web', 'a: "\ud800"\n', /^document must be valid Unicode text/],
      [
        'an oversized document',
        'web',
        `big: "${'x'.repeat(MAX_POLICY_BYTES)}"\n`,
        /document must be at most 262144 bytes/,
      ],
    ])('rejects %s before writing anything', async (_case, name, document, message) => {
      const { policies } = await fixture.leader('leader');
      const error = await policies.syncPolicy(name, document).catch((e: unknown) => e);
      expect(isValidationError(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect(await policies.listPolicies()).toEqual([]);
    });

    it('writing the current document again writes nothing and resolves with its version', async () => {
      const { policies } = await fixture.leader('leader');
      const updates = new Recorder<PolicyUpdate>(policies.subscribePolicies());
      await fixture.settle(updates.until((all) => all.length >= 1));
      const first = await policies.syncPolicy('web', DOCUMENT);
      expect(first.changed).toBe(true);
      const again = await policies.syncPolicy('web', DOCUMENT);
      expect(again).toMatchObject({ version: first.version, document: DOCUMENT, changed: false });
      expect(again.updatedAt).toEqual(first.updatedAt);
      const asBytes = await policies.syncPolicy('web', new TextEncoder().encode(DOCUMENT), {
        ifVersion: first.version,
      });
      expect(asBytes).toMatchObject({ version: first.version, changed: false });
      expect(await policies.getPolicyVersion('web')).toBe(first.version);
      // Subscribers heard of the first write only: the next update is the next real change.
      const changed = await policies.syncPolicy('web', `${DOCUMENT}# v2\n`);
      const all = await fixture.settle(updates.until((items) => items.length >= 3));
      expect(all.slice(1).map((u) => (u.type === 'updated' ? u.policy.version : u.type))).toEqual([
        first.version,
        changed.version,
      ]);
    });

    it('the same document is still a write: compare-and-set and fencing apply to it', async () => {
      const { election, policies } = await fixture.leader('leader');
      const term = election.term as number;
      const first = await policies.syncPolicy('web', DOCUMENT, { term });
      const error = await policies
        .syncPolicy('web', DOCUMENT, { ifVersion: first.version + 1000 })
        .catch((e: unknown) => e);
      expect(isPolicyVersionConflictError(error) && error.actual).toBe(first.version);
      await election.resign();
      await fixture.settle(election.waitForLeadership());
      await expect(policies.syncPolicy('web', DOCUMENT, { term })).rejects.toSatisfy(isFencedWriteError);
      const { policies: follower } = await fixture.follower('follower');
      await expect(follower.syncPolicy('web', DOCUMENT)).rejects.toSatisfy(isNotLeaderError);
    });

    it('a subscriber gets a snapshot first, then every change in order', async () => {
      const { policies } = await fixture.leader('leader');
      await policies.syncPolicy('existing', DOCUMENT);
      const updates = new Recorder<PolicyUpdate>(policies.subscribePolicies());
      await fixture.settle(updates.until((all) => all.length >= 1));
      expect(updates.items[0]).toMatchObject({ type: 'snapshot', policies: [{ name: 'existing' }] });
      const a1 = await policies.syncPolicy('a', 'v: 1\n');
      const a2 = await policies.syncPolicy('a', 'v: 2\n');
      await policies.deletePolicy('existing');
      const all = await fixture.settle(updates.until((items) => items.length >= 4));
      expect(
        all
          .slice(1)
          .map((u) =>
            u.type === 'updated'
              ? `updated:${u.policy.name}@${u.policy.version}`
              : `${u.type}:${u.type === 'deleted' ? u.name : ''}`,
          ),
      ).toEqual([`updated:a@${a1.version}`, `updated:a@${a2.version}`, 'deleted:existing']);
    });

    it('a write fenced by the term its work started under fails once that leadership ended', async () => {
      const { election, policies } = await fixture.leader('leader');
      const term = election.term as number;
      await policies.syncPolicy('web', DOCUMENT, { term });
      await election.resign(); // a lone node leads again at once, under a newer term
      await fixture.settle(election.waitForLeadership());
      expect(election.term).toBeGreaterThan(term);
      await expect(policies.syncPolicy('web', `${DOCUMENT}# stale\n`, { term })).rejects.toSatisfy(
        isFencedWriteError,
      );
      expect((await policies.getPolicy('web'))?.document).toBe(DOCUMENT);
    });

    it('subscribing with an aborted signal gives a finished subscription', async () => {
      const { policies } = await fixture.leader('leader');
      const updates = new Recorder(policies.subscribePolicies({ signal: AbortSignal.abort() }));
      await fixture.settle(updates.ended());
      expect(updates.error).toBeUndefined();
    });

    it('a subscription ends when its signal aborts', async () => {
      const { policies } = await fixture.leader('leader');
      const controller = new AbortController();
      const updates = new Recorder(policies.subscribePolicies({ signal: controller.signal }));
      await fixture.settle(updates.until((all) => all.length >= 1));
      controller.abort();
      await fixture.settle(updates.ended());
      expect(updates.error).toBeUndefined();
    });
  });
}
