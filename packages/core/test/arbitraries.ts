/**
 * Generators and the outcome check shared by the property tests: inputs that are often almost valid,
 * and the rule every validator must keep — accept (and hand back what it was given) or throw a
 * `ValidationError`, never anything else.
 */

import fc from 'fast-check';
import { isValidationError, type ValidationError } from '../src/index.ts';

/** Enough runs to meet the edge cases fast-check biases towards; each file stays well under 10 s. */
export const RUNS = { numRuns: 1000 } as const;

/** Characters that break validators: separators, controls (C0, DEL, C1), odd whitespace, a lone surrogate. */
const TRICKY_CHARACTERS = [
  'a',
  'Z',
  '0',
  '-',
  '.',
  '_',
  '=',
  ':',
  '/',
  '[',
  ']',
  ' ',
  '\t',
  '\n',
  '\u0000',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\ufeff',
  'é',
  '😀',
];

/** Any text: printable ASCII, any graphemes, any code points, and strings built from tricky characters. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom(...TRICKY_CHARACTERS) }),
);

/** Text that is well-formed UTF-16 (no lone surrogates): see the known defect about node ids. */
export const wellFormedText: fc.Arbitrary<string> = anyText.filter((text) => text.isWellFormed());

/** Anything at all a caller might pass by mistake, from `undefined` to nested objects. */
export const anyValue: fc.Arbitrary<unknown> = fc.anything({
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withBoxedValues: true,
});

/** What a validator did with one input. */
export type Outcome<T> =
  | { readonly accepted: true; readonly value: T }
  | { readonly accepted: false; readonly error: ValidationError };

/**
 * Runs `validate`: its result, or the `ValidationError` it threw. Any other exception propagates and
 * fails the property, with the input that caused it.
 */
export function outcomeOf<T>(validate: () => T): Outcome<T> {
  try {
    return { accepted: true, value: validate() };
  } catch (error) {
    if (isValidationError(error)) return { accepted: false, error };
    throw error;
  }
}
