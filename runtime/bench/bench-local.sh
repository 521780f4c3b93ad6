#!/usr/bin/env bash
# bench-local.sh - build bench_local and run the local IPC benchmark (SPEC section 8).
#
# usage: bash runtime/bench/bench-local.sh [--quick] [--json FILE] [--only NAME[,NAME]] [--reps N]
# Prints the table (round trip median/p99 per transport, one CPU and two CPUs; vcopy
# bandwidth; PASS/MISS per target). Exits 0 even when a target is missed; non-zero only
# when the build fails or a transport crashed or hung.
#
# Build: if runtime/CMakeLists.txt adds this folder (add_subdirectory(bench)), the whole
# runtime is configured, so the m3ipc library and dvsd are built and the "ours" rows run;
# otherwise this folder is built on its own (baselines only).
# Environment: BENCH_BUILD_DIR (default <repo>/build/bench-local), DVSD (dvsd binary to use),
# BENCH_NO_APT=1 (never apt-get install libzmq).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build/bench-local}

# ZeroMQ baseline: install libzmq from Debian when it is missing and we may (root).
# Without it the ZeroMQ rows say "n/a (libzmq missing)" and everything else runs.
if ! pkg-config --exists libzmq 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -z "${BENCH_NO_APT:-}" ]; then
    echo "bench-local: libzmq missing, installing libzmq3-dev" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q libzmq3-dev >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libzmq3-dev >/dev/null 2>&1; } ||
      echo "bench-local: apt-get install libzmq3-dev failed; ZeroMQ rows will be n/a" >&2
  else
    echo "bench-local: libzmq missing (not root or no apt-get); ZeroMQ rows will be n/a" >&2
  fi
fi

if [ -f "$ROOT/runtime/CMakeLists.txt" ] && grep -Eq 'add_subdirectory\(\s*bench\s*\)' "$ROOT/runtime/CMakeLists.txt"; then
  SRC=$ROOT/runtime          # full runtime: brings the m3ipc and dvsd targets
else
  SRC=$HERE                  # this folder alone: baselines only
fi

# a build dir configured from the other source folder cannot be reused: start afresh
if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$SRC" "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD"
fi
mkdir -p "$BUILD"
GEN=()
if [ ! -f "$BUILD/CMakeCache.txt" ] && command -v ninja >/dev/null; then GEN=(-G Ninja); fi
echo "bench-local: building bench_local from ${SRC#"$ROOT"/} in $BUILD" >&2
cmake -S "$SRC" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release >"$BUILD/bench-configure.log" 2>&1 ||
  { cat "$BUILD/bench-configure.log" >&2; echo "bench-local: cmake configure failed" >&2; exit 3; }
cmake --build "$BUILD" --target bench_local -j "$(nproc)" >"$BUILD/bench-build.log" 2>&1 ||
  { cat "$BUILD/bench-build.log" >&2; echo "bench-local: build failed" >&2; exit 3; }
grep -h 'bench_local:' "$BUILD/bench-configure.log" | sed 's/^-- /bench-local: /' >&2 || true

BIN=$(find "$BUILD" -type f -name bench_local -perm -u+x | head -n1)
[ -n "$BIN" ] || { echo "bench-local: bench_local not found in $BUILD" >&2; exit 3; }
exec "$BIN" "$@"
