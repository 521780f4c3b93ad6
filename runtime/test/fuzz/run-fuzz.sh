#!/usr/bin/env bash
# Build fuzz_wire.c with clang's libFuzzer + ASan/UBSan and run it for a
# bounded time (FUZZ_SECONDS, default 20) on a copy of corpus/. Installs
# Debian's clang when missing and we are root (CI); otherwise says so and
# fails, rather than pretending the fuzzing ran.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runtime=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-20}
if ! command -v clang >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "fuzz: installing clang (Debian) for libFuzzer" >&2
    (apt-get install -y -qq clang >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq clang >/dev/null; })
  else
    echo "fuzz: clang is missing; install Debian's clang to run the wire fuzzer" >&2
    exit 1
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clang -g -O1 -fsanitize=fuzzer,address,undefined -I"$runtime/include" -I"$runtime/src" \
  "$here/fuzz_wire.c" "$runtime/src/lib/wire.c" -o "$work/fuzz_wire"
cp "$here"/corpus/* "$work/" 2>/dev/null || true
mkdir -p "$work/corpus" && mv "$work"/*.bin "$work/corpus/"
"$work/fuzz_wire" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$work/corpus" 2>&1 | tail -15
echo "fuzz_wire: ${seconds} s without a crash"
