#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS each, default 25) on its corpus
# in fuzz/corpus/<target>; a crash fails the run and leaves its input in fuzz/artifacts/.
# cargo fuzz needs nightly features: RUSTC_BOOTSTRAP=1 lets the stable toolchain build them.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-25}"
for target in $(RUSTC_BOOTSTRAP=1 cargo fuzz list); do
  mkdir -p "corpus/$target"
  echo "fuzz: $target for ${seconds} s"
  status=0
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 >"/tmp/fuzz-$target.log" 2>&1 || status=$?
  # libFuzzer's progress lines stay in the log; its summary and any crash report show here.
  grep -E '^(Done|==[0-9]+==|SUMMARY|thread|artifact_prefix)' "/tmp/fuzz-$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "/tmp/fuzz-$target.log" >&2
    echo "fuzz: $target failed (exit $status); its input is in fuzz/artifacts/$target" >&2
    exit 1
  fi
done
