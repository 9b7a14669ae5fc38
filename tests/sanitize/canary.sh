#!/usr/bin/env bash
# ctest sanitize.canary (sanitizer builds only): runs tests/sanitize/canary.cc
# wrong on purpose and checks that the build's sanitizer reports each fault,
# and that abseil's synchronization stays silent under TSan (the annotations
# of absl_sync_tsan.cc order it; they must not hide a real race either).
# The reports go to a private file, not to the test's output, so that
# tests/sanitize/run.sh does not take them for findings.
#
#   canary.sh BINARY address,undefined|thread
set -uo pipefail
bin=$1 sanitize=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# expect MODE PATTERN|-: runs BINARY MODE; PATTERN must appear in its output
# ("-": the run must exit 0 with no sanitizer output at all).
expect() {
  local mode=$1 pattern=$2 rc=0
  ASAN_OPTIONS="detect_leaks=0" UBSAN_OPTIONS="print_stacktrace=0" \
    TSAN_OPTIONS="halt_on_error=1" "$bin" "$mode" >"$work/$mode" 2>&1 || rc=$?
  if [[ "$pattern" == - ]]; then
    if ((rc == 0)) && ! grep -q 'Sanitizer\|runtime error' "$work/$mode"; then
      echo "canary $mode: silent, as it must be"
    else
      echo "canary $mode: expected silence, got exit $rc and:"
      sed 's/SUMMARY:/summary:/; s/runtime error:/runtime-error:/' "$work/$mode" | head -40
      failed=1
    fi
  elif grep -q "$pattern" "$work/$mode"; then
    echo "canary $mode: reported (exit $rc), as it must be"
  else
    echo "canary $mode: NOT reported (exit $rc): the sanitizer is blind here"
    failed=1
  fi
}

case "$sanitize" in
  *thread*)
    expect race 'WARNING: ThreadSanitizer: data race'
    expect ordered -
    ;;
  *address*)
    expect use-after-free 'ERROR: AddressSanitizer: heap-use-after-free'
    expect overflow 'runtime error: signed integer overflow'
    expect ordered -
    ;;
  *) echo "canary.sh: unknown sanitizer list '$sanitize'"; exit 2 ;;
esac
exit "$failed"
