#!/usr/bin/env bash
# Builds a small etcd image from the etcd binary installed on this machine, without any registry:
#
#   ZTAP_TEST_ETCD_IMAGE="$(scripts/etcd-image.sh)"   # prints the image name, e.g. localhost/ztap-etcd:3.4.23
#
# The binary is $ETCD_BIN, else the `etcd` on PATH (Debian/Ubuntu: apt-get install etcd-server). The
# image holds it, the shared libraries it links (from ldd), a minimal /etc/passwd and /etc/group, and
# writable /tmp and /data: FROM scratch, no shell, about 24 MB. Like upstream's images it has `etcd` on
# PATH and no ENTRYPOINT, so Testcontainers' etcd module can run `etcd --name ...`.
#
# The engine is podman, or $CONTAINER_ENGINE (e.g. docker). An image of that name built from the same
# binary is reused (label ztap.etcd.sha256); ZTAP_ETCD_IMAGE_REBUILD=1 builds anyway. Messages go to
# stderr; only the image name goes to stdout.
set -euo pipefail

engine="${CONTAINER_ENGINE:-podman}"
say() { echo "etcd-image: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

command -v "$engine" >/dev/null 2>&1 || die "$engine is not installed (or set CONTAINER_ENGINE)"
binary="${ETCD_BIN:-$(command -v etcd || true)}"
[ -n "$binary" ] && [ -x "$binary" ] ||
  die "no etcd binary: set ETCD_BIN or put etcd on PATH (Debian/Ubuntu: apt-get install etcd-server)"
binary="$(readlink -f "$binary")"
version="$(env -u ETCD_BIN "$binary" --version | sed -n 's/^etcd Version: *//p')"
[ -n "$version" ] || die "$binary --version printed no etcd version"
image="${ZTAP_ETCD_IMAGE_NAME:-localhost/ztap-etcd}:$version"
sha="$(sha256sum "$binary" | cut -d' ' -f1)"

if [ "${ZTAP_ETCD_IMAGE_REBUILD:-0}" != 1 ] &&
  [ "$("$engine" image inspect --format '{{ index .Config.Labels "ztap.etcd.sha256" }}' "$image" 2>/dev/null)" = "$sha" ]; then
  say "$image is up to date (etcd $version from $binary)"
  echo "$image"
  exit 0
fi

started=$(date +%s%N)
context="$(mktemp -d "${TMPDIR:-/tmp}/ztap-etcd-image-XXXXXX")"
trap 'rm -rf "$context"' EXIT
rootfs="$context/rootfs"
mkdir -p "$rootfs/usr/bin" "$rootfs/etc" "$rootfs/data" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp "$binary" "$rootfs/usr/bin/etcd"
# The libraries and loader it links, each at the path the loader looks for it (a static binary has none).
for lib in $(ldd "$binary" 2>/dev/null | grep -o '/[^ ]*' || true); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' \
  >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
cat >"$context/Containerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
LABEL ztap.etcd.version="$version" ztap.etcd.sha256="$sha" ztap.etcd.source="$binary"
WORKDIR /data
EXPOSE 2379 2380
CMD ["/usr/bin/etcd"]
EOF

build_args=(build --tag "$image" --file "$context/Containerfile")
# No network is needed, and none may be reached: podman can say so.
[ "$(basename "$engine")" = podman ] && build_args+=(--network=none)
"$engine" "${build_args[@]}" "$context" >&2
say "built $image (etcd $version from $binary, $(du -sh "$rootfs" | cut -f1)) in $((($(date +%s%N) - started) / 1000000)) ms"
echo "$image"
