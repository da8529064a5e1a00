import { describe, expect, it } from 'vitest';
import {
  FencedWriteError,
  isFencedWriteError,
  isLeadershipLostError,
  isLeaderWorkError,
  isNarrowViewError,
  isNodeExistsError,
  isNodeIdInUseError,
  isRoleError,
  isValidationError,
  isZtapError,
  LeadershipLostError,
  LeaderWorkError,
  NarrowViewError,
  NodeExistsError,
  NodeIdInUseError,
  RoleError,
  ValidationError,
} from '../src/index.ts';

describe('errors', () => {
  it('have a name, a stable code and a message that says what to do', () => {
    const error = new NodeExistsError('n1');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('NodeExistsError');
    expect(error.code).toBe('ZTAP_NODE_EXISTS');
    expect(error.message).toBe('node "n1" is already a member of the cluster');
  });

  it('pass their cause through', () => {
    const cause = new Error('etcd said no');
    expect(new FencedWriteError(7, { cause }).cause).toBe(cause);
  });

  it('guards recognise errors from another copy of the library by their code', () => {
    const foreign = Object.assign(new Error('x'), { code: 'ZTAP_LEADERSHIP_LOST' });
    expect(isLeadershipLostError(foreign)).toBe(true);
    expect(isZtapError(foreign)).toBe(true);
    expect(isFencedWriteError(foreign)).toBe(false);
  });

  it('guards reject look-alikes that are not errors', () => {
    expect(isValidationError({ code: 'ZTAP_VALIDATION' })).toBe(false);
    expect(isNodeExistsError(undefined)).toBe(false);
    expect(isZtapError(new Error('plain'))).toBe(false);
  });

  it('a role or a view that rules a call out says which, and the option that allows it', () => {
    const role = new RoleError('agent-7', 'member', 'waitForLeadership()');
    expect(isRoleError(role) && role).toMatchObject({
      name: 'RoleError',
      code: 'ZTAP_ROLE',
      nodeId: 'agent-7',
      role: 'member',
      operation: 'waitForLeadership()',
      message:
        "node \"agent-7\" has role 'member', which never campaigns, so it cannot waitForLeadership(); give it role: 'candidate' to let it lead",
    });
    const view = new NarrowViewError('agent-7', 'getNodes()');
    expect(isNarrowViewError(view) && view).toMatchObject({
      name: 'NarrowViewError',
      code: 'ZTAP_NARROW_VIEW',
      nodeId: 'agent-7',
      operation: 'getNodes()',
    });
    expect(view.message).toContain("view: 'leader'");
    expect(view.message).toContain("give it view: 'full'");
    expect(isRoleError(view)).toBe(false);
  });

  it('carry their details', () => {
    expect(new ValidationError('nodeId', 'must not be empty')).toMatchObject({
      field: 'nodeId',
      message: 'nodeId must not be empty',
    });
    expect(new LeadershipLostError(3, 'deadline')).toMatchObject({ term: 3, reason: 'deadline' });
    const cause = new Error('the invoice service answered 500');
    const failure = new LeaderWorkError(9, { cause });
    expect(isLeaderWorkError(failure) && failure).toMatchObject({
      term: 9,
      cause,
      code: 'ZTAP_LEADER_WORK',
      message:
        'leader work failed under term 9: the invoice service answered 500; this node resigned so another can take over',
    });
  });

  it('a node id in use names the id, the holder and the remedy; "since" only when the record says', () => {
    const error = new NodeIdInUseError('node-1', {
      address: '10.0.0.7:9090',
      since: new Date('2026-11-30T10:01:02.999Z'),
      leaseId: '42',
    });
    expect(error).toMatchObject({
      name: 'NodeIdInUseError',
      code: 'ZTAP_NODE_ID_IN_USE',
      nodeId: 'node-1',
      holder: { address: '10.0.0.7:9090', leaseId: '42' },
      message:
        'node id "node-1" is in use by a running node at 10.0.0.7:9090 (since 2026-11-30T10:01:02Z); ' +
        'pick another node id, or stop that node first',
    });
    expect(isNodeIdInUseError(error)).toBe(true);
    expect(isNodeExistsError(error)).toBe(false);
    expect(new NodeIdInUseError('n', { address: 'h:1' }).message).toBe(
      'node id "n" is in use by a running node at h:1; pick another node id, or stop that node first',
    );
  });
});
