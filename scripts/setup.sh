#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything lazyresume needs on a Debian 12 machine, idempotently.
# Prints one line per item: "have" when it was already there, "installed"
# when this run installed it.  Safe to run any number of times.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/versions.sh"

say() { printf 'setup: %-28s %s\n' "$1" "$2"; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages.  tftpd-hpa and atftpd are NOT installed (both claim
# /usr/sbin/in.tftpd); they are unpacked side by side under build/ below.
# redis-server (with its libraries) goes into the guests' initramfs, the
# real application of scripts/bench-app.sh; redis-tools gives the host
# redis-cli.  (On a machine that runs systemd the package also starts a
# redis service on the host's 127.0.0.1:6379; the benchmark does not use
# it, its host forwards take free ports.)  dnsmasq-base (the binary, no
# service) and nftables (nft; Debian leaves its service disabled) are the
# diskless lab's DHCP/PXE server and packet loss (scripts/lab/).
# python3-matplotlib plots resume timelines and boot storms
# (scripts/plot-timeline.py, scripts/plot-storm.py).
debs=(
	bc bison busybox-static clang cpio dnsmasq-base dwarves file flex gcc git
	ipxe-qemu iproute2 kmod libc6-dev libclang-dev libelf-dev libssl-dev libwrap0 openssl
	lld llvm make nftables python3 python3-matplotlib qemu-system-x86 redis-server
	redis-tools rsync shellcheck xz-utils
)

missing=()
for p in "${debs[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		:
	else
		missing+=("$p")
	fi
done

src_pkg=linux-source-6.12
src_have=$(dpkg-query -W -f='${Status} ${Version}' "$src_pkg" 2>/dev/null || true)

apt_updated=
apt_update_once() {
	if [ -z "$apt_updated" ]; then
		as_root apt-get update -qq
		apt_updated=1
	fi
}

if [ ${#missing[@]} -gt 0 ]; then
	apt_update_once
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
	say "debian packages" "installed: ${missing[*]}"
else
	say "debian packages" "have all ${#debs[@]}"
fi

# The kernel source: pinned to the version we tested.
if [[ "$src_have" == "install ok installed $KERNEL_DEB_VERSION" ]]; then
	say "$src_pkg" "have $KERNEL_DEB_VERSION"
else
	apt_update_once
	avail=$(apt-cache madison "$src_pkg")
	if grep -qF "| $KERNEL_DEB_VERSION |" <<<"$avail"; then
		DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
			--no-install-recommends --allow-downgrades \
			"$src_pkg=$KERNEL_DEB_VERSION" >/dev/null
		say "$src_pkg" "installed $KERNEL_DEB_VERSION"
	else
		DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
			--no-install-recommends "$src_pkg" >/dev/null
		got=$(dpkg-query -W -f='${Version}' "$src_pkg")
		cat >&2 <<-EOF
		setup: ################################################################
		setup: WARNING: $src_pkg $KERNEL_DEB_VERSION is gone from the archive.
		setup: WARNING: installed the newest one instead: $got
		setup: WARNING: the patch series was tested on $KERNEL_DEB_VERSION only.
		setup: ################################################################
		EOF
	fi
fi

# Rust: the kernel build needs the standard library source and bindgen.
if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	say "rust-src" "have"
else
	rustup component add rust-src >/dev/null
	say "rust-src" "installed"
fi
for c in rustfmt clippy; do
	if rustup component list --installed 2>/dev/null | grep -q "^$c"; then
		say "$c" "have"
	else
		rustup component add "$c" >/dev/null
		say "$c" "installed"
	fi
done

bindgen_have=$(bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$bindgen_have" = "$BINDGEN_VERSION" ]; then
	say "bindgen-cli" "have $BINDGEN_VERSION"
else
	cargo install --quiet --locked --version "$BINDGEN_VERSION" bindgen-cli
	say "bindgen-cli" "installed $BINDGEN_VERSION"
fi

fuzz_have=$(cargo fuzz --version 2>/dev/null | awk '{print $2}' || true)
if [ "$fuzz_have" = "$CARGO_FUZZ_VERSION" ]; then
	say "cargo-fuzz" "have $CARGO_FUZZ_VERSION"
else
	cargo install --quiet --locked --version "$CARGO_FUZZ_VERSION" cargo-fuzz
	say "cargo-fuzz" "installed $CARGO_FUZZ_VERSION"
fi

# The two TFTP servers, unpacked side by side (never installed).
mkdir -p "$here/build/servers"
for s in tftpd-hpa atftpd; do
	dir="$here/build/servers/$s"
	if [ -x "$dir/usr/sbin/in.tftpd" ] || [ -x "$dir/usr/sbin/atftpd" ]; then
		say "$s" "have (build/servers/$s)"
		continue
	fi
	apt_update_once
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -qq "$s" >/dev/null 2>&1)
	rm -rf "$dir"
	dpkg -x "$tmp"/"$s"_*.deb "$dir"
	rm -rf "$tmp"
	say "$s" "unpacked into build/servers/$s"
done
