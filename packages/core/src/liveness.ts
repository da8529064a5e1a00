/**
 * Whether a node can vouch for its own membership right now, and if not, why: one readable sentence
 * meant for health endpoints and logs (it never carries credentials or endpoints).
 */
export type Liveness =
  | { readonly ok: true; readonly reason?: undefined }
  | { readonly ok: false; readonly reason: string };

/** The node can vouch for its membership. */
export const LIVE: Liveness = Object.freeze({ ok: true });

/** The node cannot vouch for its membership, for `reason`. */
export function notLive(reason: string): Liveness {
  return Object.freeze({ ok: false, reason });
}
