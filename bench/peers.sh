#!/usr/bin/env bash
# bench/peers.sh — spawn-latency of drover's peers, measured in one run.
#
# Peers (each runs /bin/true, N measured iterations after WARMUP unmeasured):
#   exec-true           plain fork+exec of /bin/true by the timing harness
#                       (harness overhead floor; subtract mentally)
#   raw-clone-exec      drover-rawspawn: clone3(NEWPID|NEWNS|NEWUTS|NEWIPC)+exec,
#                       timed inside the C program (RAW_N iterations)
#   raw-clone-exec-cgroup  same, with CLONE_INTO_CGROUP into a scratch leaf
#                       under the cgroup2 tree (/sys/fs/cgroup/unified)
#   bwrap               bwrap --unshare-all --ro-bind / / --proc /proc
#                       --dev /dev --tmpfs /tmp /bin/true
#   crun                crun run --bundle B <id>   (OCI bundle, see below)
#   crun-nocgroup       crun --cgroup-manager=disabled run ... (no cgroup at all;
#                       shows what crun's cgroup handling costs)
#   runc                runc run --bundle B <id>
#   extras              --cmd "label=command line"    (host mount namespace)
#                       --cmd-v2 "label=command line" (same pure-cgroup2 view
#                                                      as crun/runc, see below)
#
# Usage:  [N=50] [WARMUP=3] [RAW_N=200] [NETNS=0] bench/peers.sh \
#             [--cmd "label=cmd ..."]... [--cmd-v2 "label=cmd ..."]...
#
# Output: one machine-readable line per peer on stdout
#   <label> median_ms=<f> p90_ms=<f> cpu_median_ms=<f> n=<N>
#   <label> skipped reason="..."
#   <label> failed reason="..." (stderr follows on stderr)
# then the raw drover-rawspawn line(s) (raw-clone-exec median_us=...), then a
# human-readable table. Exit 0 when every non-skipped peer succeeded and the
# cgroup checks passed, 1 otherwise, 2 on usage errors.
#
# cgroups: this host is hybrid (v1 controllers under /sys/fs/cgroup/<ctrl>,
# cgroup2 at /sys/fs/cgroup/unified). The v1 trees are NOT ours: nothing here
# may create cgroups there. crun 1.8.1 refuses hybrid hosts, so crun and runc
# are run inside a private mount namespace (unshare -m --propagation private)
# where cgroup2 is mounted directly on /sys/fs/cgroup. Both runtimes then see
# a pure-v2 host and create their per-container cgroup /<id> in the cgroup2
# hierarchy only (= /sys/fs/cgroup/unified/<id> on the host), removing it on
# exit. The script snapshots the v1 trees and the cgroup2 tree before and
# after, fails if any new cgroup of ours shows up, removes leftovers in the
# cgroup2 tree, and restores /sys/fs/cgroup/unified/cgroup.subtree_control
# (the runtimes enable the available controllers there).
#
# Scratch (bundle, compiled rawspawn, samples) lives in .build-bench/.

set -euo pipefail

usage() { sed -n '2,/^# Scratch/p' "$0" | sed 's/^# \{0,1\}//'; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/.build-bench}
N=${N:-50}
WARMUP=${WARMUP:-3}
RAW_N=${RAW_N:-200}
NETNS=${NETNS:-0}
CG2=/sys/fs/cgroup/unified            # host view of the cgroup2 hierarchy
[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ] || CG2=/sys/fs/cgroup  # pure-v2 host
PREFIX="drover-bench-$$"              # every container id / cgroup we make
STATE_ROOT="/run/$PREFIX"             # private --root for crun/runc state

EXTRA_LABELS=() EXTRA_CMDS=() EXTRA_V2=()
while [ $# -gt 0 ]; do
    case $1 in
        --cmd|--cmd-v2)
            [ $# -ge 2 ] || { echo "peers.sh: $1 needs an argument" >&2; exit 2; }
            case $2 in *=*) ;; *) echo "peers.sh: $1 wants \"label=command\"" >&2; exit 2;; esac
            EXTRA_LABELS+=("${2%%=*}"); EXTRA_CMDS+=("${2#*=}")
            if [ "$1" = --cmd-v2 ]; then EXTRA_V2+=(1); else EXTRA_V2+=(0); fi
            shift 2;;
        -h|--help) usage; exit 0;;
        *) echo "peers.sh: unknown argument '$1' (see --help)" >&2; exit 2;;
    esac
done
for v in N WARMUP RAW_N; do
    case ${!v} in ''|*[!0-9]*) echo "peers.sh: $v must be a number" >&2; exit 2;; esac
done
[ "$N" -ge 1 ] && [ "$RAW_N" -ge 1 ] || { echo "peers.sh: N and RAW_N must be >= 1" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "peers.sh: must run as root" >&2; exit 2; }
command -v python3 >/dev/null || { echo "peers.sh: python3 is required" >&2; exit 2; }

mkdir -p "$BENCH_DIR"
RUN_DIR="$BENCH_DIR/last-run"          # per-iteration samples (tsv) + results
rm -rf "$RUN_DIR"; mkdir -p "$RUN_DIR"
RESULTS="$RUN_DIR/results.txt"; : >"$RESULTS"
STATUS=0

emit() { printf '%s\n' "$*" | tee -a "$RESULTS"; }

# ---------------------------------------------------------------- snapshots
v1_roots() {   # every cgroup v1 hierarchy mounted on this host
    awk '$3 == "cgroup" { print $2 }' /proc/self/mounts | sort -u
}
snapshot_v1() { v1_roots | while read -r d; do find "$d" -type d 2>/dev/null; done | sort; }
snapshot_cg2() { find "$CG2" -type d 2>/dev/null | sort; }
subtree_ctl() { tr ' ' '\n' <"$CG2/cgroup.subtree_control" | sed '/^$/d' | sort; }

[ "$(stat -f -c %T "$CG2" 2>/dev/null)" = cgroup2fs ] || {
    echo "peers.sh: no cgroup2 hierarchy at $CG2 (or /sys/fs/cgroup)" >&2; exit 2; }
V1_BEFORE="$RUN_DIR/v1-before.txt"; snapshot_v1 >"$V1_BEFORE"
CG2_BEFORE="$RUN_DIR/cg2-before.txt"; snapshot_cg2 >"$CG2_BEFORE"
CTL_BEFORE="$RUN_DIR/subtree-before.txt"; subtree_ctl >"$CTL_BEFORE"
HOST_MNTNS=$(readlink /proc/self/ns/mnt)
RESTORE_CTL=0

# Remove whatever this run may have left behind. Idempotent; also the trap.
cleanup() {
    local rt d
    for rt in crun runc; do
        [ -d "$STATE_ROOT/$rt" ] || continue
        for d in "$STATE_ROOT/$rt"/*/; do
            [ -d "$d" ] || continue
            d=$(basename "$d")
            echo "peers.sh: cleanup: $rt delete -f $d" >&2
            "$rt" --root "$STATE_ROOT/$rt" delete -f "$d" >/dev/null 2>&1 || true
        done
    done
    rm -rf "$STATE_ROOT"
    # cgroup2 leftovers of ours (deepest first); never touches v1 trees.
    find "$CG2" -mindepth 1 -depth -type d -name "$PREFIX*" 2>/dev/null |
        while read -r d; do
            echo "peers.sh: cleanup: rmdir $d" >&2
            rmdir "$d" 2>/dev/null || echo "peers.sh: cleanup: cannot rmdir $d" >&2
        done
    # controllers the runtimes switched on in the cgroup2 root (only while
    # crun/runc are being measured: --cmd extras such as drover may manage
    # subtree_control themselves, that is not ours to undo)
    if [ "$RESTORE_CTL" = 1 ] && [ -f "$CTL_BEFORE" ]; then
        subtree_ctl | comm -13 "$CTL_BEFORE" - | while read -r c; do
            echo "-$c" >"$CG2/cgroup.subtree_control" 2>/dev/null ||
                echo "peers.sh: cleanup: could not disable $c in $CG2/cgroup.subtree_control" >&2
        done
    fi
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- timing helper
TIMER="$BENCH_DIR/peers_timer.py"
cat >"$TIMER" <<'PY'
"""Run a command N times, record wall + child-CPU time per iteration.

usage: peers_timer.py LABEL N WARMUP SAMPLES_TSV STATE_DIR RUNTIME ID_PREFIX -- argv...
'{id}' in argv is replaced by a fresh id per iteration. If RUNTIME is not '-',
after each iteration (outside the timed region) a container left in STATE_DIR
is removed with `RUNTIME --root STATE_DIR delete -f ID`.
"""
import os, resource, subprocess, sys, time

label, n, warm, tsv, state, runtime, prefix = sys.argv[1:8]
assert sys.argv[8] == "--"
argv = sys.argv[9:]
n, warm = int(n), int(warm)

def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def once(tag):
    cid = f"{prefix}-{tag}"
    cmd = [a.replace("{id}", cid) for a in argv]
    c0 = cpu(); t0 = time.perf_counter_ns()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    t1 = time.perf_counter_ns(); c1 = cpu()
    leftover = False
    if runtime != "-" and os.path.exists(os.path.join(state, cid)):
        leftover = True
        subprocess.run([runtime, "--root", state, "delete", "-f", cid],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace").strip()
        print(f'{label} failed reason="exit status {p.returncode} at iteration {tag}"')
        sys.stderr.write(f"--- {label}: {' '.join(cmd)} -> rc={p.returncode}\n{err[-4000:]}\n")
        sys.exit(1)
    return (t1 - t0) / 1e6, (c1 - c0) * 1e3, leftover

def median(v):
    v = sorted(v); k = len(v)
    return v[k // 2] if k % 2 else (v[k // 2 - 1] + v[k // 2]) / 2

def pct(v, p):  # nearest rank
    v = sorted(v)
    return v[max(1, min(len(v), -(-len(v) * p // 100))) - 1]

for i in range(warm):
    once(f"w{i}")
wall, cpus, left = [], [], 0
for i in range(n):
    w, c, l = once(str(i))
    wall.append(w); cpus.append(c); left += l
with open(tsv, "w") as f:
    f.write("iter\twall_ms\tcpu_ms\n")
    for i, (w, c) in enumerate(zip(wall, cpus)):
        f.write(f"{i}\t{w:.4f}\t{c:.4f}\n")
print(f"{label} median_ms={median(wall):.3f} p90_ms={pct(wall, 90):.3f} "
      f"cpu_median_ms={median(cpus):.3f} n={n}")
if left:
    sys.stderr.write(f"{label}: note: {left} containers were still present after "
                     f"their run and were deleted (outside the timing)\n")
PY

# run_peer LABEL MODE RUNTIME -- argv...   (MODE: host | v2)
run_peer() {
    local label=$1 mode=$2 runtime=$3; shift 4
    local out rc=0 tsv="$RUN_DIR/$label.tsv"
    if [ "$mode" = v2 ]; then
        # Private mount ns with cgroup2 on /sys/fs/cgroup. The inner guard
        # refuses to mount anything unless we really are in a new mount ns.
        out=$(HOST_MNTNS="$HOST_MNTNS" unshare -m --propagation private -- /bin/sh -c '
            set -e
            if [ "$(readlink /proc/self/ns/mnt)" = "$HOST_MNTNS" ]; then
                echo "not in a private mount namespace; refusing to mount" >&2; exit 97
            fi
            mount -t cgroup2 none /sys/fs/cgroup
            [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
            exec python3 "$@"' sh "$TIMER" "$label" "$N" "$WARMUP" "$tsv" \
                "$STATE_ROOT/$runtime" "$runtime" "$PREFIX-$label" -- "$@") || rc=$?
    else
        out=$(python3 "$TIMER" "$label" "$N" "$WARMUP" "$tsv" \
                "$STATE_ROOT/$runtime" "$runtime" "$PREFIX-$label" -- "$@") || rc=$?
    fi
    if [ $rc -ne 0 ]; then
        [ -n "$out" ] || out="$label failed reason=\"harness exit status $rc\""
        STATUS=1
    fi
    emit "$out"
}

skip() { emit "$1 skipped reason=\"$2\""; }

# ------------------------------------------------------------------ rawspawn
RAW_SRC="$ROOT/bench/rawspawn.c"
RAW_BIN="$BENCH_DIR/drover-rawspawn"
RAW_LINES=()
raw_peer() {   # raw_peer LABEL [--cgroup DIR]
    local label=$1 out rc=0; shift
    out=$("$RAW_BIN" "$RAW_N" "$@" 2>"$RUN_DIR/$label.err") || rc=$?
    if [ $rc -ne 0 ]; then
        emit "$label failed reason=\"drover-rawspawn exit status $rc\""
        cat "$RUN_DIR/$label.err" >&2; STATUS=1; return
    fi
    RAW_LINES+=("$out")
    # convert "<lbl> median_us=a p90_us=b cpu_median_us=c n=k" to the ms format
    emit "$(python3 -c '
import sys
f = dict(kv.split("=") for kv in sys.argv[2].split()[1:])
ms = [float(f[k]) / 1000 for k in ("median_us", "p90_us", "cpu_median_us")]
print("%s median_ms=%.3f p90_ms=%.3f cpu_median_ms=%.3f n=%s" % (sys.argv[1], *ms, f["n"]))
' "$label" "$out")"
}
if [ ! -f "$RAW_SRC" ]; then
    skip raw-clone-exec "missing $RAW_SRC"
elif ! command -v cc >/dev/null; then
    skip raw-clone-exec "no C compiler (cc)"
else
    if [ ! -x "$RAW_BIN" ] || [ "$RAW_SRC" -nt "$RAW_BIN" ]; then
        cc -O2 -o "$RAW_BIN" "$RAW_SRC"
    fi
    raw_peer raw-clone-exec
    RAW_CG="$CG2/$PREFIX-raw"
    if mkdir "$RAW_CG" 2>/dev/null; then
        raw_peer raw-clone-exec-cgroup --cgroup "$RAW_CG"
        rmdir "$RAW_CG" || { echo "peers.sh: cannot rmdir $RAW_CG" >&2; STATUS=1; }
    else
        skip raw-clone-exec-cgroup "cannot create $RAW_CG"
    fi
fi

# ------------------------------------------------------------------- baseline
run_peer exec-true host - -- /bin/true

# ---------------------------------------------------------------------- bwrap
if command -v bwrap >/dev/null; then
    run_peer bwrap host - -- bwrap --unshare-all --ro-bind / / --proc /proc \
        --dev /dev --tmpfs /tmp /bin/true
else
    skip bwrap "bwrap not found in PATH"
fi

# ----------------------------------------------------------------- OCI bundle
BUNDLE="$BENCH_DIR/bundle"
BUSYBOX=$(command -v busybox 2>/dev/null || true)
build_bundle() {   # cached; rebuilt when its recipe (stamp) changes
    local gen=$1 stamp
    stamp="v1 gen=$gen netns=$NETNS busybox=$(cksum <"$BUSYBOX" | cut -d' ' -f1)"
    if [ -f "$BUNDLE/.stamp" ] && [ "$(cat "$BUNDLE/.stamp")" = "$stamp" ]; then
        return 0
    fi
    rm -rf "$BUNDLE"; mkdir -p "$BUNDLE/rootfs"
    (cd "$BUNDLE/rootfs" && mkdir -p bin dev proc sys tmp etc)
    cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
    ln -s busybox "$BUNDLE/rootfs/bin/true"
    ln -s busybox "$BUNDLE/rootfs/bin/sh"
    (cd "$BUNDLE" && "$gen" spec)
    NETNS=$NETNS python3 - "$BUNDLE/config.json" <<'PY'
import json, os, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"] = {"path": "rootfs", "readonly": True}
ns = ["pid", "mount", "ipc", "uts"] + (["network"] if os.environ["NETNS"] == "1" else [])
c["linux"]["namespaces"] = [{"type": t} for t in ns]
# No device cgroup rules: on cgroup2 they need an eBPF program, for which
# crun 1.8.1 first raises RLIMIT_MEMLOCK -- impossible here (no
# CAP_SYS_RESOURCE), so crun would fail. runc still adds its default rules.
c["linux"].pop("resources", None)
json.dump(c, open(p, "w"), indent=2)
PY
    echo "$stamp" >"$BUNDLE/.stamp"
}
RUNTIMES=()
for rt in crun runc; do command -v "$rt" >/dev/null && RUNTIMES+=("$rt"); done
if [ ${#RUNTIMES[@]} -gt 0 ]; then
    if [ -z "$BUSYBOX" ] || ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
        for rt in crun crun-nocgroup runc; do skip "$rt" "no static busybox for the bundle rootfs"; done
        RUNTIMES=()
    elif ! command -v unshare >/dev/null; then
        for rt in crun crun-nocgroup runc; do skip "$rt" "unshare(1) not found"; done
        RUNTIMES=()
    else
        build_bundle "${RUNTIMES[0]}"
    fi
fi

# -------------------------------------------------------------- crun / runc
RESTORE_CTL=1
for rt in crun runc; do
    case " ${RUNTIMES[*]-} " in
        *" $rt "*) ;;
        *)  if ! grep -q "^$rt " "$RESULTS"; then
                skip "$rt" "$rt not found in PATH"
                [ "$rt" != crun ] || skip crun-nocgroup "crun not found in PATH"
            fi
            continue;;
    esac
    mkdir -p "$STATE_ROOT/$rt"
    run_peer "$rt" v2 "$rt" -- "$rt" --root "$STATE_ROOT/$rt" run --bundle "$BUNDLE" '{id}'
    if [ "$rt" = crun ]; then   # same, minus all cgroup work (for comparison)
        run_peer crun-nocgroup v2 crun -- crun --root "$STATE_ROOT/crun" \
            --cgroup-manager=disabled run --bundle "$BUNDLE" '{id}'
    fi
    # nothing may be left: no state, no cgroup
    left=$("$rt" --root "$STATE_ROOT/$rt" list -q 2>/dev/null | grep -c . || true)
    if [ "$left" != 0 ]; then
        echo "peers.sh: $rt left $left containers behind (deleting)" >&2; STATUS=1
    fi
    cleanup
done
ctl_diff=$(subtree_ctl | diff "$CTL_BEFORE" - || true)   # must be empty now
RESTORE_CTL=0

# -------------------------------------------------------------------- extras
for i in "${!EXTRA_LABELS[@]}"; do
    label=${EXTRA_LABELS[$i]}
    argv=()   # split like a shell would (quotes honoured), without a shell
    mapfile -d '' argv < <(python3 -c 'import shlex, sys
sys.stdout.write("".join(a + "\0" for a in shlex.split(sys.argv[1])))' "${EXTRA_CMDS[$i]}")
    if [ ${#argv[@]} -eq 0 ]; then
        skip "$label" "empty command"
    elif ! command -v "${argv[0]}" >/dev/null; then
        skip "$label" "${argv[0]} not found"
    elif [ "${EXTRA_V2[$i]}" = 1 ]; then
        run_peer "$label" v2 - -- "${argv[@]}"
    else
        run_peer "$label" host - -- "${argv[@]}"
    fi
done
cleanup

# ------------------------------------------------------------ cgroup checks
# Other tooling (and drover via --cmd) creates/removes its own cgroups, so
# only directories carrying this run's prefix count as ours. In v1 there must
# never be one; in cgroup2 none may be left. Unrelated changes are counted
# (lists in .build-bench/last-run/{v1,cg2}-new.txt).
V1_AFTER="$RUN_DIR/v1-after.txt"; snapshot_v1 >"$V1_AFTER"
ours_v1=$(grep -F "$PREFIX" "$V1_AFTER" || true)
comm -13 "$V1_BEFORE" "$V1_AFTER" >"$RUN_DIR/v1-new.txt" || true
other_v1=$(grep -vcF "$PREFIX" "$RUN_DIR/v1-new.txt" || true)
CG2_AFTER="$RUN_DIR/cg2-after.txt"; snapshot_cg2 >"$CG2_AFTER"
ours_cg2=$(grep -F "$PREFIX" "$CG2_AFTER" || true)
comm -13 "$CG2_BEFORE" "$CG2_AFTER" >"$RUN_DIR/cg2-new.txt" || true
other_cg2=$(grep -vcF "$PREFIX" "$RUN_DIR/cg2-new.txt" || true)
if [ -n "$ours_v1" ]; then
    echo "peers.sh: ERROR: cgroups of this run appeared in v1 trees:" >&2
    echo "$ours_v1" >&2; STATUS=1
    emit "cgroup-check failed reason=\"v1 cgroups created\""
elif [ -n "$ours_cg2" ] || [ -n "$ctl_diff" ]; then
    echo "peers.sh: ERROR: cgroup2 tree not restored:" >&2
    printf '%s\n%s\n' "$ours_cg2" "$ctl_diff" >&2; STATUS=1
    emit "cgroup-check failed reason=\"cgroup2 leftovers\""
else
    emit "cgroup-check ok v1_new_ours=0 v1_new_unrelated=$other_v1 cg2_leftovers=0 cg2_new_unrelated=$other_cg2 subtree_control_restored=1"
fi

# ------------------------------------------------------------------- report
for l in "${RAW_LINES[@]}"; do echo "$l"; done
echo
python3 - "$RESULTS" "$N" "$WARMUP" "$NETNS" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    parts = line.split(None, 1)
    if not parts or parts[0] == "cgroup-check":
        continue
    label, rest = parts[0], (parts[1] if len(parts) > 1 else "").strip()
    if "median_ms=" in rest:
        f = dict(kv.split("=", 1) for kv in rest.split())
        rows.append((label, f["median_ms"], f["p90_ms"], f["cpu_median_ms"], f["n"], ""))
    else:
        rows.append((label, "-", "-", "-", "-", rest))
hdr = ("peer", "median ms", "p90 ms", "cpu median ms", "n", "note")
w = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(5)]
fmt = lambda r: "  ".join([str(r[0]).ljust(w[0])] + [str(r[i]).rjust(w[i]) for i in range(1, 5)] + [r[5]])
print(fmt(hdr)); print("  ".join("-" * x for x in w) + "  ----")
for r in rows:
    print(fmt(r))
print(f"\n(N={sys.argv[2]} warm-up={sys.argv[3]}; crun/runc bundle namespaces: pid mount ipc uts"
      f"{' network' if sys.argv[4] == '1' else ' (no network ns)'}; cpu = user+sys of the child tree)")
PY
exit "$STATUS"
