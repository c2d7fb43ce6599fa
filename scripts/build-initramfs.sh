#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-initramfs.sh FLAVOUR: pack build/initramfs/FLAVOUR.cpio.gz from
# busybox-static, the modules built for FLAVOUR (lazyresume.ko and
# lazyresume_test.ko), the static userspace tools
# (lazyresume and the test workload) and the in-guest kselftests (run by
# the kernel's run_kselftest.sh): those
# of lazyresume and the mm regression subset.  The baseline flavour (the
# unpatched kernel) has no module.
#
# The release and debug flavours also get build/initramfs/FLAVOUR-client.cpio.gz,
# the archive of the machines that capture and resume (the end-to-end
# scenarios, the lab, the demo and the resume benchmarks): the same
# without lazyresume_test.ko, the kselftests and the benchmarks, as a
# diskless client's would be, so that what they test is the production
# module alone.
#
# The release and debug flavours also get build/initramfs/FLAVOUR-redis.cpio.gz
# for lrapp=redis (scripts/bench-app.sh): the client archive followed by a
# second one (the kernel unpacks both) with redis-server and redis-cli
# from Debian's packages (installed by scripts/setup.sh), the shared
# libraries they need and the dynamic loader: 18 MiB unpacked, 7 MiB
# packed, which every boot of FLAVOUR.cpio.gz would otherwise unpack too.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:?usage: build-initramfs.sh release|debug|baseline}
kdir="$here/build/kernel/$flavour"
ksrc=$(readlink -f "$kdir/source")
kver=$(cat "$kdir/include/config/kernel.release")
# The module, and the same with the requests of the tests (Kbuild).
ko="$here/build/module/$flavour/rust/lazyresume.ko"
ko_test="$here/build/module/$flavour/rust/lazyresume_test.ko"
[ "$flavour" = baseline ] && ko='' ko_test=
tool="$here/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume"
workload="$tool-workload"
for f in $ko $ko_test "$tool" "$workload" /bin/busybox; do
	[ -e "$f" ] || { echo "build-initramfs: missing $f" >&2; exit 1; }
done
redis=()
if [ "$flavour" != baseline ]; then
	redis=(/usr/bin/redis-server /usr/bin/redis-cli)
	for f in "${redis[@]}"; do
		[ -x "$f" ] || {
			echo "build-initramfs: missing $f (Debian's redis-server and redis-tools: run make setup)" >&2
			exit 1
		}
	done
fi

root="$here/build/initramfs/$flavour.root"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list-full); do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
install -m 0755 "$here/scripts/guest/init" "$root/init"
rm -f "$root/usr/bin/timeout"
install -m 0755 "$here/scripts/guest/timeout" "$root/usr/bin/timeout"
[ -n "$ko" ] && install -D -m 0644 "$ko" "$root/lib/modules/$kver/extra/lazyresume.ko"
[ -n "$ko_test" ] && install -D -m 0644 "$ko_test" \
	"$root/lib/modules/$kver/extra/lazyresume_test.ko"
install -m 0755 "$tool" "$root/usr/bin/lazyresume"
install -m 0755 "$workload" "$root/usr/bin/lazyresume-workload"
install -D -m 0755 "$here/scripts/guest/post-resume.sh" "$root/etc/lazyresume/post-resume.sh"
# The kernel log check of every guest run, with the KTAP helpers it
# sources (the kselftests have their own copy in /ktests).
install -D -m 0755 "$here/tests/kernel_log_clean.sh" "$root/usr/libexec/lazyresume/kernel_log_clean.sh"
install -m 0644 "$ksrc/tools/testing/selftests/kselftest/ktap_helpers.sh" "$root/usr/libexec/lazyresume/"
install -D -m 0755 "$here/scripts/guest/bench-tftp.sh" "$root/bench/tftp.sh"
cc -O2 -Wall -Werror -static -I"$here/include/uapi" \
	-o "$root/bench/fault_latency" "$here/bench/fault_latency.c"
cc -O2 -Wall -Werror -static -pthread \
	-o "$root/bench/uffd_latency" "$here/bench/uffd_latency.c"

# The in-guest tests, laid out as a kselftest install tree.
kt="$root/ktests"
mkdir -p "$here/build/tests/$flavour"
mkdir -p "$kt/kselftest"
make -s -C "$here/tests" KSRC="$ksrc" OUTPUT="$here/build/tests/$flavour" \
	KHDR_INCLUDES="-isystem $kdir/usr/include" \
	install INSTALL_PATH="$kt/lazyresume" >/dev/null
make -s -C "$here/tests" KSRC="$ksrc" OUTPUT="$here/build/tests/$flavour" \
	emit_tests >"$kt/kselftest-list.txt"
"$here/scripts/build-mm-selftests.sh" "$kdir" "$here/build/tests/$flavour-mm" \
	>>"$kt/kselftest-list.txt"
cp -r "$here/build/tests/$flavour-mm/mm" "$kt/"
cp "$ksrc/tools/testing/selftests/run_kselftest.sh" "$kt/"
cp "$ksrc/tools/testing/selftests/kselftest/runner.sh" \
	"$ksrc/tools/testing/selftests/kselftest/ktap_helpers.sh" "$kt/kselftest/"

# pack OUT [FIND-ARGS...]: the files of $root that FIND-ARGS select (all
# by default) into the archive OUT.
pack() {
	local out=$1
	shift
	(cd "$root" && find . "$@" | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n) >"$out.tmp"
	mv "$out.tmp" "$out"
	echo "build-initramfs: $out ($(du -k "$out" | cut -f1) KiB, kernel $kver)"
}
out="$here/build/initramfs/$flavour.cpio.gz"
pack "$out"
if [ -n "$ko" ]; then
	pack "$here/build/initramfs/$flavour-client.cpio.gz" \
		\( -path ./ktests -o -path ./bench -o -name lazyresume_test.ko \) -prune -o -print
fi

# redis (lrapp=redis), in its own archive: the programs under their own
# names (redis-server is a symlink to redis-check-rdb, and the program acts
# by the name it is run as), the data set's generator, every library ldd
# lists at its path, and the dynamic loader.
if [ ${#redis[@]} -gt 0 ]; then
	app="$here/build/initramfs/$flavour-redis.root"
	rm -rf "$app"
	mkdir -p "$app/usr/bin" "$app/bench"
	cc -O2 -Wall -Werror -static -o "$app/bench/redis_fill" "$here/bench/redis_fill.c"
	for f in "${redis[@]}"; do
		cp -L "$f" "$app$f"
	done
	libs=$(ldd "${redis[@]}" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' | sort -u)
	[ -n "$libs" ] || { echo "build-initramfs: ldd found no libraries for redis" >&2; exit 1; }
	for lib in $libs; do
		install -D -m 0755 "$(readlink -f "$lib")" "$app$lib"
	done
	app_out="$here/build/initramfs/$flavour-redis.cpio.gz"
	{
		cat "$here/build/initramfs/$flavour-client.cpio.gz"
		(cd "$app" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n)
	} >"$app_out.tmp"
	mv "$app_out.tmp" "$app_out"
	echo "build-initramfs: $app_out ($(du -k "$app_out" | cut -f1) KiB, with redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'))"
fi
