/** A value as error messages show it: never throws, whatever it is (no prototype, a Symbol, ...). */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  return `a ${typeof value}`;
}
