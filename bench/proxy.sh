#!/usr/bin/env bash
# bench/proxy.sh — throughput and latency through droverd's service proxy vs straight to the
# replica, with wrk, in one run. One droverd (release build) runs a job of N replicas of a
# small HTTP server with a service port; wrk hits replica 0's own port directly, then the
# service port. Two backends, both one request per connection (HTTP/1.0):
#   python   python3 -m http.server, the SPEC's example web job (~1k requests/s)
#   trivial  drover-testload serve, a C loop answering a fixed 200 (~40k requests/s): the
#            worst case for any user-space proxy, whose own work then dominates
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
    for _ in $(seq 200); do
        [ "$("$BIN/drover" resolve bench --socket "$SOCK" | wc -l)" = "$N" ] &&
            [ "$("$BIN/drover" ps bench --json --socket "$SOCK" | grep -c '"lastExit"')" -ge 0 ] && break
        sleep 0.1
    done
    sleep 1 # the servers bind their ports
    # drover-testload serve answers 200 while $DROVER_STATE_DIR/healthy exists.
    for i in $(seq 0 $((N - 1))); do touch "$WORK/state/state/bench/$i/healthy"; done
    DIRECT=$("$BIN/drover" resolve bench/0 --socket "$SOCK")
    run "$backend-direct" "http://$DIRECT/"
    run "$backend-proxied" "http://127.0.0.1:$SERVICE/"
    python3 - "$WORK" "$backend" <<'PY'
import sys
work, backend = sys.argv[1], sys.argv[2]
direct = float(open(f"{work}/{backend}-direct.rps").read())
proxied = float(open(f"{work}/{backend}-proxied.rps").read())
print(f"{backend}: proxied/direct = {proxied / direct:.2f} (target >= 0.7)")
PY
    "$BIN/drover" delete bench --socket "$SOCK" >/dev/null
    for _ in $(seq 100); do
        [ "$("$BIN/drover" ps --json --socket "$SOCK")" = "[]" ] && break
        sleep 0.1
    done
done
