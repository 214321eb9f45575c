#!/usr/bin/env bash
# Runs the flipcheck checklist the way the pipelines in ci/ do, locally or in CI.
#   ci/run-checklist.sh [scenario paths...]
# Environment:
#   FLIPCHECK_TARGET   target profile file (default: the embedded PBX on loopback)
#   FLIPCHECK_BIN      the flipcheck binary (default: build it with cargo)
#   FLIPCHECK_REPORTS  where reports go (default: reports/out): flipcheck.json,
#                      flipcheck.xml (JUnit), flipcheck.md (Markdown) and pcap/
# The exit code is flipcheck's: 0 pass, 1 an expectation failed, 2 error.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${FLIPCHECK_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -q || exit 2
  bin=target/release/flipcheck
fi
out=${FLIPCHECK_REPORTS:-reports/out}
mkdir -p "$out"
# Every report is rewritten after each scenario, so a run that is stopped keeps them.
args=(run "$@" --json "$out/flipcheck.json" --junit "$out/flipcheck.xml"
  --markdown "$out/flipcheck.md" --pcap "$out/pcap")
[ -n "${FLIPCHECK_TARGET:-}" ] && args+=(--target "$FLIPCHECK_TARGET")
"$bin" "${args[@]}"
