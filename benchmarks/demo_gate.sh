#!/bin/sh
# Shows the speed gate working both ways, on this machine, now:
#   1. HEAD against HEAD: same code on both sides, so it must pass (exit 0);
#   2. HEAD against HEAD with HASHBENCH_BENCH_FLAT_QUERY_BLOCK=1 for the head only: the
#      benchmarks' conftest.py patches the head's FlatIndex to scan the database once per query
#      instead of once per block of 64 queries (same results, slower); it must fail (exit 1) on
#      the index benchmarks. The library itself has no slow mode.
# Extra arguments go to both comparisons (e.g. --rounds 2 --timer wall).
# Usage: sh benchmarks/demo_gate.sh   (or make bench-gate-demo)
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT:-results/benchmarks}

echo "== 1. HEAD vs HEAD (expect PASS) =="
"$PY" benchmarks/compare.py --base HEAD --out "$OUT/demo-same" "$@"
same=$?
echo
echo "== 2. HEAD vs HEAD, head with HASHBENCH_BENCH_FLAT_QUERY_BLOCK=1 (expect FAIL) =="
"$PY" benchmarks/compare.py --base HEAD --head-env HASHBENCH_BENCH_FLAT_QUERY_BLOCK=1 --out "$OUT/demo-slowed" "$@"
slowed=$?
echo
echo "HEAD vs HEAD: exit $same (expected 0); head slowed on purpose: exit $slowed (expected 1)"
if [ "$same" -eq 0 ] && [ "$slowed" -eq 1 ]; then
    echo "the gate passes unchanged code and catches the slowdown"
    exit 0
fi
echo "the gate did not behave as expected" >&2
exit 1
