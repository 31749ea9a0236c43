#!/usr/bin/env bash
# bench/daemon.sh — droverd as a supervisor, beside supervisord, measured in one run.
#
# What it measures (bench/daemon-README.md says how, and what it found):
#   restart latency  a replica of bench/stamp.c stamps "start <ns>" and "exit <ns>"
#                    (CLOCK_REALTIME) and exits 1; restart policy always, backoff
#                    initial 0s, jitter 0. Latency k = start(k+1) - exit(k): from the
#                    workload's exit to the next workload's first instruction.
#                    drover-restart          droverd with nothing else running
#                    drover-restart-loaded   the same with the N sleepers running
#                    supervisord-restart     the same program under supervisord
#                                            (autorestart=true, startsecs=0), one per
#                                            supervisord, SUP_INSTANCES supervisords
#   scale            N replicas of /bin/sleep infinity: `drover apply` wall time, time
#                    from apply until `drover ps --json` shows all N running/ready,
#                    droverd's RSS (VmRSS, VmHWM) empty and with N, its idle CPU over
#                    IDLE_SECONDS (utime+stime from /proc/PID/stat, % of one core),
#                    `drover ps` / `drover ps --json` latency (hyperfine), the time
#                    from `drover delete` until every replica is gone, and the RSS of
#                    supervisord running SUP_N sleep programs.
#
# Usage:  sudo [N=1000] [RESTARTS=200] [SUP_RESTARTS=$RESTARTS] [LOADED_RESTARTS=$RESTARTS]
#              [SUP_INSTANCES=2] [SUP_N=100] [IDLE_SECONDS=30] [PS_RUNS=20] [DROVER_BIN=.build/release]
#              [BACKOFF="{initial: 0s, jitter: 0}"] [STRICT_TARGETS=0] bench/daemon.sh
#         smoke run (about 40 s):  N=100 RESTARTS=50 SUP_RESTARTS=10 IDLE_SECONDS=5 bench/daemon.sh
#
# Output on stdout: one machine-readable line per measurement,
#   <label> key=value ...
#   <label> failed step="..." error="..."     (then droverd's log tail on stderr)
# then a human-readable table. Exit 0 when everything ran (targets missed or not;
# STRICT_TARGETS=1 makes a missed target exit 4), 1 when a step failed, 2 on usage
# errors. The supervisord restart samples are collected in the background while the
# droverd phases run, by SUP_INSTANCES independent supervisords at once: supervisord
# restarts about once a second, so one alone would need SUP_RESTARTS seconds and more.
# droverd's CPU and memory numbers are of droverd's process only.
#
# Isolation: droverd runs in a cgroup v2 cgroup of its own (drover-bench-<pid> in the
# cgroup2 hierarchy), so its tree is drover-bench-<pid>/drover and it cannot mistake
# another droverd's replicas under /drover for strays (or the reverse). Nothing is
# written to the cgroup v1 trees. State: /var/tmp/drover-bench-<pid> (not /tmp: each
# replica has a private /tmp). Each supervisord runs with its own config, socket and
# pidfile under .build-bench/daemon-run/supervisord-<i>. Everything is stopped and
# removed on exit, also on failure and Ctrl-C; only processes this script started are
# signalled, by PID.
#
# Scratch: .build-bench/daemon-run (config, logs, stamps, hyperfine JSON) stays for
# inspection until the next run.

set -euo pipefail

usage() { sed -n '2,/^# inspection/p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") ;;
    *) echo "daemon.sh: unexpected argument \"$1\" (settings are environment variables; see --help)" >&2; exit 2 ;;
esac

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
BIN=$(cd "$ROOT" && cd "${DROVER_BIN:-.build/release}" 2>/dev/null && pwd || true)
N=${N:-1000}
RESTARTS=${RESTARTS:-200}
SUP_RESTARTS=${SUP_RESTARTS:-$RESTARTS}
SUP_INSTANCES=${SUP_INSTANCES:-2}
LOADED_RESTARTS=${LOADED_RESTARTS:-$RESTARTS}
SUP_N=${SUP_N:-100}
IDLE_SECONDS=${IDLE_SECONDS:-30}
PS_RUNS=${PS_RUNS:-20}
STRICT_TARGETS=${STRICT_TARGETS:-0}
BACKOFF=${BACKOFF:-"{initial: 0s, jitter: 0}"}   # the restarter's restart.backoff (YAML)
PY=/usr/bin/python3

for var in N RESTARTS SUP_RESTARTS SUP_INSTANCES LOADED_RESTARTS SUP_N IDLE_SECONDS PS_RUNS; do
    [[ ${!var} =~ ^[0-9]+$ ]] || { echo "daemon.sh: $var=\"${!var}\" is not a whole number" >&2; exit 2; }
done
((RESTARTS >= 2)) || { echo "daemon.sh: RESTARTS must be at least 2" >&2; exit 2; }
((N >= 1 && PS_RUNS >= 1 && SUP_INSTANCES >= 1)) || { echo "daemon.sh: N, PS_RUNS and SUP_INSTANCES must be at least 1" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "daemon.sh: must run as root (droverd creates namespaces and cgroups)" >&2; exit 2; }
for tool in cc jq hyperfine supervisord supervisorctl "$PY"; do
    command -v "$tool" >/dev/null || { echo "daemon.sh: $tool is missing (apt-get install supervisor hyperfine jq gcc python3)" >&2; exit 2; }
done
for b in droverd drover drover-init; do
    [[ -n $BIN && -x $BIN/$b ]] || { echo "daemon.sh: $b not found in ${DROVER_BIN:-.build/release} (make release, or DROVER_BIN=dir)" >&2; exit 2; }
done

CG2=/sys/fs/cgroup/unified                         # host view of the cgroup2 hierarchy (hybrid)
[[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) != cgroup2fs ]] || CG2=/sys/fs/cgroup
[[ $(stat -f -c %T "$CG2" 2>/dev/null) == cgroup2fs ]] || { echo "daemon.sh: no cgroup2 hierarchy at $CG2" >&2; exit 2; }
TAG="drover-bench-$$"
BENCH_CG="$CG2/$TAG"                               # droverd's own cgroup
TREE="$BENCH_CG/drover"                            # droverd's replica tree (it makes it)
RUN="$ROOT/.build-bench/daemon-run"                # scratch, kept for inspection
VAR="/var/tmp/$TAG"                                # droverd state + stamp files
SOCK="$RUN/drover.sock"
LOG="$RUN/droverd.log"
STAMP="$ROOT/.build-bench/drover-stamp"
JOB_R=bench-restart
JOB_S=bench-sleepers
CLK_TCK=$(getconf CLK_TCK)

DROVERD_PID=""
SUP_PID=""
SUP_PIDS=()
CURRENT_LABEL=setup

log() { printf 'daemon.sh: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }
dr() { "$BIN/drover" "$@" --socket "$SOCK"; }
sctl() { local i=$1; shift; supervisorctl -c "$RUN/supervisord-$i/supervisord.conf" "$@"; }

# Prints "<label> failed step=... error=..." and droverd's log tail, then exits 1 (trap cleans up).
fail() {
    local step=$1; shift
    local error=${*//\"/\'}
    error=${error//$'\n'/ | }                      # one line, machine-readable
    # fd 3 is the script's stdout: fail may run inside $(...).
    printf '%s failed step="%s" error="%s"\n' "$CURRENT_LABEL" "$step" "$error" >&3
    if [[ -s $LOG ]]; then
        echo "---- droverd log tail ($LOG) ----" >&2
        tail -n 40 "$LOG" >&2
        echo "---- end of droverd log ----" >&2
    fi
    if [[ -n $DROVERD_PID ]] && ! alive "$DROVERD_PID"; then
        echo "daemon.sh: droverd (pid $DROVERD_PID) is not running any more" >&2
    fi
    exit 1
}

check_droverd() { alive "$DROVERD_PID" || fail "$1" "droverd (pid $DROVERD_PID) died; exit status in the log tail"; }

# ---------------------------------------------------------------- cleanup
# Idempotent; the EXIT trap. Order: stop the jobs through the API, stop droverd, kill
# whatever is still in our cgroup tree, stop supervisord, remove our directories.
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if alive "$DROVERD_PID"; then
        local jobs
        jobs=$(dr ps --json 2>/dev/null | jq -r '.[].name' 2>/dev/null)
        for j in $jobs; do dr delete "$j" >/dev/null 2>&1 || log "cleanup: drover delete $j failed"; done
        if [[ -n $jobs ]]; then
            local deadline=$((SECONDS + 60))
            while ((SECONDS < deadline)); do
                [[ $(dr ps --json 2>/dev/null | jq '[.[].replicas[]] | length' 2>/dev/null) == 0 ]] && break
                sleep 0.2
            done
        fi
        kill -TERM "$DROVERD_PID" 2>/dev/null
        for _ in $(seq 100); do alive "$DROVERD_PID" || break; sleep 0.1; done
        if alive "$DROVERD_PID"; then log "cleanup: droverd ignored SIGTERM for 10 s; SIGKILL"; kill -KILL "$DROVERD_PID"; fi
        wait "$DROVERD_PID" 2>/dev/null
    fi
    if [[ -d $TREE ]]; then
        local leaf left=0
        for leaf in "$TREE"/*/; do
            [[ -d $leaf ]] || continue
            left=$((left + 1))
            [[ -e $leaf/cgroup.kill ]] && echo 1 >"$leaf/cgroup.kill" 2>/dev/null
            for _ in $(seq 50); do [[ -s $leaf/cgroup.procs ]] || break; sleep 0.1; done
            rmdir "$leaf" 2>/dev/null || log "cleanup: cannot rmdir $leaf"
        done
        ((left == 0)) || log "cleanup: $left replica cgroup(s) were left in $TREE: killed and removed"
        rmdir "$TREE" 2>/dev/null || log "cleanup: cannot rmdir $TREE"
    fi
    if [[ -d $BENCH_CG ]]; then
        [[ -s $BENCH_CG/cgroup.procs ]] && log "cleanup: $BENCH_CG still holds: $(tr '\n' ' ' <"$BENCH_CG/cgroup.procs")"
        rmdir "$BENCH_CG" 2>/dev/null || log "cleanup: cannot rmdir $BENCH_CG"
    fi
    local pid
    for pid in "${SUP_PIDS[@]}"; do
        alive "$pid" && kill -TERM "$pid" 2>/dev/null   # supervisord stops its programs, then exits
    done
    for pid in "${SUP_PIDS[@]}"; do
        for _ in $(seq 150); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then log "cleanup: supervisord $pid ignored SIGTERM for 15 s; SIGKILL"; kill -KILL "$pid"; fi
        wait "$pid" 2>/dev/null
    done
    if [[ -d $VAR ]]; then
        cp -f "$VAR"/stamps/*.stamps "$RUN/" 2>/dev/null
        find "$VAR/state/bpf" -maxdepth 1 -type f ! -name '*.*' -delete 2>/dev/null   # pinned service steering
        umount "$VAR/state/bpf" 2>/dev/null
        rm -rf "$VAR"
    fi
    exit "$rc"
}
exec 3>&1
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- helpers
# Restart latencies: latency_stats WANT FILE...: "median_ms=.. p90_ms=.. min_ms=.. max_ms=..
# n=.. restarts_per_s=.." over the first WANT restarts, an equal share from each stamp file
# (one restarter each). p90: nearest rank. restarts_per_s: of one restarter.
latency_stats() {
    "$PY" - "$@" <<'EOF'
import math, sys
want, paths = int(sys.argv[1]), sys.argv[2:]
share = math.ceil(want / len(paths))
lat, rates = [], []
for path in paths:
    runs = []                  # [start, exit or None] per run, in file order
    for line in open(path):
        parts = line.split()
        if len(parts) != 2: continue
        if parts[0] == "start": runs.append([int(parts[1]), None])
        elif parts[0] == "exit" and runs and runs[-1][1] is None: runs[-1][1] = int(parts[1])
    mine = [(runs[k + 1][0] - runs[k][1]) / 1e6 for k in range(len(runs) - 1) if runs[k][1] is not None][:share]
    if mine:
        span = (runs[len(mine)][0] - runs[0][0]) / 1e9
        if span > 0: rates.append(len(mine) / span)
    lat += mine
lat = lat[:want]
if not lat:
    print("n=0"); sys.exit(0)
s = sorted(lat)
pct = lambda p: s[max(0, math.ceil(p / 100 * len(s)) - 1)]
mid = len(s) // 2
median = s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
rate = sum(rates) / len(rates) if rates else 0
print(f"median_ms={median:.3f} p90_ms={pct(90):.3f} min_ms={s[0]:.3f} max_ms={s[-1]:.3f} n={len(lat)} restarts_per_s={rate:.1f}")
EOF
}

starts() { if [[ -f $1 ]]; then grep -c '^start' "$1" || true; else echo 0; fi; }

# ps --json → "<running+ready> <total>" for job $1
count_running() {
    dr ps --json 2>/dev/null | jq -r --arg j "$1" \
        '[.[] | select(.name == $j) | .replicas[]] | "\([.[] | select(.state == "running" or .state == "ready")] | length) \(length)"'
}

state_histogram() {
    dr ps --json 2>/dev/null | jq -r --arg j "$1" \
        '[.[] | select(.name == $j) | .replicas[] | .state] | group_by(.) | map("\(.[0])=\(length)") | join(" ")'
}

# A few replicas that are not running, with why.
not_running_sample() {
    dr ps --json 2>/dev/null | jq -r --arg j "$1" \
        '[.[] | select(.name == $j) | .replicas[] | select(.state != "running" and .state != "ready")] | .[:5][] | "\(.name) \(.state) reason=\(.reason // "-") last_exit=\(.lastExit // "-")"'
}

# Waits until job $1 has no replicas left in ps (timeout $2 s); prints the seconds it took.
wait_gone() {
    local job=$1 timeout=$2 t0 c
    t0=$(now)
    while :; do
        check_droverd "wait for $job to go"
        c=$(dr ps --json 2>/dev/null | jq --arg j "$job" '[.[] | select(.name == $j) | .replicas[]] | length') || c=x
        [[ $c == 0 ]] && break
        (($(date +%s) - ${t0%.*} < timeout)) || fail "wait for $job to go" "$c replicas of $job still listed after ${timeout}s: $(state_histogram "$job")"
        sleep 0.1
    done
    since "$t0"
}

# Host CPU use: "busy total" jiffies over all CPUs from /proc/stat; busy_pct A B → % of all CPUs.
cpu_sample() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
busy_pct() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'; }

status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }   # utime+stime
# Per-thread counters, one "tid value" line per thread: a thread that exits between two samples
# takes its counts with it, so sums over threads are compared thread by thread (task_delta),
# never as totals (which went negative when a worker thread ended during the idle window).
sched_ns() { for t in /proc/"$1"/task/*; do [ -r "$t/schedstat" ] && echo "${t##*/} $(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"; done; }
ctx_switches() { for t in /proc/"$1"/task/*; do echo "${t##*/} $(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$t/status" 2>/dev/null)"; done; }
# task_delta BEFORE AFTER: the growth of threads alive at AFTER (a new thread counts from 0).
task_delta() { awk 'NR == FNR { before[$1] = $2; next } $2 != "" { d += $2 - before[$1] } END { printf "%.0f", d }' <(echo "$1") <(echo "$2"); }

restarter_yaml() {
    cat <<EOF
  $JOB_R:
    replicas: 1
    command: ["$STAMP", "$1"]
    restart: {policy: always, backoff: $BACKOFF}
EOF
}
sleepers_yaml() {
    cat <<EOF
  $JOB_S:
    replicas: $N
    command: ["/bin/sleep", "infinity"]
EOF
}

# Restart latency under droverd: apply $2 (a jobs file holding the restarter), wait for
# $3 restarts in stamp file $1, delete the restarter, wait until it is gone.
drover_restarts() {
    local stamps=$1 file=$2 want=$3 t0 out c0
    t0=$(now)
    c0=$(cpu_sample)
    out=$(dr apply "$file" 2>&1) || fail "drover apply $file" "$out"
    while (($(starts "$stamps") < want + 1)); do
        check_droverd "wait for $want restarts"
        if (($(date +%s) - ${t0%.*} > 30 + want / 10)); then
            fail "wait for $want restarts" "only $(starts "$stamps") starts in $stamps after $(since "$t0")s; $JOB_R: $(state_histogram "$JOB_R") $(not_running_sample "$JOB_R")"
        fi
        sleep 0.02
    done
    HOST_BUSY=$(busy_pct "$c0" "$(cpu_sample)")
    out=$(dr delete "$JOB_R" 2>&1) || fail "drover delete $JOB_R" "$out"
    wait_gone "$JOB_R" 30 >/dev/null
}

# ---------------------------------------------------------------- setup
# Other load skews every number here (2 vCPUs): measure it and say so.
c0=$(cpu_sample); sleep 1; BUSY_BEFORE=$(busy_pct "$c0" "$(cpu_sample)")
((BUSY_BEFORE <= 25)) || log "warning: the host was ${BUSY_BEFORE}% busy before the run (other processes); expect noisy numbers"
rm -rf "$RUN"
mkdir -p "$RUN" "$VAR/stamps"
chown nobody "$VAR/stamps"                        # replicas and supervisord's programs run as nobody
chmod 0755 "$VAR/stamps"
# The stamp program: freestanding (no libc start-up between execve and the first stamp),
# else static libc, else dynamic libc. STAMP_KIND says which; it is in the output.
STAMP_KIND=freestanding
if ! cc -O2 -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
        -fno-tree-loop-distribute-patterns -o "$STAMP" "$SCRIPT_DIR/stamp.c" 2>"$RUN/cc.log" ||
    ! "$STAMP" /dev/null 0 2>>"$RUN/cc.log"; then
    STAMP_KIND=static-libc
    if ! cc -O2 -static -DSTAMP_LIBC -o "$STAMP" "$SCRIPT_DIR/stamp.c" 2>>"$RUN/cc.log"; then
        STAMP_KIND=dynamic-libc
        cc -O2 -DSTAMP_LIBC -o "$STAMP" "$SCRIPT_DIR/stamp.c" 2>>"$RUN/cc.log" || fail "cc bench/stamp.c" "$(tail -n 3 "$RUN/cc.log")"
    fi
fi
D_STAMPS="$VAR/stamps/drover.stamps"
DL_STAMPS="$VAR/stamps/drover-loaded.stamps"

# supervisord: SUP_INSTANCES independent supervisord processes, each with its own config,
# socket and pidfile under $RUN/supervisord-<i>, each running one restarter (so the samples
# arrive SUP_INSTANCES times faster: supervisord restarts about once a second); the first
# also runs SUP_N sleep programs, for its RSS.
CURRENT_LABEL=supervisord
sup_conf() {   # instance
    local dir="$RUN/supervisord-$1"
    mkdir -p "$dir"
    cat >"$dir/supervisord.conf" <<EOF
[unix_http_server]
file=$dir/supervisord.sock
chmod=0700

[supervisord]
logfile=$dir/supervisord.log
pidfile=$dir/supervisord.pid
childlogdir=$dir
nodaemon=true
user=root

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$dir/supervisord.sock

[program:bench-stamp]
command=$STAMP $VAR/stamps/supervisord-$1.stamps
user=nobody
autostart=false
autorestart=true
startsecs=0
startretries=1000000
stdout_logfile=NONE
stderr_logfile=NONE
EOF
    if (($1 == 1 && SUP_N > 0)); then
        cat >>"$dir/supervisord.conf" <<EOF

[program:bench-sleep]
command=/bin/sleep infinity
process_name=%(program_name)s-%(process_num)03d
numprocs=$SUP_N
user=nobody
autorestart=true
stdout_logfile=NONE
stderr_logfile=NONE
EOF
    fi
}
S_STAMPS=()
for ((i = 1; i <= SUP_INSTANCES; i++)); do
    sup_conf "$i"
    S_STAMPS+=("$VAR/stamps/supervisord-$i.stamps")
    supervisord -c "$RUN/supervisord-$i/supervisord.conf" >"$RUN/supervisord-$i/supervisord.out" 2>&1 &
    SUP_PIDS+=($!)
done
SUP_PID=${SUP_PIDS[0]}
t0=$(now)
for ((i = 1; i <= SUP_INSTANCES; i++)); do
    want=$((i == 1 ? SUP_N : 0))
    while :; do
        alive "${SUP_PIDS[i - 1]}" || fail "start supervisord $i" "exited: $(tail -n 3 "$RUN/supervisord-$i/supervisord.out")"
        running=$(sctl "$i" status 2>/dev/null | grep -c ' RUNNING ' || true)
        ((running >= want)) && sctl "$i" pid >/dev/null 2>&1 && break
        (($(date +%s) - ${t0%.*} < 60)) || fail "start supervisord $i" "$running of $want sleep programs RUNNING after 60s"
        sleep 0.2
    done
done
for ((i = 1; i <= SUP_INSTANCES; i++)); do
    sctl "$i" start bench-stamp >/dev/null || fail "supervisorctl start bench-stamp" "see $RUN/supervisord-$i/supervisord.log"
done
SUP_T0=$(now)

# droverd, in a cgroup v2 cgroup of its own, stderr to $LOG.
CURRENT_LABEL=droverd
mkdir "$BENCH_CG"
(
    echo "$BASHPID" >"$BENCH_CG/cgroup.procs"
    exec env -u INVOCATION_ID -u NOTIFY_SOCKET -u WATCHDOG_USEC \
        "$BIN/droverd" --socket "$SOCK" --state-dir "$VAR/state"
) </dev/null >"$LOG" 2>&1 &
DROVERD_PID=$!
t0=$(now)
until dr ps --json >/dev/null 2>&1; do
    check_droverd "start droverd"
    (($(date +%s) - ${t0%.*} < 30)) || fail "start droverd" "no answer on $SOCK after 30s"
    sleep 0.05
done
log "droverd pid $DROVERD_PID up in $(since "$t0")s (tree $TREE); supervisord pids ${SUP_PIDS[*]}"
echo "host cpus=$(nproc) kernel=$(uname -r) loadavg_1m=$(cut -d' ' -f1 /proc/loadavg) busy_pct_before=$BUSY_BEFORE stamp=$STAMP_KIND droverd=$BIN/droverd n=$N restarts=$RESTARTS sup_restarts=$SUP_RESTARTS"

# ---------------------------------------------------------------- 1. restart latency
CURRENT_LABEL=drover-restart
{ echo "jobs:"; restarter_yaml "$D_STAMPS"; } >"$RUN/restart.yaml"
drover_restarts "$D_STAMPS" "$RUN/restart.yaml" "$RESTARTS"
R_DROVER=$(latency_stats "$RESTARTS" "$D_STAMPS")
HB_ALONE=$HOST_BUSY
echo "drover-restart $R_DROVER host_busy_pct=$HB_ALONE"

# ---------------------------------------------------------------- 2. N sleepers
CURRENT_LABEL=drover-scale
RSS_EMPTY=$(status_kib "$DROVERD_PID" VmRSS)
{ echo "jobs:"; sleepers_yaml; } >"$RUN/sleepers.yaml"
t0=$(now)
out=$(timeout 600 "$BIN/drover" apply "$RUN/sleepers.yaml" --socket "$SOCK" 2>&1) || fail "drover apply ($N sleepers)" "$out"
APPLY_S=$(since "$t0")
TIMEOUT=$((60 + N / 10))
while :; do
    check_droverd "wait for $N running"
    read -r running total < <(count_running "$JOB_S") || true
    ((running >= N)) && break
    if (($(date +%s) - ${t0%.*} > TIMEOUT)); then
        fail "wait for $N running" "$running of $N running after ${TIMEOUT}s (listed: $total; $(state_histogram "$JOB_S")); e.g. $(not_running_sample "$JOB_S" | tr '\n' ';')"
    fi
    sleep 0.1
done
ALL_RUNNING_S=$(since "$t0")
echo "drover-scale n=$N apply_s=$APPLY_S all_running_s=$ALL_RUNNING_S"

# Sanity: N leaves in droverd's tree, each with a live process.
leaves=$(find "$TREE" -mindepth 1 -maxdepth 1 -type d -name "$JOB_S.*" | wc -l)
((leaves == N)) || fail "count cgroups" "$leaves cgroups $JOB_S.* in $TREE, expected $N"

sleep 2                                            # let the start-up burst settle
CURRENT_LABEL=droverd-idle
T_T0=$(cpu_ticks "$DROVERD_PID"); S_T0=$(sched_ns "$DROVERD_PID"); C_T0=$(ctx_switches "$DROVERD_PID"); W0=$(now); H0=$(cpu_sample)
sleep "$IDLE_SECONDS"
check_droverd "idle"
T_T1=$(cpu_ticks "$DROVERD_PID"); S_T1=$(sched_ns "$DROVERD_PID"); C_T1=$(ctx_switches "$DROVERD_PID"); WALL=$(since "$W0"); H1=$(cpu_sample)
IDLE_PCT=$(awk -v d=$((T_T1 - T_T0)) -v hz="$CLK_TCK" -v w="$WALL" 'BEGIN { printf "%.3f", 100 * d / hz / w }')
IDLE_PCT_NS=$(awk -v d="$(task_delta "$S_T0" "$S_T1")" -v w="$WALL" 'BEGIN { printf "%.3f", 100 * d / 1e9 / w }')
WAKE=$(awk -v d="$(task_delta "$C_T0" "$C_T1")" -v w="$WALL" 'BEGIN { printf "%.1f", d / w }')
echo "droverd-idle replicas=$N seconds=$WALL cpu_pct=$IDLE_PCT ticks=$((T_T1 - T_T0)) cpu_pct_schedstat=$IDLE_PCT_NS context_switches_per_s=$WAKE host_busy_pct=$(busy_pct "$H0" "$H1")"

CURRENT_LABEL=droverd-rss
RSS=$(status_kib "$DROVERD_PID" VmRSS); HWM=$(status_kib "$DROVERD_PID" VmHWM)
THREADS=$(status_kib "$DROVERD_PID" Threads); FDS=$(ls /proc/"$DROVERD_PID"/fd | wc -l)
PER=$(awk -v a="$RSS" -v b="$RSS_EMPTY" -v n="$N" 'BEGIN { printf "%.1f", (a - b) / n }')
echo "droverd-rss replicas=$N rss_mib=$(mib "$RSS") hwm_mib=$(mib "$HWM") rss_empty_mib=$(mib "$RSS_EMPTY") per_replica_kib=$PER threads=$THREADS fds=$FDS"

CURRENT_LABEL=drover-ps
lines=$(dr ps | wc -l) || fail "drover ps" "$(dr ps 2>&1 | tail -n 3)"
((lines >= N)) || fail "drover ps" "printed $lines lines for $N replicas"
hyperfine -N --runs "$PS_RUNS" --warmup 2 --export-json "$RUN/ps.json" \
    -n ps "$BIN/drover ps --socket $SOCK" -n ps-json "$BIN/drover ps --json --socket $SOCK" \
    >"$RUN/hyperfine.out" 2>&1 || fail "hyperfine drover ps" "$(tail -n 5 "$RUN/hyperfine.out")"
PS_STATS=$("$PY" - "$RUN/ps.json" <<'EOF'
import json, math, sys
for r in json.load(open(sys.argv[1]))["results"]:
    s = sorted(t * 1000 for t in r["times"])
    mid = len(s) // 2
    med = s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
    p90 = s[max(0, math.ceil(0.9 * len(s)) - 1)]
    print(f'{r["command"]} median_ms={med:.1f} p90_ms={p90:.1f} mean_ms={r["mean"] * 1000:.1f} n={len(s)}')
EOF
)
PS_MED=$(awk '$1 == "ps" { sub("median_ms=", "", $2); print $2 }' <<<"$PS_STATS")
PSJ_MED=$(awk '$1 == "ps-json" { sub("median_ms=", "", $2); print $2 }' <<<"$PS_STATS")
while read -r name rest; do echo "drover-$name replicas=$N $rest"; done <<<"$PS_STATS"

# Restart latency again, with the N sleepers running beside the restarter.
if ((LOADED_RESTARTS >= 2)); then
    CURRENT_LABEL=drover-restart-loaded
    { echo "jobs:"; sleepers_yaml; restarter_yaml "$DL_STAMPS"; } >"$RUN/loaded.yaml"
    drover_restarts "$DL_STAMPS" "$RUN/loaded.yaml" "$LOADED_RESTARTS"
    R_LOADED=$(latency_stats "$LOADED_RESTARTS" "$DL_STAMPS")
    HB_LOADED=$HOST_BUSY
    echo "drover-restart-loaded replicas=$N $R_LOADED host_busy_pct=$HB_LOADED"
    read -r running _ < <(count_running "$JOB_S") || true
    ((running == N)) || fail "after the loaded restarts" "only $running of $N sleepers running: $(state_histogram "$JOB_S")"
fi

CURRENT_LABEL=drover-delete
out=$(dr delete "$JOB_S" 2>&1) || fail "drover delete $JOB_S" "$out"
DELETE_S=$(wait_gone "$JOB_S" $((60 + N / 10)))
leaves=$(find "$TREE" -mindepth 1 -maxdepth 1 -type d | wc -l)
((leaves == 0)) || fail "after delete" "$leaves cgroups left in $TREE"
RSS_AFTER=$(status_kib "$DROVERD_PID" VmRSS)
echo "drover-delete replicas=$N all_gone_s=$DELETE_S rss_after_mib=$(mib "$RSS_AFTER")"

# ---------------------------------------------------------------- 3. supervisord
CURRENT_LABEL=supervisord-restart
# Each instance contributes ceil(SUP_RESTARTS / SUP_INSTANCES) restarts.
per=$(((SUP_RESTARTS + SUP_INSTANCES - 1) / SUP_INSTANCES))
t_limit=$((per * 2 + 30))
for ((i = 1; i <= SUP_INSTANCES; i++)); do
    while (($(starts "${S_STAMPS[i - 1]}") < per + 1)); do
        alive "${SUP_PIDS[i - 1]}" || fail "wait for supervisord restarts" "supervisord $i exited"
        if (($(date +%s) - ${SUP_T0%.*} > t_limit)); then
            fail "wait for supervisord restarts" "supervisord $i: only $(starts "${S_STAMPS[i - 1]}") starts after ${t_limit}s"
        fi
        sleep 0.5
    done
done
for ((i = 1; i <= SUP_INSTANCES; i++)); do
    sctl "$i" stop bench-stamp >/dev/null || log "supervisorctl stop bench-stamp ($i) failed"
done
R_SUP="$(latency_stats "$SUP_RESTARTS" "${S_STAMPS[@]}") instances=$SUP_INSTANCES"
echo "supervisord-restart $R_SUP"
CURRENT_LABEL=supervisord-rss
SUP_RSS=$(status_kib "$SUP_PID" VmRSS)
SUP_RUNNING=$(sctl 1 status 2>/dev/null | grep -c '^bench-sleep.* RUNNING ' || true)
((SUP_RUNNING == SUP_N)) || fail "supervisord sleepers" "$SUP_RUNNING of $SUP_N RUNNING"
echo "supervisord-rss programs=$SUP_N rss_mib=$(mib "$SUP_RSS")"

# ---------------------------------------------------------------- summary
CURRENT_LABEL=summary
get() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
met=0 total=0 missed=""
target() {   # name value op limit
    total=$((total + 1))
    if awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !(op == "<=" ? v <= l : v >= l) }'; then
        met=$((met + 1)); echo "target $1 value=$2 limit=$3$4 met=1"
    else
        missed="$missed $1"; echo "target $1 value=$2 limit=$3$4 met=0"
    fi
}
target restart_median_ms "$(get "$R_DROVER" median_ms)" "<=" 2
target rss_mib "$(mib "$RSS")" "<=" 64
target idle_cpu_pct "$IDLE_PCT" "<=" 0.2
target ps_median_ms "$PS_MED" "<=" 100
echo "targets met=$met of=$total${missed:+ missed=${missed# }} loadavg_1m_end=$(cut -d' ' -f1 /proc/loadavg)"

echo
printf '%-40s %10s %10s %10s\n' "restart latency (exit -> next exec)" "median ms" "p90 ms" "host busy"
printf '%-40s %10s %10s %9s%%\n' "droverd (alone), n=$(get "$R_DROVER" n)" "$(get "$R_DROVER" median_ms)" "$(get "$R_DROVER" p90_ms)" "$HB_ALONE"
if [[ -n ${R_LOADED:-} ]]; then
    printf '%-40s %10s %10s %9s%%\n' "droverd ($N sleepers up), n=$(get "$R_LOADED" n)" "$(get "$R_LOADED" median_ms)" "$(get "$R_LOADED" p90_ms)" "$HB_LOADED"
fi
printf '%-40s %10s %10s\n' "supervisord, n=$(get "$R_SUP" n)" "$(get "$R_SUP" median_ms)" "$(get "$R_SUP" p90_ms)"
echo
printf '%-48s %s\n' "$N sleep replicas under droverd" ""
printf '%-48s %s\n' "  drover apply returned after" "${APPLY_S} s"
printf '%-48s %s\n' "  all $N running (ps --json) after" "${ALL_RUNNING_S} s"
printf '%-48s %s\n' "  droverd RSS (empty -> $N) [target <= 64]" "$(mib "$RSS_EMPTY") -> $(mib "$RSS") MiB (peak $(mib "$HWM"), ${PER} KiB/replica)"
printf '%-48s %s\n' "  droverd idle CPU, ${IDLE_SECONDS} s [target <= 0.2]" "${IDLE_PCT} % of a core (schedstat ${IDLE_PCT_NS} %, ${WAKE} ctx switches/s)"
printf '%-48s %s\n' "  drover ps median [target <= 100]" "${PS_MED} ms (ps --json ${PSJ_MED} ms)"
printf '%-48s %s\n' "  drover delete -> all gone" "${DELETE_S} s"
printf '%-48s %s\n' "supervisord with $SUP_N sleep programs: RSS" "$(mib "$SUP_RSS") MiB"
printf '%-48s %s\n' "targets met" "$met of $total${missed:+ (missed:$missed)}"

if [[ $STRICT_TARGETS == 1 && $met != "$total" ]]; then exit 4; fi
exit 0
