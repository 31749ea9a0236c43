#!/usr/bin/env bash
# bench/proxy.sh — throughput and latency through a job's service port vs straight to the
# replica, with wrk, in one run. One droverd (release build) runs a job of N replicas of a
# small HTTP server with a service port; wrk hits replica 0's own port directly, then the
# service port twice: with droverd's default path (kernel steering: a BPF sk_lookup program
# hands each connection to a replica's own listening socket), then, after restarting droverd
# with --service-relay-only (replicas stay), through the user-space relay. Two backends, both
# one request per connection (HTTP/1.0):
#   python   python3 -m http.server, the SPEC's example web job (~1k requests/s)
#   trivial  drover-testload serve, a C loop answering a fixed 200 (~40k requests/s): the
#            worst case for a user-space relay, whose own work then dominates
# Usage: [BACKENDS="python trivial"] [N=1] [DURATION=10s] [CONNECTIONS=16] bench/proxy.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-1}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
command -v wrk >/dev/null || { echo "proxy.sh: wrk not installed (apt-get install wrk)" >&2; exit 2; }
. "$ROOT/bench/droverd-lib.sh"
SERVICE=$(python3 -c 'import socket
for p in range(15000, 19000):
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p)); print(p); break
    except OSError: pass
    finally: s.close()')
start_droverd proxy bench
run() { # label url
    local out
    out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$2")
    local rps p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    local errors
    errors=$(awk '/Socket errors|Non-2xx/ {print}' <<<"$out" | tr '\n' ' ')
    echo "$1 requests_per_s=$rps p99=$p99 ${errors:+errors=\"$errors\"}"
    echo "$rps" >"$WORK/$1.rps"
}
paths() { # how droverd's metrics say the service's connections went
    python3 - "$SOCK" <<'PY'
import re, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: droverd\r\nConnection: close\r\n\r\n")
text = b"".join(iter(lambda: s.recv(65536), b"")).decode()
counts = dict(re.findall(r'drover_service_connections\{job="bench",path="(\w+)"\} (\d+)', text))
print(f"  droverd counted: steered={counts.get('steered', '?')} relayed={counts.get('relayed', '?')}")
PY
}
wait_published() {
    for _ in $(seq 200); do
        [ "$("$BIN/drover" resolve bench --socket "$SOCK" 2>/dev/null | wc -l)" = "$N" ] && return
        sleep 0.1
    done
    echo "proxy.sh: the replicas were not published" >&2
    exit 1
}
for backend in ${BACKENDS:-python trivial}; do
    case $backend in
        python) command='["/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "${PORT_HTTP}"]' ;;
        trivial) command="[\"$BIN/drover-testload\", \"serve\", \"PORT_HTTP\"]" ;;
        *) echo "proxy.sh: unknown backend $backend" >&2; exit 2 ;;
    esac
    cat >"$WORK/bench.yaml" <<YAML
jobs:
  bench:
    replicas: $N
    ports: [http]
    service: {port: $SERVICE}
    command: $command
YAML
    "$BIN/drover" apply "$WORK/bench.yaml" --socket "$SOCK" >/dev/null
    wait_published
    sleep 1 # the servers bind their ports (and steering finds their sockets)
    # drover-testload serve answers 200 while $DROVER_STATE_DIR/healthy exists.
    for i in $(seq 0 $((N - 1))); do touch "$WORK/state/state/bench/$i/healthy"; done
    DIRECT=$("$BIN/drover" resolve bench/0 --socket "$SOCK")
    run "$backend-direct" "http://$DIRECT/"
    grep -o "bench: service port open, .*" "$WORK/droverd.log" | tail -1 | sed 's/^/  droverd: /'
    run "$backend-steered" "http://127.0.0.1:$SERVICE/"
    paths
    restart_droverd --service-relay-only
    wait_published
    sleep 0.5
    grep -o "bench: service port open, .*" "$WORK/droverd.log" | tail -1 | sed 's/^/  droverd: /'
    run "$backend-relay" "http://127.0.0.1:$SERVICE/"
    paths
    restart_droverd
    python3 - "$WORK" "$backend" <<'PY'
import sys
work, backend = sys.argv[1], sys.argv[2]
rate = lambda path: float(open(f"{work}/{backend}-{path}.rps").read())
direct = rate("direct")
print(f"{backend}: steered/direct = {rate('steered') / direct:.2f}, relay/direct = {rate('relay') / direct:.2f} (target >= 0.7)")
PY
    wait_published
    "$BIN/drover" delete bench --socket "$SOCK" >/dev/null
    for _ in $(seq 100); do
        [ "$("$BIN/drover" ps --json --socket "$SOCK")" = "[]" ] && break
        sleep 0.1
    done
done
