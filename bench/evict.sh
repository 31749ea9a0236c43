#!/usr/bin/env bash
# bench/evict.sh — eviction deadline lateness (SPEC §4 step 4): how long after its deadline a
# replica that ignores the notice is killed. One droverd (release build), one replica of
# drover-testload stubborn (ignores SIGTERM, forks children), evicted COUNT times with a
# 200 ms grace; each outcome says "killed at the deadline, X after the notice": lateness is
# X - grace. Prints median, p99 and max in ms. Target: p99 <= 50 ms.
# Usage: [COUNT=50] bench/evict.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${COUNT:-50}
. "$ROOT/bench/droverd-lib.sh"
start_droverd evict stubborn
cat >"$WORK/stubborn.yaml" <<YAML
jobs:
  stubborn:
    replicas: 1
    command: ["$BIN/drover-testload", "stubborn", "3"]
    lameduck: {grace: 200ms}
YAML
"$BIN/drover" apply "$WORK/stubborn.yaml" --socket "$SOCK" >/dev/null
pid() { "$BIN/drover" ps stubborn --json --socket "$SOCK" | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]["replicas"][0]; print(r.get("pid") or "")'; }
for _ in $(seq 100); do [ -n "$(pid)" ] && break; sleep 0.05; done
: >"$WORK/lateness"
for i in $(seq "$COUNT"); do
    before=$(pid)
    "$BIN/drover" evict stubborn/0 --socket "$SOCK" >/dev/null
    for _ in $(seq 400); do
        now=$(pid)
        [ -n "$now" ] && [ "$now" != "$before" ] && break
        sleep 0.01
    done
    "$BIN/drover" ps stubborn --json --socket "$SOCK" | python3 -c '
import json, re, sys
exit = json.load(sys.stdin)[0]["replicas"][0]["lastExit"]
m = re.search(r"killed at the deadline, ([0-9.]+)s after the notice", exit)
if not m: sys.exit("unexpected outcome: " + exit)
print((float(m.group(1)) - 0.2) * 1000)' >>"$WORK/lateness"
done
python3 - "$WORK/lateness" <<'PY'
import sys
values = sorted(float(v) for v in open(sys.argv[1]))
def pct(p): return values[min(len(values) - 1, max(0, int(round(p * len(values) + 0.5)) - 1))]
print(f"eviction-lateness median_ms={pct(0.5):.1f} p99_ms={pct(0.99):.1f} max_ms={values[-1]:.1f} n={len(values)}")
print(f"target: p99 <= 50 ms: {'met' if pct(0.99) <= 50 else 'MISSED'}")
PY
