import { isIPv6 } from 'node:net';
import { ValidationError } from './errors.ts';
import type { NodeMetadata, NodeRegistration } from './types.ts';

export const MAX_NODE_ID_LENGTH = 128;
export const MAX_METADATA_KEY_LENGTH = 128;
/** Total size of all metadata keys and values, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 8192;

// C0 controls, DEL and C1 controls: invisible in logs and terminals, and they break key layouts.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Whether `text` holds a C0 or C1 control character or DEL: names that hold one cannot be shown or keyed safely. */
export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTERS.test(text);
}
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * A node id names a key in etcd and a row in a table, so it must be non-empty, at most
 * {@link MAX_NODE_ID_LENGTH} characters, without `/` (it would nest keys), whitespace or control characters.
 */
export function validateNodeId(id: unknown, field = 'nodeId'): string {
  if (typeof id !== 'string') throw new ValidationError(field, `must be a string (got ${typeof id})`);
  if (id.length === 0) throw new ValidationError(field, 'must not be empty');
  if (id.length > MAX_NODE_ID_LENGTH) {
    throw new ValidationError(field, `must be at most ${MAX_NODE_ID_LENGTH} characters (got ${id.length})`);
  }
  if (id.includes('/')) throw new ValidationError(field, `must not contain "/" (got ${JSON.stringify(id)})`);
  if (CONTROL_CHARACTERS.test(id)) {
    throw new ValidationError(field, `must not contain control characters (got ${JSON.stringify(id)})`);
  }
  // Tables and logs separate columns by spaces: an id with a space in it would read as two.
  if (/\s/u.test(id)) {
    throw new ValidationError(field, `must not contain whitespace (got ${JSON.stringify(id)})`);
  }
  // A lone surrogate cannot be encoded in UTF-8: etcd would store (and list) a different id.
  if (!id.isWellFormed())
    throw new ValidationError(field, `must be valid Unicode (got ${JSON.stringify(id)})`);
  return id;
}

/**
 * An address is `host:port`: a hostname, an IPv4 address or a bracketed IPv6 address (`[::1]:9090`),
 * and a port from 1 to 65535.
 */
export function validateAddress(address: unknown, field = 'nodeAddress'): string {
  const rule = 'must be host:port, e.g. 10.0.0.7:9090, node-1.internal:9090 or [::1]:9090';
  if (typeof address !== 'string')
    throw new ValidationError(field, `must be a string (got ${typeof address})`);
  const separator = address.lastIndexOf(':');
  if (separator <= 0) throw new ValidationError(field, `${rule} (got ${JSON.stringify(address)})`);
  const host = address.slice(0, separator);
  const port = address.slice(separator + 1);
  const bracketed = host.startsWith('[') && host.endsWith(']');
  const hostValid = bracketed ? isIPv6(host.slice(1, -1)) : IPV4.test(host) || HOSTNAME.test(host);
  if (!hostValid) throw new ValidationError(field, `${rule} (got ${JSON.stringify(address)})`);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new ValidationError(field, `port must be a number from 1 to 65535 (got ${JSON.stringify(port)})`);
  }
  return address;
}

/**
 * Metadata is a plain object of string values; keys are 1-128 characters without control characters,
 * and keys and values together take at most {@link MAX_METADATA_BYTES} bytes of UTF-8.
 * Returns a frozen copy, so later changes by the caller cannot leak in.
 */
export function validateMetadata(metadata: unknown, field = 'metadata'): NodeMetadata {
  if (metadata === undefined) return Object.freeze({});
  if (!isPlainObject(metadata))
    throw new ValidationError(
      field,
      'must be an object of string values (a plain object: not a Map, an array or null)',
    );
  const entries: [string, string][] = [];
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (key.length === 0 || key.length > MAX_METADATA_KEY_LENGTH || CONTROL_CHARACTERS.test(key)) {
      throw new ValidationError(
        `${field} key ${JSON.stringify(key)}`,
        `must be 1-${MAX_METADATA_KEY_LENGTH} characters without control characters`,
      );
    }
    if (typeof value !== 'string') {
      throw new ValidationError(`${field}.${key}`, `must be a string (got ${typeof value})`);
    }
    if (!key.isWellFormed() || !value.isWellFormed()) {
      throw new ValidationError(`${field}.${key}`, 'must be valid Unicode (no lone surrogates)');
    }
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    entries.push([key, value]);
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new ValidationError(field, `must total at most ${MAX_METADATA_BYTES} bytes (got ${bytes})`);
  }
  // fromEntries defines own properties, so a "__proto__" key stays a key instead of a prototype.
  return Object.freeze(Object.fromEntries(entries));
}

/** Object literals and JSON: not Maps, class instances or arrays, whose entries would be lost. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Validates a registration as a whole; returns a normalised, frozen copy. */
export function validateRegistration(node: unknown, field = 'node'): NodeRegistration {
  if (typeof node !== 'object' || node === null) throw new ValidationError(field, 'must be an object');
  const { id, address, metadata } = node as Record<string, unknown>;
  return Object.freeze({
    id: validateNodeId(id, `${field}.id`),
    address: validateAddress(address, `${field}.address`),
    metadata: validateMetadata(metadata, `${field}.metadata`),
  });
}
