import { describe, expect, it } from 'vitest';
import { FROM_KEEPER, parseMessage, TO_KEEPER } from '../src/run/keeper-protocol.ts';

describe('messages between ztap run and its keeper', () => {
  it.each([
    '{"type":"start","command":["sh","-c","work"],"env":{"A":"1"},"graceMs":1000,"validUntilMs":12.5}',
    '{"type":"renew","validUntilMs":1e9}',
    '{"type":"stop"}',
  ])('the keeper reads %s', (line) => {
    expect(parseMessage(line, TO_KEEPER)).toEqual(JSON.parse(line));
  });

  it.each([
    ['not JSON', 'stop'],
    ['not an object', '"stop"'],
    ['an unknown type', '{"type":"restart"}'],
    ['a type inherited from Object', '{"type":"constructor"}'],
    ['a missing field', '{"type":"renew"}'],
    ['a field of the wrong type', '{"type":"renew","validUntilMs":"soon"}'],
    [
      'an environment with a non-string value',
      '{"type":"start","command":["x"],"env":{"A":1},"graceMs":1,"validUntilMs":1}',
    ],
    ['a message meant for the other side', '{"type":"started","pid":12}'],
  ])('the keeper refuses %s', (_what, line) => {
    expect(parseMessage(line, TO_KEEPER)).toBeUndefined();
  });

  it('ztap run reads the reports, and refuses a stop cause it does not know', () => {
    const stopping =
      '{"type":"stopping","cause":"deadline","processes":[{"pid":3,"command":"sleep 1"}],"graceMs":0,"deadlineMs":0}';
    expect(parseMessage(stopping, FROM_KEEPER)).toEqual(JSON.parse(stopping));
    expect(parseMessage(stopping.replace('deadline', 'boredom'), FROM_KEEPER)).toBeUndefined();
    expect(parseMessage('{"type":"ended","status":null,"remaining":[]}', FROM_KEEPER)).toEqual({
      type: 'ended',
      status: null,
      remaining: [],
    });
    expect(parseMessage('{"type":"ended","status":"0","remaining":[]}', FROM_KEEPER)).toBeUndefined();
  });
});
