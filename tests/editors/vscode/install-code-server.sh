#!/usr/bin/env bash
# Installs code-server (real VS Code, served to a browser) once into a cache dir outside the
# tree, for tests/editors/test_vscode.py. Idempotent: a finished install is left alone.
#
# Offline-friendly: code-server's postinstall runs `npm install` in lib/vscode, where
# @vscode/ripgrep's postinstall downloads rg from GitHub unless
#   os.tmpdir()/vscode-ripgrep-cache-<package version>/ripgrep-<rg version>-<target>.tar.gz
# already exists (see its lib/download.js). We pre-seed that archive from Debian's /usr/bin/rg
# in a private TMPDIR, so only the npm registry is needed.
set -euo pipefail

VERSION="${CODE_SERVER_VERSION:-4.100.3}"
ROOT="${CODE_SERVER_HOME:-$HOME/.cache/magray-code-server}"
PREFIX="$ROOT/$VERSION"
STAMP="$PREFIX/.installed"
# Pinned by code-server 4.100.3's lib/vscode/npm-shrinkwrap.json and @vscode/ripgrep's postinstall.
RIPGREP_PACKAGE="1.15.11"
RIPGREP_RELEASE="v13.0.0-10"

if [ -f "$STAMP" ] && [ -x "$PREFIX/node_modules/.bin/code-server" ]; then
  exit 0
fi

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)"
if [ "$node_major" != 20 ]; then
  echo "code-server $VERSION needs node 20 (found: ${node_major:-no node}); install nodejs 20 and npm" >&2
  exit 1
fi
# argon2 (a code-server dependency) falls back to a node-gyp build when no prebuilt binary fits,
# and node-gyp downloads Node's headers from nodejs.org unless told where they are: Node ships
# them under its own prefix (Debian's nodejs: /usr/include/node). `make` exports the same.
if [ -z "${npm_config_nodedir:-}" ]; then
  node_prefix="$(node -p 'require("path").resolve(process.execPath, "../..")')"
  if [ ! -f "$node_prefix/include/node/common.gypi" ]; then
    echo "Node's headers are missing ($node_prefix/include/node): node-gyp would download them;" \
      "install them with your Node (Debian: nodejs ships them) or set npm_config_nodedir" >&2
    exit 1
  fi
  export npm_config_nodedir="$node_prefix"
fi
rg_bin="$(command -v rg || true)"
if [ -z "$rg_bin" ]; then
  echo "ripgrep is missing: run 'bash scripts/install-system-deps.sh' (Debian package ripgrep)" >&2
  exit 1
fi
case "$(uname -m)" in
  x86_64) target="x86_64-unknown-linux-musl" ;;
  aarch64) target="aarch64-unknown-linux-musl" ;;
  *) echo "unsupported architecture for the ripgrep pre-seed: $(uname -m)" >&2; exit 1 ;;
esac

echo ">> installing code-server $VERSION into $PREFIX (once; a few minutes)..."
started=$(date +%s)
seed="$(mktemp -d)"
trap 'rm -rf "$seed"' EXIT
cache="$seed/vscode-ripgrep-cache-$RIPGREP_PACKAGE"
mkdir -p "$cache" "$seed/rg"
cp "$rg_bin" "$seed/rg/rg"
tar czf "$cache/ripgrep-$RIPGREP_RELEASE-$target.tar.gz" -C "$seed/rg" rg

rm -rf "$PREFIX"
mkdir -p "$PREFIX"
# npm >= 11.10 asks projects to approve dependency install scripts; these build code-server's
# native modules. (The nested `npm install` in lib/vscode runs its own, which npm only warns
# about unless strict-allow-scripts is set: the checks below catch a blocked build.)
cat > "$PREFIX/package.json" <<JSON
{
  "name": "magray-code-server",
  "private": true,
  "allowScripts": { "code-server@$VERSION": true, "argon2": true }
}
JSON
# unsafe_perm: the postinstall refuses to run as root without it; yes: no npx prompts.
TMPDIR="$seed" npm_config_unsafe_perm=true npm_config_yes=true npm_config_fund=false \
  npm_config_audit=false npm_config_update_notifier=false \
  npm install --prefix "$PREFIX" --omit=dev "code-server@$VERSION"

vscode="$PREFIX/node_modules/code-server/lib/vscode/node_modules"
for built in @vscode/ripgrep/bin/rg node-pty/build/Release/pty.node @vscode/spdlog/build/Release/spdlog.node; do
  if [ ! -e "$vscode/$built" ]; then
    echo "code-server install is incomplete: $vscode/$built is missing (install scripts blocked?)" >&2
    exit 1
  fi
done
# --version writes a default config.yaml under XDG_CONFIG_HOME and logs under XDG_DATA_HOME:
# keep both out of the user's home.
XDG_CONFIG_HOME="$seed/config" XDG_DATA_HOME="$seed/data" \
  "$PREFIX/node_modules/.bin/code-server" --version
touch "$STAMP"
echo ">> code-server $VERSION installed in $(( $(date +%s) - started ))s"
