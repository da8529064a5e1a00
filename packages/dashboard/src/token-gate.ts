import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie a browser keeps after opening the dashboard's `?token=` link. */
export const SESSION_COOKIE = 'ztap_dashboard_session';

/** What to do with a request, by its credentials. */
export type GateDecision =
  | { readonly kind: 'allow' }
  /** A valid `?token=`: set the session cookie and send the browser to the same URL without it. */
  | { readonly kind: 'redirect'; readonly location: string; readonly cookie: string }
  | { readonly kind: 'deny'; readonly reason: string };

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares in time independent of where the texts differ (both are hashed to the same length first). */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Checks every request against the dashboard's token: `Authorization: Bearer <token>` (scripts), or
 * the session cookie set by a one-time `?token=<token>` link (browsers). The cookie holds an HMAC of
 * the token, not the token, is HttpOnly and SameSite=Strict, and the redirect drops the token from the
 * address bar and history. Without a token every request is allowed (loopback only: see
 * `assertSafeListen`).
 */
export class TokenGate {
  readonly #token: string | undefined;
  readonly #session: string | undefined;
  readonly #cookiePath: string;

  constructor(token: string | undefined, cookiePath: string) {
    this.#token = token;
    this.#session = token && createHmac('sha256', token).update('ztap-dashboard-session').digest('base64url');
    this.#cookiePath = cookiePath;
  }

  get required(): boolean {
    return this.#token !== undefined;
  }

  check(request: IncomingMessage, url: URL): GateDecision {
    const token = this.#token;
    const session = this.#session;
    if (token === undefined || session === undefined) return { kind: 'allow' };
    const offered = url.searchParams.get('token');
    if (offered !== null) {
      if (!sameSecret(offered, token)) return { kind: 'deny', reason: 'the token in the link is not valid' };
      const clean = new URL(url);
      clean.searchParams.delete('token');
      const secure = (request.socket as { encrypted?: boolean }).encrypted ? '; Secure' : '';
      return {
        kind: 'redirect',
        location: `${clean.pathname}${clean.search}`,
        cookie: `${SESSION_COOKIE}=${session}; Path=${this.#cookiePath}; HttpOnly; SameSite=Strict${secure}`,
      };
    }
    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Bearer ')) {
      return sameSecret(authorization.slice('Bearer '.length).trim(), token)
        ? { kind: 'allow' }
        : { kind: 'deny', reason: 'the bearer token is not valid' };
    }
    const cookie = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined && sameSecret(cookie, session)) return { kind: 'allow' };
    return { kind: 'deny', reason: 'this dashboard needs its token' };
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}
