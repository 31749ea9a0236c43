#!/usr/bin/env bash
# tests/vm/run.sh - run one command as root inside a throwaway QEMU VM that
# sees the host's root filesystem (read-only, over 9p) and has a real cgroup v2
# hierarchy with every controller enabled.  Used to test drover's cgroup and
# namespace code without touching the host's cgroups.
#
#   tests/vm/run.sh [options] -- CMD [ARGS...]
#
# Exit status: CMD's exit status; 124 if the VM timed out; 125 if the harness
# or the guest failed (message on stderr); 77 ("SKIP: reason") if a
# prerequisite is missing.  See tests/vm/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
me="tests/vm/run.sh"

usage() {
	cat <<EOF
usage: $me [options] -- CMD [ARGS...]

Boots a QEMU (TCG) VM with the host's / mounted read-only, a writable tmpfs
at /tmp /run /var/tmp /root, cgroup2 at /sys/fs/cgroup, and runs CMD there as
root in the caller's cwd.  Exits with CMD's exit status.

options:
  --timeout SECONDS  kill the VM after this long (default ${DROVER_VM_TIMEOUT:-600}); exit 124
  --mem MiB          guest memory (default ${DROVER_VM_MEM:-2048})
  --rw DIR           also mount host DIR read-write at the same path (repeatable)
  -e, --env NAME[=VALUE]
                     set NAME in CMD's environment (without =VALUE: copy the
                     caller's value); repeatable
  -v, --verbose      stream the guest console (kernel + init log) to stderr
  -h, --help         this text

environment: DROVER_VM_KERNEL (path to a vmlinuz), DROVER_VM_BUSYBOX,
  DROVER_VM_CACHE (cache dir, default <repo>/.build-vm),
  DROVER_VM_CGROUP_OPTS (cgroup2 mount options, default
  "nsdelegate,memory_recursiveprot" like systemd; "" for none),
  DROVER_VM_9P_CACHE (9p cache mode for the host root, default "loose"),
  DROVER_VM_APPEND (extra kernel arguments, e.g. "loglevel=7" to debug boot),
  DROVER_VM_KEEP=1 (keep the run's temp dir: console log, qemu log, job files).
EOF
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}
die() {
	echo "$me: error: $*" >&2
	exit 125
}

# ---------------------------------------------------------------- arguments
timeout_s=${DROVER_VM_TIMEOUT:-600}
mem=${DROVER_VM_MEM:-2048}
verbose=0
rw_dirs=()
user_env=()
while (($#)); do
	case $1 in
	--timeout) timeout_s=${2:?--timeout needs a value}; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--mem) mem=${2:?--mem needs a value}; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--rw) rw_dirs+=("${2:?--rw needs a directory}"); shift 2 ;;
	--rw=*) rw_dirs+=("${1#*=}"); shift ;;
	-e | --env) user_env+=("${2:?--env needs NAME[=VALUE]}"); shift 2 ;;
	--env=*) user_env+=("${1#*=}"); shift ;;
	-v | --verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; die "unknown option '$1' (put the command after --)" ;;
	esac
done
(($#)) || { usage >&2; die "no command given"; }
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive integer, got '$timeout_s'"
[[ $mem =~ ^[1-9][0-9]*$ ]] || die "--mem must be a positive integer (MiB), got '$mem'"

cgroup_opts=${DROVER_VM_CGROUP_OPTS-nsdelegate,memory_recursiveprot}
ninep_cache=${DROVER_VM_9P_CACHE:-loose}
vm_hostname=drover-vm

# ------------------------------------------------------------ prerequisites
qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"

# Guest kernel: the newest /boot/vmlinuz-* whose modules are installed.
if [[ -n ${DROVER_VM_KERNEL:-} ]]; then
	kernel=$DROVER_VM_KERNEL
else
	kernel=
	while read -r k; do
		[[ -f /lib/modules/${k#/boot/vmlinuz-}/modules.dep ]] && kernel=$k
	done < <(ls /boot/vmlinuz-* 2>/dev/null | sort -V)
fi
[[ -n $kernel ]] || skip "no /boot/vmlinuz-* with matching /lib/modules/<version> (apt-get install linux-image-amd64)"
[[ -r $kernel ]] || skip "kernel $kernel is not readable"
kver=${kernel##*/vmlinuz-}
moddir=/lib/modules/$kver
[[ -f $moddir/modules.dep ]] || skip "no $moddir/modules.dep for kernel $kernel"

# busybox must be static: the initramfs has no libc.
busybox=
for b in ${DROVER_VM_BUSYBOX:-} /bin/busybox /usr/bin/busybox; do
	[[ -x $b ]] || continue
	ldd_out=$(LC_ALL=C ldd "$b" 2>&1 || true)
	if [[ $ldd_out == *"not a dynamic executable"* || $ldd_out == *"statically linked"* ]]; then
		busybox=$b
		break
	fi
done
[[ -n $busybox ]] || skip "no static busybox (apt-get install busybox-static)"
command -v cpio >/dev/null || skip "cpio not found"
[[ -x /bin/bash ]] || skip "/bin/bash missing (the guest runs CMD with it)"

# Scratch space of the project's tests outside /tmp and /var/tmp (which every sandbox has
# a private one of): it must exist on the host to be a mount point in the guest.
mkdir -p /var/lib/drover-test

# ------------------------------------------------------------ cleanup
tmp=        # this run's temp dir (job share, FIFOs, logs)
stage=      # initramfs staging dir while building
vm_pid=     # `timeout` wrapping qemu
reader_pids=()

# Stop what we started (only our own PIDs), then remove the temp dir.
cleanup() {
	local i
	if [[ -n $vm_pid ]] && kill -0 "$vm_pid" 2>/dev/null; then
		# TERM to `timeout` is forwarded to qemu, which exits cleanly.
		kill -TERM "$vm_pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do kill -0 "$vm_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$vm_pid" 2>/dev/null || true
	fi
	[[ -z $tmp ]] || release_readers
	for i in "${reader_pids[@]}"; do kill "$i" 2>/dev/null || true; done
	[[ -z $stage ]] || rm -rf "$stage" "$stage.cpio"
	[[ -n $tmp ]] || return 0
	if [[ -n ${DROVER_VM_KEEP:-} ]]; then
		echo "$me: kept $tmp (console.log, qemu.log, job/)" >&2
	else
		rm -rf "$tmp"
	fi
}
# A reader blocked in open() of its FIFO (qemu never opened it) is released
# by briefly opening the FIFO ourselves: O_RDWR never blocks.
release_readers() {
	local f fd
	for f in "$tmp"/*.out; do
		[[ -p $f ]] || continue
		exec {fd}<>"$f"
		exec {fd}>&-
	done
}
trap cleanup EXIT
trap 'echo "$me: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- initramfs
# Everything the guest needs besides the host root: busybox, /init and the
# modules for virtio-pci, 9p and virtio-serial.  Cached per kernel version and
# a hash of this script, the guest init, busybox and the kernel/modules'
# size+mtime (Debian updates a kernel in place under the same version).
cache_dir=${DROVER_VM_CACHE:-$repo/.build-vm}
mkdir -p "$cache_dir"
kstamp=$(stat -Lc '%s-%Y' "$kernel" "$moddir/modules.dep" | tr '\n' '-')
key=$({ cat "$here/run.sh" "$here/guest-init.sh" "$busybox"; echo "$kstamp"; } | sha256sum | cut -c1-16)
initramfs=$cache_dir/initramfs-$kver-$key.cpio

# Load order for the modules we need, resolved from modules.dep (deps first).
# Modules built into the kernel (modules.builtin) are skipped.
resolve_modules() {
	local -A path deps seen
	local line p n
	while IFS= read -r line; do
		p=${line%%:*}
		n=${p##*/}; n=${n%%.ko*}; n=${n//-/_}
		path[$n]=$p
		deps[$n]=${line#*:}
	done <"$moddir/modules.dep"
	visit() {
		local n=$1 d dn
		[[ -z ${seen[$n]:-} ]] || return 0
		seen[$n]=1
		if [[ -z ${path[$n]:-} ]]; then
			grep -qE "/${n//_/[-_]}\.ko(\.[a-z]+)?$" "$moddir/modules.builtin" 2>/dev/null && return 0
			skip "kernel $kver has no module $n"
		fi
		for d in ${deps[$n]}; do
			dn=${d##*/}; dn=${dn%%.ko*}; dn=${dn//-/_}
			visit "$dn"
		done
		echo "${path[$n]}"
	}
	local m
	for m in virtio_pci 9pnet_virtio 9p virtio_console; do visit "$m"; done
}

build_initramfs() {
	local rel base mods i=0
	mods=$(resolve_modules) # may SKIP; do it before creating anything
	stage=$(mktemp -d "$cache_dir/stage.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp,job,host,lib/modules}
	cp "$busybox" "$stage/bin/busybox"
	for a in $("$busybox" --list); do
		[[ $a == busybox ]] || ln -s busybox "$stage/bin/$a"
	done
	install -m 0755 "$here/guest-init.sh" "$stage/init"
	# busybox insmod cannot read compressed modules: decompress here.
	for rel in $mods; do
		base=${rel##*/}; base=$(printf '%02d-%s.ko' "$i" "${base%%.ko*}"); i=$((i + 1))
		case $rel in
		*.ko) cp "$moddir/$rel" "$stage/lib/modules/$base" ;;
		*.ko.xz) xz -dc "$moddir/$rel" >"$stage/lib/modules/$base" ;;
		*.ko.zst) zstd -qdc "$moddir/$rel" >"$stage/lib/modules/$base" ;;
		*.ko.gz) gzip -dc "$moddir/$rel" >"$stage/lib/modules/$base" ;;
		*) die "unknown module format: $rel" ;;
		esac
		echo "$base" >>"$stage/lib/modules/load.list"
	done
	# Uncompressed cpio: it is small (~3 MB) and saves a decompression step
	# that is slow under TCG.  Write to a temp name, then rename, so parallel
	# runs never see a half-written archive.
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) >"$stage.cpio"
	mv -f "$stage.cpio" "$initramfs"
	rm -rf "$stage"
	stage=
	# Drop stale archives for this kernel (older script versions).
	find "$cache_dir" -maxdepth 1 -name "initramfs-$kver-*.cpio" ! -name "${initramfs##*/}" -delete
}
# (an `if`, not `||`: set -e is off inside the left side of || lists)
if [[ ! -f $initramfs ]]; then build_initramfs; fi

# Boot an uncompressed vmlinux through the PVH entry point when the kernel
# supports it: decompressing the xz bzImage takes ~4 s under TCG, copying the
# ELF in takes nothing.  Extracted once per kernel (like the kernel's own
# scripts/extract-vmlinux); on any problem we fall back to the bzImage.
boot_kernel=$kernel
vmlinux=$cache_dir/vmlinux-$kver-$(stat -Lc '%s-%Y' "$kernel")
if [[ ! -f $vmlinux ]] && grep -qx 'CONFIG_PVH=y' "/boot/config-$kver" 2>/dev/null &&
	command -v xz >/dev/null; then
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$kernel" | head -n1 | cut -d: -f1 || true)
	if [[ -n $off ]] &&
		xz -dc --single-stream < <(tail -c +$((off + 1)) "$kernel") >"$vmlinux.tmp.$$" 2>/dev/null &&
		[[ $(head -c4 "$vmlinux.tmp.$$" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]; then
		mv -f "$vmlinux.tmp.$$" "$vmlinux"
		find "$cache_dir" -maxdepth 1 -name "vmlinux-$kver-*" ! -name "${vmlinux##*/}" -delete
	fi
	rm -f "$vmlinux.tmp.$$"
fi
[[ -f $vmlinux ]] && boot_kernel=$vmlinux

# ---------------------------------------------------------------- job files
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drover-vm.XXXXXX")

mkdir "$tmp/job"
{
	# The caller's cwd; it exists in the guest unless it is below one of
	# the guest's fresh tmpfs mounts (use --rw for that).
	printf 'cwd=%q\n' "$PWD"
	# shellcheck disable=SC2016  # expanded in the guest
	printf '%s\n' 'cd -- "$cwd" 2>/dev/null || { echo "'"$me"': cwd $cwd does not exist in the guest (/tmp, /run, /var/tmp and /root are empty tmpfs there; try --rw DIR)" >&2; exit 125; }' 'unset cwd OLDPWD'
	for kv in PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb \
		LANG=C.UTF-8 DROVER_VM=1; do
		printf 'export %q\n' "$kv"
	done
	for kv in "${user_env[@]}"; do
		name=${kv%%=*}
		[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "--env: bad variable name '$name'"
		[[ $kv == *=* ]] || kv="$name=${!name-}"
		printf 'export %q\n' "$kv"
	done
	printf 'exec --'
	printf ' %q' "$@"
	printf '\n'
} >"$tmp/job/cmd.sh"
echo "$vm_hostname" >"$tmp/job/hostname"
echo "$cgroup_opts" >"$tmp/job/cgroup-opts"
echo "$ninep_cache" >"$tmp/job/9p-cache"

# qemu option values use ',' as separator; a literal comma is written ',,'.
qesc() { printf '%s' "${1//,/,,}"; }

rw_args=()
: >"$tmp/job/rw.list"
for i in "${!rw_dirs[@]}"; do
	d=$(cd "${rw_dirs[$i]}" 2>/dev/null && pwd -P) || die "--rw: no such directory: ${rw_dirs[$i]}"
	[[ $d != *$'\n'* ]] || die "--rw: directory name contains a newline"
	rw_args+=(-virtfs "local,path=$(qesc "$d"),mount_tag=rw$i,security_model=none,multidevs=remap")
	echo "rw$i $d" >>"$tmp/job/rw.list"
done

# ---------------------------------------------------------------- output
# Each guest channel is a qemu "pipe" chardev: qemu writes to NAME.out (and
# would read NAME.in).  Readers copy to our stdout/stderr as data arrives.
for c in out err con; do mkfifo "$tmp/$c.in" "$tmp/$c.out"; done
# If the caller stops reading (e.g. `| head`), keep draining into /dev/null
# so the guest never blocks on a full pipe.
( exec 3<"$tmp/out.out"; cat <&3 || cat <&3 >/dev/null ) &
reader_pids+=($!)
( exec 3<"$tmp/err.out"; cat <&3 >&2 || cat <&3 >/dev/null ) &
reader_pids+=($!)
# The console log loses SeaBIOS's terminal-reset escapes and CRs, which would
# otherwise clear the caller's terminal.
console_filter() { sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' -e 's/\r$//' -e 's/\r/\n/g'; }
if ((verbose)); then
	( exec 3<"$tmp/con.out"; console_filter <&3 | tee "$tmp/console.log" >&2 ) &
else
	( exec 3<"$tmp/con.out"; console_filter <&3 >"$tmp/console.log" ) &
fi
reader_pids+=($!)

# ---------------------------------------------------------------- qemu
qemu_args=(
	-nodefaults -nographic -no-reboot -nic none
	# q35 rather than the default i440fx: its PCI interrupt routing needs no
	# ACPI link setup, which saves ~0.5 s of guest boot under TCG.
	-machine q35 -accel tcg -cpu max -smp 2 -m "$mem"
	-kernel "$boot_kernel" -initrd "$initramfs"
	# quiet: only errors reach the console (a log file, not CMD's output);
	# panic=-1: a panicking guest reboots, and -no-reboot ends qemu.
	-append "console=ttyS0 quiet panic=-1 rdinit=/init ${DROVER_VM_APPEND:-}"
	-chardev "pipe,id=con,path=$(qesc "$tmp/con")" -serial chardev:con
	-device virtio-serial-pci
	-chardev "pipe,id=out,path=$(qesc "$tmp/out")" -device virtserialport,chardev=out,name=drover.stdout
	-chardev "pipe,id=err,path=$(qesc "$tmp/err")" -device virtserialport,chardev=err,name=drover.stderr
	# The host root, read-only.  multidevs=remap keeps inode numbers unique
	# across the host's several mounts.
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$(qesc "$tmp/job"),mount_tag=job,security_model=none"
	"${rw_args[@]}"
)
start=$(date +%s.%N)
# `timeout` (in its own process group) kills qemu even if this script itself
# is killed with SIGKILL; --kill-after covers a qemu that ignores TERM.
timeout --kill-after=10 "$timeout_s" "$qemu" "${qemu_args[@]}" </dev/null >"$tmp/qemu.log" 2>&1 &
vm_pid=$!
vm_status=0
wait "$vm_pid" || vm_status=$?
vm_pid=
elapsed=$(date +%s.%N)

# qemu has exited: readers get EOF once the FIFOs are drained.
release_readers
for p in "${reader_pids[@]}"; do wait "$p" || true; done
reader_pids=()

console_tail() {
	local why
	why=$(grep -m3 -E 'Kernel panic|BUG:|Oops|Out of memory|vm-init: .*FATAL' "$tmp/console.log" || true)
	[[ -z $why ]] || printf '%s\n' "--- guest console says ---" "$why" >&2
	echo "--- last lines of the guest console ---" >&2
	tail -n 25 "$tmp/console.log" >&2 || true
	[[ -z $(tail -c1 "$tmp/console.log" 2>/dev/null) ]] || echo >&2 # unfinished last line
	if [[ -s $tmp/qemu.log ]]; then
		echo "--- qemu stderr ---" >&2
		tail -n 25 "$tmp/qemu.log" >&2
	fi
	echo "---" >&2
}

wall=$(awk -v a="$start" -v b="$elapsed" 'BEGIN { printf "%.1f", b - a }')
if ((verbose)) && [[ -f $tmp/job/started ]]; then
	echo "$me: VM wall time ${wall}s; command started at guest uptime $(cat "$tmp/job/started")s" >&2
fi

if [[ -f $tmp/job/rc ]]; then
	exit "$(cat "$tmp/job/rc")"
fi
if ((vm_status == 124 || vm_status == 137)); then
	if [[ -f $tmp/job/started ]]; then
		echo "$me: VM timed out after $timeout_s s (the command was still running)" >&2
	else
		echo "$me: VM timed out after $timeout_s s (during boot, before the command started)" >&2
		console_tail
	fi
	exit 124
fi
if [[ -f $tmp/job/init-error ]]; then
	echo "$me: guest setup failed: $(cat "$tmp/job/init-error")" >&2
	console_tail
	exit 125
fi
if ((vm_status != 0)); then
	echo "$me: qemu failed (exit status $vm_status) before the command finished" >&2
else
	echo "$me: the guest stopped without reporting an exit status (kernel panic, crash or OOM of init?)" >&2
fi
console_tail
exit 125
