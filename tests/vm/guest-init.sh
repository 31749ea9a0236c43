#!/bin/sh
# PID 1 of the drover test VM.  tests/vm/run.sh copies this file into the
# initramfs as /init; it runs under busybox ash (not bash), with busybox
# applets in /bin and the needed kernel modules in /lib/modules.
#
# Protocol with the host (9p share "job", a writable host temp dir):
#   in : cmd.sh       bash script: cd to the caller's cwd, export env, exec CMD
#        hostname     guest hostname
#        cgroup-opts  mount options for cgroup2 (may be empty)
#        9p-cache     cache mode for the read-only host root share
#        rw.list      "TAG PATH" per line: extra writable shares to mount
#   out: started      written just before CMD starts (boot finished)
#        rc           CMD's exit status
#        init-error   why this script gave up (setup failure)
# CMD's stdout/stderr go to the virtio-serial ports "drover.stdout" and
# "drover.stderr", which the host streams to its own stdout/stderr.  Kernel
# and init messages go to ttyS0 (the console), which the host only keeps in
# a log file, so they never mix with CMD's output.

export PATH=/bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys

job_mounted=0

log() {
	echo "vm-init: [$(cut -d' ' -f1 /proc/uptime)s] $*" >/dev/console
}

power_off() {
	sync
	poweroff -f
	# poweroff -f does not return; if it somehow did, try the sysrq path and
	# finally let the kernel panic (panic=-1 reboots, -no-reboot ends qemu).
	echo o >/proc/sysrq-trigger
	sleep 30
	exit 1
}

fail() {
	log "FATAL: $*"
	[ "$job_mounted" = 1 ] && echo "$*" >/job/init-error
	power_off
}

echo >/dev/console # end the firmware's last line
log "init started"

# Modules in dependency order (run.sh resolved it from modules.dep).
while read -r mod; do
	insmod "/lib/modules/$mod" || fail "insmod $mod failed"
done </lib/modules/load.list

# 9p over virtio: 512000 is the largest msize the virtio transport accepts;
# big messages make reading binaries and libraries over 9p much faster.
p9opts=trans=virtio,version=9p2000.L,msize=512000

mkdir -p /job /host
mount -t 9p -o "$p9opts" job /job || fail "cannot mount the job share"
job_mounted=1

cache=$(cat /job/9p-cache)
mount -t 9p -o "$p9opts,cache=$cache,ro" host /host ||
	fail "cannot mount the host root share"

# The virtio-serial ports appear asynchronously (the host announces them on a
# control queue after the driver loads), so poll for them by name.
find_port() {
	i=0
	while [ $i -lt 200 ]; do
		for d in /sys/class/virtio-ports/*; do
			[ -e "$d/name" ] || continue
			if [ "$(cat "$d/name")" = "$1" ] && [ -c "/dev/${d##*/}" ]; then
				echo "/dev/${d##*/}"
				return 0
			fi
		done
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
out_port=$(find_port drover.stdout) || fail "virtio port drover.stdout missing"
err_port=$(find_port drover.stderr) || fail "virtio port drover.stderr missing"

# --- the guest's view of the host root (all mounts go on top of /host) ---
h=/host
mount -t proc proc $h/proc || fail "mount proc"
mount -t sysfs sysfs $h/sys || fail "mount sysfs"
# cgroup2 alone at /sys/fs/cgroup: all controllers are available here.
cgopts=$(cat /job/cgroup-opts)
mount -t cgroup2 ${cgopts:+-o "$cgopts"} cgroup2 $h/sys/fs/cgroup ||
	fail "mount cgroup2 (options: '$cgopts')"
mount -t devtmpfs devtmpfs $h/dev || fail "mount devtmpfs"
mkdir -p $h/dev/pts $h/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts $h/dev/pts ||
	fail "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs $h/dev/shm || fail "mount /dev/shm"
# devtmpfs lacks the usual fd symlinks (normally made by udev/systemd).
ln -sf /proc/self/fd $h/dev/fd
ln -sf /proc/self/fd/0 $h/dev/stdin
ln -sf /proc/self/fd/1 $h/dev/stdout
ln -sf /proc/self/fd/2 $h/dev/stderr
# The host root is read-only; give the usual scratch places fresh tmpfs.
mount -t tmpfs -o mode=1777 tmpfs $h/tmp || fail "mount /tmp"
mount -t tmpfs -o mode=0755 tmpfs $h/run || fail "mount /run"
mkdir -p -m 1777 $h/run/lock
mount -t tmpfs -o mode=1777 tmpfs $h/var/tmp || fail "mount /var/tmp"
mount -t tmpfs -o mode=0700 tmpfs $h/root || fail "mount /root"
# The tests' own scratch space (not /tmp or /var/tmp: sandboxes have private ones).
mount -t tmpfs -o mode=0755 tmpfs $h/var/lib/drover-test || fail "mount /var/lib/drover-test"

# Networking: loopback only (qemu runs with -nic none).
ip link set lo up || fail "ip link set lo up"
vmhost=$(cat /job/hostname)
hostname "$vmhost" || fail "hostname $vmhost"
# Make the hostname resolvable without writing to the host's /etc/hosts.
{ cat $h/etc/hosts 2>/dev/null; echo "127.0.1.1 $vmhost"; } >/etc-hosts
mount -o bind /etc-hosts $h/etc/hosts 2>/dev/null || log "note: /etc/hosts not overridden"

# Writable host directories requested with run.sh --rw, at the same path.
# Mounted last so a directory below /tmp etc. lands on top of the tmpfs.
while read -r tag path; do
	[ -n "$tag" ] || continue
	mkdir -p "$h$path" 2>/dev/null
	mount -t 9p -o "$p9opts" "$tag" "$h$path" || fail "cannot mount --rw $path"
done </job/rw.list

# Make the host root the root of the mount namespace, like switch_root does:
# move it over / and have CMD chroot to it (cwd is the moved mount).  A plain
# `chroot /host` would leave CMD "chrooted", and the kernel then refuses
# user namespaces (unshare(CLONE_NEWUSER) -> EPERM) and pivot_root misbehaves.
# This shell keeps its own root (the initramfs) and still reaches /job, /dev,
# /cmd-* and busybox through it.
cd $h || fail "cd $h"
mount --move . / || fail "mount --move $h /"

# CMD writes into FIFOs rather than straight into the virtio ports: a port can
# be open only once (EBUSY), which would break programs that reopen
# /dev/stdout or /proc/self/fd/1.  A pipe behaves like it does on the host.
mkfifo /cmd-out /cmd-err
cat /cmd-out >"$out_port" &
out_pump=$!
cat /cmd-err >"$err_port" &
err_pump=$!

log "setup done, running command"
cut -d' ' -f1 /proc/uptime >/job/started
# env -i: CMD's environment comes only from cmd.sh (built by run.sh).
env -i /bin/chroot . /bin/bash -c "$(cat /job/cmd.sh)" drover-vm \
	</dev/null >/cmd-out 2>/cmd-err
rc=$?
log "command exited with status $rc"
echo "$rc" >/job/rc

# Anything CMD left running may still hold the FIFOs open; stop it so the
# pumps see EOF after draining what CMD wrote (kernel threads ignore this).
for p in /proc/[0-9]*; do
	pid=${p#/proc/}
	case $pid in 1 | $out_pump | $err_pump) continue ;; esac
	kill -9 "$pid" 2>/dev/null
done
# Wait for the pumps to drain, but not forever (a writer stuck in the kernel
# would keep them open); the exit status is already with the host.
(sleep 60; kill $out_pump $err_pump 2>/dev/null) &
wait $out_pump $err_pump
log "output drained, powering off"
power_off
