import { isMap, isScalar, parseDocument, visit } from 'yaml';
import { ValidationError } from './errors.ts';

/** Documents are YAML text of at most this many UTF-8 bytes (etcd's default request limit is 1.5 MiB). */
export const MAX_POLICY_BYTES = 256 * 1024;

// `ignoreBOM` keeps a byte order mark in the text: the document is stored exactly as given.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Checks that `document` is YAML worth storing and returns its text: a string (well-formed Unicode)
 * or UTF-8 bytes, at most {@link MAX_POLICY_BYTES}, one document that a real YAML parser reads
 * without errors, with content. The text is returned unchanged: it is stored as given (comments and
 * formatting are the author's). Errors name `field` (e.g. the file) and say what to fix.
 */
export function validatePolicyDocument(document: unknown, field = 'document'): string {
  const text = policyText(document, field);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_POLICY_BYTES)
    throw new ValidationError(field, `must be at most ${MAX_POLICY_BYTES} bytes (got ${bytes})`);
  // uniqueKeys is checked below in linear time: the parser's own check is quadratic per mapping.
  const parsed = parseDocument(text, { prettyErrors: true, uniqueKeys: false });
  const error = parsed.errors[0];
  if (error) {
    const line = error.linePos?.[0];
    // The parser's own words for this one name its API ("use YAML.parseAllDocuments()").
    if (error.code === 'MULTIPLE_DOCS')
      throw new ValidationError(
        field,
        `holds more than one YAML document (a "---" line${line ? ` at line ${line.line}` : ''} starts another): a policy is one document`,
      );
    const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?\s*$/, '');
    throw new ValidationError(
      field,
      `is not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ''}: ${reason}`,
    );
  }
  const duplicate = firstDuplicateKey(parsed);
  if (duplicate !== undefined)
    throw new ValidationError(
      field,
      `is not valid YAML: map keys must be unique (${JSON.stringify(duplicate)} repeats)`,
    );
  let value: unknown;
  try {
    // Resolves aliases: an unknown one, or an "alias bomb" that would expand without bound, throws.
    value = parsed.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    throw new ValidationError(field, `is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  if (parsed.contents === null || value === null || value === undefined) {
    throw new ValidationError(field, withoutContent(text));
  }
  return text;
}

/** The text of a document given as a string or as bytes. */
function policyText(document: unknown, field: string): string {
  if (document instanceof Uint8Array) {
    try {
      return strictUtf8.decode(document);
    } catch {
      throw new ValidationError(field, notUtf8(document));
    }
  }
  if (typeof document !== 'string')
    throw new ValidationError(field, `must be YAML text or its UTF-8 bytes (got ${typeof document})`);
  // A lone surrogate has no UTF-8 form: it would be stored as U+FFFD, a different document.
  if (!document.isWellFormed()) {
    const index = [...document.matchAll(/\p{Surrogate}/gu)][0]?.index ?? 0;
    throw new ValidationError(
      field,
      `must be valid Unicode text: a lone surrogate (U+${document.charCodeAt(index).toString(16).toUpperCase()}) at index ${index} has no UTF-8 form`,
    );
  }
  return document;
}

/** Why a document without a value is refused: empty, only comments, or an explicit null. */
function withoutContent(text: string): string {
  const lines = text.split(/\r?\n/);
  // Lines that hold no value: blank, a comment, or a document marker (optionally with a comment).
  const noValue = lines.every((line) => /^(?:---|\.\.\.)?\s*(?:#.*)?$/.test(line.replace(/^\ufeff/, '')));
  if (!noValue) return 'holds only an empty (null) value: a policy document needs content';
  return lines.some((line) => /(?:^|\s)#/.test(line))
    ? 'holds only comments: there is no policy document in it'
    : 'is empty: there is no policy document in it';
}

/** Where the bytes stop being UTF-8, for the error: offset, line and the bytes that are no character. */
function notUtf8(bytes: Uint8Array): string {
  const { offset, length } = firstInvalidUtf8(bytes);
  const line = bytes.subarray(0, offset).filter((byte) => byte === 0x0a).length + 1;
  const shown = [...bytes.subarray(offset, offset + length)]
    .map((byte) => `0x${byte.toString(16).padStart(2, '0')}`)
    .join(' ');
  return `is not valid UTF-8 at byte offset ${offset} (line ${line}): ${shown}; save it as UTF-8`;
}

/**
 * The first ill-formed sequence in `bytes` (Unicode's table of well-formed UTF-8: no overlong forms,
 * no surrogates, nothing above U+10FFFF): its offset, and its length up to the first byte that does
 * not fit (what a decoder would replace with one U+FFFD).
 */
export function firstInvalidUtf8(bytes: Uint8Array): { offset: number; length: number } {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index] as number;
    const [count, low, high] = sequenceOf(lead);
    if (count === 0) return { offset: index, length: 1 };
    for (let next = 1; next < count; next++) {
      const byte = bytes[index + next];
      if (byte === undefined) return { offset: index, length: next };
      const [min, max] = next === 1 ? [low, high] : [0x80, 0xbf];
      if (byte < min || byte > max) return { offset: index, length: next };
    }
    index += count;
  }
  return { offset: bytes.length, length: 0 };
}

/** A lead byte's sequence length and the range its second byte must fall in (0: not a lead byte). */
function sequenceOf(lead: number): [count: number, low: number, high: number] {
  if (lead <= 0x7f) return [1, 0, 0];
  if (lead >= 0xc2 && lead <= 0xdf) return [2, 0x80, 0xbf];
  if (lead === 0xe0) return [3, 0xa0, 0xbf];
  if (lead === 0xed) return [3, 0x80, 0x9f];
  if (lead >= 0xe1 && lead <= 0xef) return [3, 0x80, 0xbf];
  if (lead === 0xf0) return [4, 0x90, 0xbf];
  if (lead >= 0xf1 && lead <= 0xf3) return [4, 0x80, 0xbf];
  if (lead === 0xf4) return [4, 0x80, 0x8f];
  return [0, 0, 0];
}

/** The first key that a mapping repeats (scalar keys, compared as text), if any. */
function firstDuplicateKey(parsed: ReturnType<typeof parseDocument>): string | undefined {
  let duplicate: string | undefined;
  visit(parsed, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        if (seen.has(key)) {
          duplicate = key;
          return visit.BREAK;
        }
        seen.add(key);
      }
    },
  });
  return duplicate;
}
