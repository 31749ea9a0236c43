#!/usr/bin/env bash
# Tries README.md's walkthrough as a newcomer would, from this checkout: `make run` in the
# background (its own state directory and socket, so a droverd of the host is left alone),
# `make install` into a scratch prefix put first on PATH, then every `$ command` of the
# README's walkthrough blocks, comparing what it prints with the lines the README shows under
# it (digits may differ: PIDs, ports, ages; lines in any order: replicas interleave), polling
# while replicas converge. Ctrl-C is SIGINT to droverd: its last words must be what the README
# quotes. Exit 0 when every command printed what the README says.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
scratch=/var/lib/drover-test/readme-$$
mkdir -p "$scratch"
state=$scratch/state
socket=$scratch/run/drover.sock
prefix=$scratch/prefix
log=$scratch/droverd.log
daemon=
failures=0

say() { printf 'walkthrough: %s\n' "$*" >&2; }

cleanup() {
    # Whatever the walkthrough left running goes: a droverd on the same state that stops
    # every replica on its way out.
    [ -n "$daemon" ] && kill -INT "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    if [ -x "$prefix/bin/droverd" ]; then
        "$prefix/bin/droverd" --socket "$socket" --state-dir "$state" --stop-replicas-on-exit >>"$log" 2>&1 &
        local stopper=$!
        for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
        kill -TERM "$stopper" 2>/dev/null
        wait "$stopper" 2>/dev/null
    fi
    # The bpf file system droverd pins service steering in: the pins go, then the mount.
    if mountpoint -q "$state/bpf" 2>/dev/null; then
        find "$state/bpf" -maxdepth 1 -type f ! -name '*.*' -delete 2>/dev/null
        umount -l "$state/bpf"
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

# The README's walkthrough: the text between its markers.
text=$(sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' README.md)
[ -n "$text" ] || { say "README.md has no walkthrough markers"; exit 1; }

# `make install` into the scratch prefix, as the README's PREFIX note says.
make --no-print-directory install PREFIX="$prefix" >"$scratch/install.log" 2>&1 || { cat "$scratch/install.log" >&2; say "make install failed"; exit 1; }
export PATH=$prefix/bin:$PATH
export DROVER_SOCKET=$socket

# `make run` in "terminal 1".
setsid make --no-print-directory run RUN_ARGS="--socket $socket --state-dir $state" >"$log" 2>&1 &
make_pid=$!
for _ in $(seq 300); do drover ps >/dev/null 2>&1 && break; sleep 0.1; done
daemon=$(pgrep -f -- "droverd --config config --socket $socket" | head -1)
[ -n "$daemon" ] || { cat "$log" >&2; say "make run did not start droverd"; exit 1; }

# An expected line as an extended regular expression: digits may differ, runs of spaces
# are one or more spaces, the rest is literal.
pattern() {
    printf '%s' "$1" | sed -e 's/[][\.*^$+?(){}|/]/\\&/g' -e 's/[0-9][0-9]*/[0-9]+/g' -e 's/  */ +/g' -e 's/^/^/' -e 's/$/ *$/'
}

# Whether `actual` has exactly the expected lines, in any order.
matches() {
    local expected=$1 actual=$2 line
    [ "$(printf '%s\n' "$expected" | grep -c .)" = "$(printf '%s\n' "$actual" | grep -c .)" ] || return 1
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        printf '%s\n' "$actual" | grep -Eq -- "$(pattern "$line")" || return 1
    done <<<"$expected"
}

run_step() {
    local command=$1 expected=$2 output
    for attempt in $(seq 120); do
        output=$(cd "$repo" && bash -c "$command" 2>&1)
        if matches "$expected" "$output"; then say "ok: $command"; return 0; fi
        # Read-only commands may wait for replicas to converge; anything else runs once.
        case $command in "drover ps"*|"drover logs"*|"curl"*|"drover resolve"*) sleep 0.5 ;; *) break ;; esac
    done
    say "FAILED: \$ $command"
    printf 'README says:\n%s\nit printed:\n%s\n' "$expected" "$output" >&2
    failures=$((failures + 1))
    return 1
}

# Steps: `$ command` lines inside ``` blocks, each followed by its output lines.
in_block=0 command= expected= stop_expected= in_stop=0
flush() { [ -n "$command" ] && run_step "$command" "$expected"; command= expected=; }
while IFS= read -r line; do
    case $line in
        '<!-- walkthrough:ctrl-c -->') in_stop=1; continue ;;
        '```'*)
            if [ $in_block = 1 ]; then flush; in_block=0; in_stop=0; else in_block=1; fi
            continue ;;
    esac
    [ $in_block = 1 ] || continue
    if [ $in_stop = 1 ]; then stop_expected+="$line"$'\n'; continue; fi
    case $line in
        '$ '*) flush; command=${line#\$ } ;;
        *) [ -n "$command" ] && expected+="$line"$'\n' ;;
    esac
done <<<"$text"

# Ctrl-C in terminal 1: droverd stops and says what it leaves running.
if [ -n "$stop_expected" ]; then
    kill -INT "$daemon"
    for _ in $(seq 300); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
    daemon=
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        if grep -Eq -- "$(pattern "$line" | sed -e 's/^\^//' -e 's/ \*\$$//')" "$log"; then say "ok: Ctrl-C prints: $line"
        else say "FAILED: after Ctrl-C droverd did not print: $line"; tail -5 "$log" >&2; failures=$((failures + 1)); fi
    done <<<"$stop_expected"
else
    say "FAILED: no <!-- walkthrough:ctrl-c --> block"; failures=$((failures + 1))
fi

[ $failures = 0 ] && say "every command printed what README.md says" || say "$failures step(s) differ from README.md"
[ $failures = 0 ]
