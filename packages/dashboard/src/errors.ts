import { ZtapError } from '@ztap/cluster';
import { hasErrorCode } from '@ztap/cluster/backend';

/**
 * The dashboard was asked to listen where anyone on the network could read the cluster, without a
 * token to keep them out. Nothing was started.
 */
export class DashboardExposedError extends ZtapError {
  static readonly code = 'ZTAP_DASHBOARD_EXPOSED';
  readonly host: string;

  constructor(host: string) {
    super(
      DashboardExposedError.code,
      `listening on ${host} would show the cluster to anyone who can reach this machine: ` +
        'give it a token or listen on 127.0.0.1',
    );
    this.host = host;
  }
}
export const isDashboardExposedError = (error: unknown): error is DashboardExposedError =>
  hasErrorCode(error, DashboardExposedError.code);
