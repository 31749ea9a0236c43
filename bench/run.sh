#!/usr/bin/env bash
# bench/run.sh — `make bench`: drover's spawn latency beside its peers, from one run on this
# machine, with medians and ratios. Needs the release build (make release) and root.
#   drover-inprocess   SandboxLauncher.launch + wait + cgroup removal in a loop (drover-bench)
#   drover-run         `drover run -- /bin/true`, the CLI, process start-up included
#   raw-clone-exec     the kernel reference: clone3 with the same namespaces + exec + wait (C)
#   crun, runc, bwrap  peers (bench/peers.sh says how each is run)
#   drover-inprocess-hostroot  the same without the user namespace (host_root: true)
# Targets (issues 2, 10): drover-inprocess median within 2x raw-clone-exec with SPEC §10's
# isolation in place, and at least 3x faster than crun.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RELEASE=$(swift build -c release --show-bin-path)
N=${N:-100}
OUT=.build-bench/bench-results.txt
mkdir -p .build-bench

{
    "$RELEASE/drover-bench" "${INPROCESS_N:-300}"
    XB_HOSTROOT=1 "$RELEASE/drover-bench" "${INPROCESS_N:-300}"
    N=$N bench/peers.sh --cmd "drover-run=$RELEASE/drover run -- /bin/true"
} | tee "$OUT"

python3 - "$OUT" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"^(\S+) median_ms=([\d.]+) p90_ms=([\d.]+) cpu_median_ms=([\d.]+) n=(\d+)", line)
    if m:
        rows[m.group(1)] = tuple(float(x) for x in m.groups()[1:4])
    m = re.match(r"^(raw-clone-exec) median_us=([\d.]+) p90_us=([\d.]+) cpu_median_us=([\d.]+)", line)
    if m:
        rows[m.group(1)] = tuple(float(x) / 1000 for x in m.groups()[1:4])
print("\nspawn-to-exit of /bin/true, one run on this machine (ms):")
print(f"{'':24}{'median':>8}{'p90':>8}{'cpu':>8}{'vs drover-inprocess':>22}")
base = rows.get("drover-inprocess")
for name in ["drover-inprocess", "drover-inprocess-hostroot", "raw-clone-exec", "drover-run", "bwrap", "crun", "runc"]:
    if name not in rows: continue
    median, p90, cpu = rows[name]
    ratio = f"{median / base[0]:.2f}x" if base else "-"
    print(f"{name:24}{median:8.3f}{p90:8.3f}{cpu:8.3f}{ratio:>22}")
ok = True
if base and "raw-clone-exec" in rows:
    r = base[0] / rows["raw-clone-exec"][0]
    print(f"target: drover-inprocess / raw-clone-exec = {r:.2f} (want <= 2): {'met' if r <= 2 else 'MISSED'}")
if base and "crun" in rows:
    r = rows["crun"][0] / base[0]
    print(f"target: crun / drover-inprocess = {r:.2f} (want >= 3): {'met' if r >= 3 else 'MISSED'}")
PY
