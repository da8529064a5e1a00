#!/usr/bin/env bash
# Runs the tests with the integration suite in etcd containers on Podman, in one command:
#
#   scripts/podman-test.sh              # pnpm test, etcd in Podman containers
#   scripts/podman-test.sh integration  # arguments go to vitest, e.g. a path filter
#
# Starts Podman's Docker API (scripts/podman-service.sh) unless it already runs, builds the etcd image
# from the local etcd binary (scripts/etcd-image.sh), runs `pnpm test` with Testcontainers pointed at
# them, and at the end removes the containers startEtcd() started and ends the service if it started it.
# Needs podman, runc and etcd (Debian/Ubuntu: apt-get install podman runc etcd-server etcd-client).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=node.sh
. scripts/node.sh

if scripts/podman-service.sh status 2>/dev/null; then
  trap 'scripts/podman-service.sh stop-containers' EXIT
else
  trap 'scripts/podman-service.sh stop' EXIT
fi
eval "$(scripts/podman-service.sh start)"
ZTAP_TEST_ETCD_IMAGE="$(scripts/etcd-image.sh)"
export ZTAP_TEST_ETCD_IMAGE ZTAP_TEST_ETCD_PROVIDER=container
pnpm test "$@"
