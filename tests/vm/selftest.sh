#!/usr/bin/env bash
# tests/vm/selftest.sh - end-to-end checks of tests/vm/run.sh (each check
# boots a VM; ~2 minutes in total).  Usage: tests/vm/selftest.sh [CHECK...]
# Exit: 0 all passed, 1 some failed, 77 the VM is unavailable (SKIP).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." # repo root: it exists in the guest
run=tests/vm/run.sh
scratch=.build-vm/selftest
mkdir -p "$scratch"
out=$scratch/stdout err=$scratch/stderr

# vm ARGS...: run the VM, stdout/stderr into $out/$err, status into $rc.
vm() {
	rc=0
	"$run" "$@" >"$out" 2>"$err" || rc=$?
}
expect_rc() {
	[[ $rc == "$1" ]] || { echo "  expected exit $1, got $rc; stderr:"; sed 's/^/  | /' "$err"; return 1; }
}
expect_out() {
	[[ $(cat "$out") == "$1" ]] || { echo "  stdout was:"; sed 's/^/  | /' "$out"; echo "  expected:"; echo "$1" | sed 's/^/  | /'; return 1; }
}

check_controllers() {
	vm -- cat /sys/fs/cgroup/cgroup.controllers
	expect_rc 0 && expect_out "cpuset cpu io memory hugetlb pids rdma misc"
}

check_exit_code() {
	vm -- sh -c 'exit 3'
	expect_rc 3
}

check_streams_and_args() {
	vm -- bash -c 'echo "out:$1|$2|$3"; echo err >&2' _ 'a b' '$HOME' "it's"
	expect_rc 0 && expect_out "out:a b|\$HOME|it's" && [[ $(cat "$err") == err ]]
}

check_environment() {
	vm -e FOO='x y' -- bash -c 'echo "$DROVER_VM|$HOME|$PWD|$FOO|$(hostname)|$(id -u)"'
	expect_rc 0 && expect_out "1|/root|$PWD|x y|drover-vm|0"
}

check_guest_view() {
	# shellcheck disable=SC2016  # runs in the guest
	vm -- bash -c '
		set -u; fail() { echo "FAIL: $*"; exit 1; }
		touch /etc/drover-vm-probe 2>/dev/null && fail "/ is writable"
		for d in /tmp /var/tmp /root /run /dev/shm; do touch $d/probe || fail "$d not writable"; done
		n=$(findmnt -rno TARGET,FSTYPE | grep "^/sys/fs/cgroup")
		[[ $n == "/sys/fs/cgroup cgroup2" ]] || fail "mounts under /sys/fs/cgroup: $n"
		busybox nc -l -p 7777 -w 10 >/tmp/got & sleep 0.5
		echo hi >/dev/tcp/127.0.0.1/7777 || fail "loopback"
		wait; [[ $(cat /tmp/got) == hi ]] || fail "loopback data"
		[[ $(echo reopen | dd of=/dev/stdout status=none) == reopen ]] || fail "reopen /dev/stdout"
		script -qec true /dev/null >/dev/null || fail "pty"
		unshare -Urpmf --mount-proc --cgroup true || fail "namespaces"
		echo ok'
	expect_rc 0 && expect_out ok
}

check_swift_runtime() {
	local fe=/opt/swift/usr/bin/swift-frontend
	[[ -x $fe ]] || { echo "  (no $fe, skipped)"; return 0; }
	vm -- "$fe" --version
	expect_rc 0 && grep -q 'Swift version' "$out"
}

check_memory_limit() {
	# shellcheck disable=SC2016  # runs in the guest
	vm -- bash -c '
		set -eu; cd /sys/fs/cgroup
		echo +memory >cgroup.subtree_control
		mkdir memtest; echo 16M >memtest/memory.max; echo 0 >memtest/memory.swap.max
		# tail -c buffers 64 MiB: inside the 16 MiB cgroup it must be OOM-killed...
		rc=0; bash -c "echo \$\$ >memtest/cgroup.procs; head -c 64M /dev/zero | tail -c 64M >/dev/null" || rc=$?
		[[ $rc == 137 ]] || { echo "hog exited $rc, not 137 (SIGKILL)"; exit 1; }
		grep -q "^oom_kill [1-9]" memtest/memory.events || { cat memtest/memory.events; exit 1; }
		# ...and succeed outside it.
		head -c 64M /dev/zero | tail -c 64M | wc -c'
	expect_rc 0 && expect_out 67108864
}

check_pids_limit() {
	# shellcheck disable=SC2016  # runs in the guest
	vm -- bash -c '
		set -eu; cd /sys/fs/cgroup
		echo +pids >cgroup.subtree_control
		mkdir pidtest; echo 4 >pidtest/pids.max
		sh -c "echo \$\$ >pidtest/cgroup.procs; for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait" 2>/dev/null || true
		grep -q "^max [1-9]" pidtest/pids.events && echo limited'
	expect_rc 0 && expect_out limited
}

check_rw_share() {
	rm -f "$scratch/rw/written"
	mkdir -p "$scratch/rw"
	vm --rw "$scratch/rw" -- sh -c "echo from-guest >$scratch/rw/written"
	expect_rc 0 && [[ $(cat "$scratch/rw/written") == from-guest ]]
}

check_timeout() {
	vm --timeout 20 -- sleep 600
	expect_rc 124 && grep -q 'VM timed out after 20 s' "$err"
}

check_crash() {
	vm -- sh -c 'echo c >/proc/sysrq-trigger'
	expect_rc 125 && grep -q 'without reporting an exit status' "$err" && grep -q 'Kernel panic' "$err"
}

check_skip() {
	rc=0
	DROVER_VM_KERNEL=/nonexistent "$run" -- true >"$out" 2>"$err" || rc=$?
	expect_rc 77 && grep -q '^SKIP: ' "$err"
}

all=(controllers exit_code streams_and_args environment guest_view swift_runtime
	memory_limit pids_limit rw_share timeout crash skip)
(($#)) && all=("$@")

# One probe first, so a machine without the VM prerequisites skips cleanly.
vm -- true
if ((rc == 77)); then cat "$err"; exit 77; fi
expect_rc 0 || { echo "FAIL: the VM does not run at all"; exit 1; }

failed=()
for c in "${all[@]}"; do
	start=$SECONDS
	if "check_$c"; then
		echo "PASS $c ($((SECONDS - start)) s)"
	else
		echo "FAIL $c ($((SECONDS - start)) s)"
		failed+=("$c")
	fi
done
((${#failed[@]} == 0)) || { echo "failed: ${failed[*]}"; exit 1; }
echo "all ${#all[@]} checks passed"
