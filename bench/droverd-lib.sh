# Sourced by the benchmarks that drive a droverd of their own (bench/proxy.sh,
# bench/evict.sh): start_droverd NAME JOB [FLAGS...] starts one (release build) with its state
# under /var/tmp (not /tmp: replicas have their own), and on exit deletes JOB, stops droverd and
# removes the state; restart_droverd [FLAGS...] replaces it (its replicas stay and are
# re-adopted). Sets BIN, WORK and SOCK.
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
DROVERD_PID=
BENCH_JOB=

cleanup_droverd() {
    if [ -S "$SOCK" ] && [ -n "$BENCH_JOB" ]; then
        "$BIN/drover" delete "$BENCH_JOB" --socket "$SOCK" >/dev/null 2>&1 || true
        sleep 1
    fi
    [ -n "$DROVERD_PID" ] && kill "$DROVERD_PID" 2>/dev/null && wait "$DROVERD_PID" 2>/dev/null || true
    # The bpf file system droverd pins service steering in: removing the pins ends the programs.
    find "$WORK/state/bpf" -maxdepth 1 -type f ! -name '*.*' -delete 2>/dev/null || true
    umount "$WORK/state/bpf" 2>/dev/null || true
    rm -rf "$WORK"
}

start_droverd() { # NAME JOB [FLAGS...]
    WORK=/var/tmp/drover-$1-bench-$$
    SOCK="$WORK/drover.sock"
    BENCH_JOB=$2
    mkdir -p "$WORK"
    trap cleanup_droverd EXIT
    launch_droverd "${@:3}"
}

restart_droverd() { # [FLAGS...]
    kill "$DROVERD_PID" && wait "$DROVERD_PID" 2>/dev/null || true
    rm -f "$SOCK"
    launch_droverd "$@"
}

launch_droverd() {
    "$BIN/droverd" --socket "$SOCK" --state-dir "$WORK/state" "$@" >>"$WORK/droverd.log" 2>&1 &
    DROVERD_PID=$!
    for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
    [ -S "$SOCK" ] || { echo "droverd did not start:" >&2; cat "$WORK/droverd.log" >&2; exit 1; }
}
