/**
 * Tells a lease that someone keeps alive from one that is running out, from a few `LeaseTimeToLive`
 * answers. Used when a starting node finds its id held by another lease: a live duplicate renews
 * it, a crashed predecessor (this node's previous incarnation, say) does not.
 *
 * etcd reports the remaining TTL in whole seconds, truncated (a lease renewed every second with a
 * TTL of 5 s reads "4" forever), so "the TTL went up" is not a usable test. Instead each answer
 * bounds the lease's expiry time: an answer of `n` ≥ 1 seconds, computed by the server at some
 * instant between our send and our receipt, puts the expiry in `[sent + n, received + n + 1)` s; an
 * answer of 0 only says it is before `received + 1` s (an expired lease can linger at 0 until the
 * server's lessor revokes it). A lease nobody renews has one fixed expiry, so its bounds always
 * overlap; once they no longer do, the lease was renewed in between — someone is alive. A renewing
 * holder is caught about one second after the first answer, whatever its heartbeat; an unrenewed
 * lease is never mistaken for a renewed one.
 *
 * Times are milliseconds on the caller's monotonic clock.
 */
export class LeaseRenewalDetector {
  /** Absorbs rate differences between our clock and the server's over a lease's lifetime. */
  static readonly toleranceMs = 25;
  #earliestExpiryMs = Number.NEGATIVE_INFINITY;
  #latestExpiryMs = Number.POSITIVE_INFINITY;

  /**
   * Adds one answer (`ttlSeconds` ≥ 0, as etcd reported it) to a request sent at `sentAtMs` and
   * answered at `answeredAtMs`. Returns true once the answers prove the lease was renewed.
   */
  observe(ttlSeconds: number, sentAtMs: number, answeredAtMs: number): boolean {
    if (ttlSeconds >= 1)
      this.#earliestExpiryMs = Math.max(this.#earliestExpiryMs, sentAtMs + ttlSeconds * 1000);
    this.#latestExpiryMs = Math.min(
      this.#latestExpiryMs,
      answeredAtMs + (Math.max(0, ttlSeconds) + 1) * 1000,
    );
    return this.renewed;
  }

  /** Whether no single expiry time fits every answer so far. */
  get renewed(): boolean {
    return this.#earliestExpiryMs >= this.#latestExpiryMs + LeaseRenewalDetector.toleranceMs;
  }
}
