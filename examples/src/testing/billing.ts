import type { LeaderElection } from '@ztap/cluster';

/** One settlement run, as the ledger records it. */
export interface Settlement {
  readonly nodeId: string;
  /** The fencing token of the leadership it ran under. */
  readonly term: number;
}

/**
 * Settles the open invoices once, as leader: waits until `election` leads, then records the run under
 * its term. Your service would write to its database here, fenced by the term.
 */
export function settleInvoices(election: LeaderElection, ledger: Settlement[]): Promise<Settlement> {
  return election.runWhileLeader(({ term }) => {
    const settlement = { nodeId: election.nodeId, term };
    ledger.push(settlement);
    return settlement;
  });
}
