#!/usr/bin/env bash
# Installs the `ztap` command from this checkout, the way npm users will get it once the packages are
# published: the public packages are built and packed, then installed with npm into one folder.
#
#   scripts/install-ztap.sh              # into ~/.local/share/ztap, linked as ~/.local/bin/ztap
#   scripts/install-ztap.sh /opt/ztap    # into /opt/ztap (no link; the command is /opt/ztap/node_modules/.bin/ztap)
#
# The packages are not on the npm registry yet; this is the way to install them from source.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=node.sh
. scripts/node.sh

target="${1:-$HOME/.local/share/ztap}"
tarballs="$(mktemp -d)"
trap 'rm -rf "$tarballs"' EXIT

echo "building the packages" >&2
pnpm --silent build
for dir in packages/*/; do
  # Private packages (testkit, bench, docs) are not shipped; the testing kit is for a service's tests,
  # not for the command.
  [ "$dir" = packages/testing/ ] && continue
  node -e 'process.exit(require(process.argv[1]).private ? 1 : 0)' "$PWD/$dir/package.json" || continue
  (cd "$dir" && pnpm pack --pack-destination "$tarballs" >/dev/null)
done

echo "installing into $target" >&2
mkdir -p "$target"
[ -f "$target/package.json" ] || echo '{ "private": true }' >"$target/package.json"
# All tarballs in one install: the CLI's @ztap/* dependencies are satisfied by the tarballs beside it.
npm install --prefix "$target" --no-audit --no-fund --loglevel=error "$tarballs"/*.tgz

bin="$target/node_modules/.bin/ztap"
if [ $# -eq 0 ]; then
  mkdir -p "$HOME/.local/bin"
  ln -sf "$bin" "$HOME/.local/bin/ztap"
  bin="$HOME/.local/bin/ztap"
fi
echo "installed: $bin ($("$bin" --version))"
case ":$PATH:" in
  *":$(dirname "$bin"):"*) ;;
  *) echo "add $(dirname "$bin") to your PATH to run it as \`ztap\`" >&2 ;;
esac
