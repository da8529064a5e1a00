/** What to do on a machine where tests find no etcd; part of every {@link EtcdUnavailableError}. */
export const ETCD_INSTALL_HINT = [
  'Tests that need etcd never skip; give them one of these:',
  '  - a local etcd binary: `apt-get install etcd-server` (Debian/Ubuntu), `brew install etcd`, or a release',
  '    from https://github.com/etcd-io/etcd/releases; on PATH, or named by ETCD_BIN=/path/to/etcd;',
  '  - a running etcd: ZTAP_TEST_ETCD_ENDPOINTS=http://127.0.0.1:2379 (comma-separated);',
  '  - Docker or Podman answering on its Docker API socket (DOCKER_HOST), so Testcontainers starts one',
  '    (image: ZTAP_TEST_ETCD_IMAGE); with Podman, scripts/podman-test.sh sets that up and runs the tests.',
  'ZTAP_TEST_ETCD_PROVIDER=container|local forces one of the two. More: docs/testing.md.',
].join('\n');

/** No etcd can be provided the way the options and environment ask; the message says how to fix that. */
export class EtcdUnavailableError extends Error {
  /** Why, without the install hint. */
  readonly reason: string;

  constructor(reason: string) {
    super(`${reason}\n${ETCD_INSTALL_HINT}`);
    this.name = 'EtcdUnavailableError';
    this.reason = reason;
  }
}
