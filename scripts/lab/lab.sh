# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# lab.sh: the diskless lab, a library sourced by scripts/lab/lab-up,
# lab-down, lab-demo and the lab tests (with $here set to the project
# root).  One network namespace of its own holds everything:
#
#   br0        a Linux bridge, 10.77.0.1/24 (dnsmasq) and 10.77.0.2/24
#              (tftpd-hpa, the image server), and fd77::1/64 for the
#              router advertisements; no default route, nothing else: no
#              address of it leaves the namespace
#   lrtapN     one tap per client VM, a port of br0, with a tbf qdisc for
#              the link rate (lab_rate)
#   dnsmasq    DHCP (fixed addresses per MAC, no router option, no DNS)
#              and PXE: a client whose firmware is iPXE gets the boot file
#              lab.ipxe, served by dnsmasq's own TFTP with the kernel and
#              the initramfs; and a second dnsmasq that only answers
#              IPv6 router solicitations (below)
#   tftpd-hpa  the image server: LAB_IMAGES, read-only, blksize 65464
#   nftables   table bridge lazyresume_lab: packet loss (lab_loss) on the
#              image server's datagrams, both directions, numgen random
#
# A client is QEMU run inside the namespace (ip netns exec) with its NIC
# on a tap and no -kernel: -boot n, QEMU's iPXE ROM (Debian's ipxe-qemu)
# does DHCP, fetches lab.ipxe, then the kernel and the initramfs over
# TFTP, and boots them with the command line lab.ipxe carries: the image
# server, the image name and the fault policy reach the client there.
#
# State lives in LAB_DIR (build/lab/NAME): the configuration, the PXE
# root, the servers' pids and logs.  Every wait is bounded.
#
# Images are signed on the host right after their capture
# (scripts/sign-image.sh), as on an admin host; the iPXE script carries
# the image's generation to the clients (lrmingen, --min-generation), as
# a real boot configuration would.

: "${here:?}"
# shellcheck source=scripts/sign-image.sh
. "$here/scripts/sign-image.sh"
LAB_NET=10.77.0
LAB_DHCP_ADDR=$LAB_NET.1
LAB_IMAGE_ADDR=$LAB_NET.2
LAB_MIRROR_ADDR=$LAB_NET.3
# The lab's IPv6 prefix (unique local), for router advertisements only.
LAB_PREFIX6=fd77::

# lab_init NAME: set LAB_NAME, LAB_NS and LAB_DIR for lab NAME.
lab_init() {
	LAB_NAME=${1:-lab}
	LAB_NS=lazyresume-$LAB_NAME
	LAB_DIR=$here/build/lab/$LAB_NAME
}

# lab_ns CMD...: run CMD in the lab's namespace.
lab_ns() { ip netns exec "$LAB_NS" "$@"; }

# lab_wait_udp ADDR PORT: until something listens there (at most 5 s).
lab_wait_udp() {
	local _
	for _ in $(seq 50); do
		lab_ns ss -Hlun "src $1 and sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	echo "lab: nothing listens on udp $1:$2" >&2
	return 1
}

# lab_up KERNEL INITRD IMAGES: create the namespace, the bridge and the
# servers; PXE clients boot KERNEL + INITRD, images come from IMAGES.
# Refuses (status 1, a message) when the namespace cannot be made or
# already exists.
lab_up() {
	local kernel=$1 initrd=$2 images=$3 b
	for b in ip tc nft dnsmasq qemu-system-x86_64; do
		command -v "$b" >/dev/null || {
			echo "lab: $b is missing (make setup installs it)" >&2
			return 1
		}
	done
	[ -x "$here/build/servers/tftpd-hpa/usr/sbin/in.tftpd" ] || {
		echo "lab: no tftpd-hpa under build/servers (make setup)" >&2
		return 1
	}
	if ip netns list | grep -qw "^$LAB_NS"; then
		echo "lab: namespace $LAB_NS exists already (scripts/lab/lab-down $LAB_NAME)" >&2
		return 1
	fi
	mkdir -p "$(dirname "$LAB_DIR")"
	if ! ip netns add "$LAB_NS" 2>"$LAB_DIR.err"; then
		echo "lab: cannot create network namespace $LAB_NS: $(cat "$LAB_DIR.err")" \
			"(the lab needs root and CAP_NET_ADMIN)" >&2
		rm -f "$LAB_DIR.err"
		return 1
	fi
	rm -f "$LAB_DIR.err"
	rm -rf "$LAB_DIR"
	mkdir -p "$LAB_DIR/pxe"
	LAB_IMAGES=$(readlink -f "$images")
	echo "$LAB_IMAGES" >"$LAB_DIR/images"
	lab_ns ip link set lo up
	lab_ns ip link add br0 type bridge
	lab_ns ip addr add "$LAB_DHCP_ADDR/24" dev br0
	lab_ns ip addr add "$LAB_IMAGE_ADDR/24" dev br0
	lab_ns ip -6 addr add "${LAB_PREFIX6}1/64" dev br0 nodad
	lab_ns ip link set br0 up
	# The boot files, served by dnsmasq's TFTP.
	cp "$kernel" "$LAB_DIR/pxe/bzImage"
	cp "$initrd" "$LAB_DIR/pxe/initrd.cpio.gz"
	lab_script 'lrmode=client'
	cat >"$LAB_DIR/dnsmasq.conf" <<-CONF
	# No DNS; DHCP and TFTP on br0's first address only (tftpd-hpa has
	# port 69 of the second).
	port=0
	listen-address=$LAB_DHCP_ADDR
	bind-interfaces
	dhcp-range=$LAB_NET.100,$LAB_NET.199,255.255.255.0,1h
	# No router: the lab has no way out.
	dhcp-option=option:router
	dhcp-leasefile=$LAB_DIR/leases
	# Fixed addresses per MAC (lab_client_tap), reread on SIGHUP.
	dhcp-hostsfile=$LAB_DIR/dhcp-hosts
	# QEMU's ROM is iPXE, which says so in its user class: it gets the
	# lab's iPXE script.  (Other PXE firmware would first chainload
	# iPXE; the lab's clients need not.)
	dhcp-userclass=set:ipxe,iPXE
	dhcp-boot=tag:ipxe,lab.ipxe
	# iPXE's option 175.176, no-pxedhcp: this offer is all there is, so
	# iPXE requests it at once instead of waiting 2 s for a ProxyDHCP
	# offer (its DHCP_DISC_PROXY_TIMEOUT_SEC).
	dhcp-option=tag:ipxe,encap:175,176,1
	enable-tftp
	tftp-root=$LAB_DIR/pxe
	user=root
	log-dhcp
	log-facility=$LAB_DIR/dnsmasq.log
	CONF
	: >"$LAB_DIR/dhcp-hosts"
	lab_ns dnsmasq --conf-file="$LAB_DIR/dnsmasq.conf" --keep-in-foreground \
		--pid-file="$LAB_DIR/dnsmasq.pid" </dev/null >>"$LAB_DIR/dnsmasq.log" 2>&1 &
	echo $! >"$LAB_DIR/dnsmasq.pid"
	lab_wait_udp "$LAB_DHCP_ADDR" 69 || return 1
	# iPXE configures IPv6 beside DHCP and boots only once both are done:
	# with no router advertisement it solicits one for 13 s (every PXE
	# boot waited that long, measured with tcpdump on br0).  A second
	# dnsmasq answers on br0 with RAs of the lab's prefix, no default
	# route (lifetime 0) and nothing else (no DNS, no DHCP): the first
	# one cannot, because RAs need interface=br0, which would also bind
	# its TFTP to the image servers' addresses.
	lab_ns dnsmasq --port=0 --interface=br0 --bind-interfaces --enable-ra \
		--dhcp-range="$LAB_PREFIX6,ra-only" --ra-param=br0,60,0 --user=root \
		--log-facility="$LAB_DIR/ra.log" --pid-file="$LAB_DIR/ra.pid" </dev/null ||
		return 1
	lab_hpa "$LAB_IMAGE_ADDR" hpa || return 1
	# The loss is on the bridge, as on a wire: a drop in the IP output
	# hook would fail the server's send() with EPERM, and tftpd-hpa and
	# dnsmasq abort a transfer whose send fails.
	lab_ns nft -f - <<-NFT
	table bridge lazyresume_lab {
		chain out { type filter hook output priority 0; policy accept; }
		chain in { type filter hook input priority 0; policy accept; }
	}
	NFT
	echo "lab: $LAB_NS up: bridge br0, dnsmasq $LAB_DHCP_ADDR, tftpd-hpa $LAB_IMAGE_ADDR, state in $LAB_DIR"
}

# lab_hpa ADDR NAME: tftpd-hpa serving LAB_IMAGES on ADDR:69 (an address
# of br0), its pid and log LAB_DIR/NAME.pid and .log.
# LAB_HPA_RETRANSMIT_US: its retransmission timeout (tftpd-hpa's own
# default, 1 s, when unset): a lockstep server resends a lost block only
# on its timer, whatever the client does (Documentation/lab.rst).
lab_hpa() {
	lab_ns "$here/build/servers/tftpd-hpa/usr/sbin/in.tftpd" --listen \
		--address "$1:69" --user nobody --secure \
		--blocksize 65464 --pidfile "$LAB_DIR/$2.pid" \
		${LAB_HPA_RETRANSMIT_US:+--retransmit "$LAB_HPA_RETRANSMIT_US"} \
		"$LAB_IMAGES" >"$LAB_DIR/$2.log" 2>&1
	lab_wait_udp "$1" 69
}

# lab_mirror_up: a second image server, the mirror, on
# LAB_MIRROR_ADDR:69 with the same images (after lab_up).  The loss rule
# spares it.
lab_mirror_up() {
	lab_ns ip addr add "$LAB_MIRROR_ADDR/24" dev br0
	lab_hpa "$LAB_MIRROR_ADDR" hpa-mirror
}

# lab_image_server_gone: the image server (not the mirror) falls silent
# for good, as one that lost its network: its address leaves br0, so
# nothing it sends leaves and nothing reaches it.
lab_image_server_gone() {
	lab_ns ip addr del "$LAB_IMAGE_ADDR/24" dev br0
}

# lab_script ARGS...: (re)write the iPXE script: the kernel command line
# of every client that boots next (the image, server and policy go here).
lab_script() {
	cat >"$LAB_DIR/pxe/lab.ipxe" <<-IPXE
	#!ipxe
	echo lazyresume lab: PXE boot of \${net0/mac} as \${net0/ip}
	kernel tftp://$LAB_DHCP_ADDR/bzImage console=ttyS0 panic=-1 ip=dhcp $*
	initrd tftp://$LAB_DHCP_ADDR/initrd.cpio.gz
	boot
	IPXE
}

# lab_client_tap N MAC IP: tap lrtapN on br0 and a fixed DHCP address IP
# for MAC (dnsmasq rereads its hosts file on SIGHUP).
lab_client_tap() {
	local tap=lrtap$1
	lab_ns ip tuntap add dev "$tap" mode tap
	lab_ns ip link set "$tap" master br0
	lab_ns ip link set "$tap" up
	echo "$2,$3" >>"$LAB_DIR/dhcp-hosts"
	lab_hosts_reload
	[ -n "${LAB_RATE:-}" ] && lab_tbf "$tap" "$LAB_RATE"
	return 0
}

# lab_hosts_reload: dnsmasq takes the fixed addresses of dhcp-hosts.
lab_hosts_reload() {
	local pid
	pid=$(cat "$LAB_DIR/dnsmasq.pid")
	kill -HUP "$pid"
	sleep 0.2
}

# lab_tbf TAP RATE: the link to the client at RATE (tc units, 100mbit).
lab_tbf() {
	lab_ns tc qdisc replace dev "$1" root tbf rate "$2" burst 256kb latency 20ms
}

# lab_rate RATE: every client link (and those added later) at RATE, or
# unlimited with "none".
lab_rate() {
	local t
	LAB_RATE=$1
	[ "$1" = none ] && LAB_RATE=
	for t in $(lab_ns ip -o link show master br0 | awk -F': ' '{print $2}' | cut -d@ -f1); do
		if [ -n "$LAB_RATE" ]; then
			lab_tbf "$t" "$LAB_RATE"
		else
			lab_ns tc qdisc del dev "$t" root 2>/dev/null || true
		fi
	done
}

# lab_loss PCT: drop PCT % of the image server's datagrams, each way
# (0 takes the rules away), on the bridge: what the server sends out of
# br0, what the clients send into it.  A datagram larger than the MTU
# leaves in fragments; the rules see frames and drop only first fragments
# (and whole datagrams), so that PCT % of the datagrams are lost, not of
# the frames (a block of 64 KiB is 45 frames).  DHCP and the PXE boot
# files are spared: the loss is there to test lazyresume's TFTP client,
# not iPXE's.
lab_loss() {
	lab_ns nft flush chain bridge lazyresume_lab out
	lab_ns nft flush chain bridge lazyresume_lab in
	[ "$1" = 0 ] && return 0
	lab_ns nft add rule bridge lazyresume_lab out ether type ip ip saddr "$LAB_IMAGE_ADDR" \
		ip frag-off and 0x1fff == 0 numgen random mod 100 "<" "$1" counter drop
	lab_ns nft add rule bridge lazyresume_lab in ether type ip ip daddr "$LAB_IMAGE_ADDR" \
		ip frag-off and 0x1fff == 0 numgen random mod 100 "<" "$1" counter drop
}

# lab_dropped: how many packets the loss rules dropped so far.
lab_dropped() {
	lab_ns nft list table bridge lazyresume_lab |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}

# lab_boot NAME N MAC TIMEOUT: PXE-boot client VM NAME on lrtapN (made
# with lab_client_tap) in the background, through qemu-run.sh --tap; its
# pid is in $lab_pid, the run directory is the last line of
# LAB_DIR/NAME.out once it ended.
lab_boot() {
	lab_ns "$here/scripts/qemu-run.sh" --name "lab-$1" --timeout "$4" \
		--mem "${LAB_MEM:-1024}" --tap "lrtap$2" --mac "$3" \
		>"$LAB_DIR/$1.out" 2>&1 &
	# shellcheck disable=SC2034 # for the caller
	lab_pid=$!
}

# lab_down: stop every QEMU in the namespace and the servers, delete the
# namespace (and with it its taps, bridge and nftables).  Safe to call
# twice and on a lab half made.
lab_down() {
	local p pids _
	if ip netns list | grep -qw "^$LAB_NS"; then
		pids=$(ip netns pids "$LAB_NS" 2>/dev/null || true)
		for p in $pids; do kill "$p" 2>/dev/null || true; done
		for _ in $(seq 50); do
			[ -z "$(ip netns pids "$LAB_NS" 2>/dev/null)" ] && break
			sleep 0.1
		done
		for p in $(ip netns pids "$LAB_NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$LAB_NS"
	fi
	rm -f "$LAB_DIR"/*.pid
}

# lab_golden FLAVOUR MIB: the boot files of the FLAVOUR kernel, copied
# for the PXE root, and image golden of the test workload (MIB MiB)
# captured for them (lab_capture, kept while they stay the same); sets
# LAB_KERNEL, LAB_INITRD and LAB_GOLDEN_IMAGES (the images directory).
lab_golden() {
	local boot="$here/build/lab/boot-$1"
	mkdir -p "$boot"
	cp "$here/build/kernel/$1/arch/x86/boot/bzImage" "$boot/bzImage"
	cp "$here/build/initramfs/$1-client.cpio.gz" "$boot/initrd.cpio.gz"
	LAB_KERNEL=$boot/bzImage
	LAB_INITRD=$boot/initrd.cpio.gz
	LAB_GOLDEN_IMAGES=$here/build/lab/images-$1
	lab_capture "$LAB_KERNEL" "$LAB_INITRD" "$LAB_GOLDEN_IMAGES" golden "$2"
}

# lab_capture KERNEL INITRD IMAGES NAME MIB [KIND [ARG...]]: a golden VM
# with the test workload of MIB MiB captures image NAME into IMAGES,
# through the end-to-end tests' path (QEMU user networking, tftpd-hpa on
# 127.0.0.1): the image depends on the kernel and the workload only, not
# on the network it was captured on, and that path is the tested one.
# KIND: "lazy" (the default: every user page in pageset2), "stream" (lazy,
# then the host writes the image's stream, lazyresume make-stream, as
# scripts/bench-resume.sh does) or "eager" (lreager=1: nothing in
# pageset2).  ARGs go on the golden VM's command line (e.g. quiet).  The
# golden VM has LAB_MEM MiB (1024), as lab_boot's clients: a restore
# needs the memory map of the capture.  Signed on the host right after
# the capture.  Kept while KERNEL, INITRD, MIB, KIND, the ARGs and
# LAB_MEM are the same (LAB_RECAPTURE=1 forces it); a kept image not
# signed yet is signed.
lab_capture() {
	local kernel=$1 initrd=$2 images=$3 name=$4 mib=$5 kind=${6:-lazy} stamp srv rc=0 run
	local mem=${LAB_MEM:-1024} opts=''
	local args="${*:7}"
	case "$kind" in
	lazy | stream) ;;
	eager) opts=lreager=1 ;;
	*)
		echo "lab: unknown capture kind $kind (lazy, stream, eager)" >&2
		return 1
		;;
	esac
	stamp="$(sha256sum "$kernel" "$initrd" | cut -d' ' -f1 | tr '\n' ' ')mib=$mib"
	# The stamp of a default capture is what it always was.
	if [ "$kind" != lazy ] || [ -n "$args" ] || [ "$mem" != 1024 ]; then
		stamp="$stamp kind=$kind mem=$mem args=$args"
	fi
	if [ "${LAB_RECAPTURE:-0}" != 1 ] && [ -r "$images/$name/manifest" ] &&
		[ "$(cat "$images/$name.stamp" 2>/dev/null)" = "$stamp" ]; then
		echo "lab: image $name in $images is current"
		if [ ! -s "$images/$name/manifest.sig" ]; then
			sign_image "$images/$name" || return 1
		fi
		return 0
	fi
	rm -rf "${images:?}/$name" "$images/$name.stamp"
	mkdir -p "$images/$name" "$here/build/runs"
	chmod 0777 "$images/$name"
	srv=$(mktemp -d "$here/build/runs/lab-capture.XXXX")
	"$here/scripts/tftp-servers.sh" start-hpa "$images" "$srv"
	# shellcheck source=/dev/null
	. "$srv/servers.env"
	"$here/scripts/qemu-run.sh" --name lab-golden --timeout 900 --mem "$mem" \
		--kernel "$kernel" --initrd "$initrd" --mac 52:54:00:77:00:10 \
		--append "ip=dhcp $args lrmib=$mib lrmode=golden lrimage=$name lrserver=10.0.2.2:$HPA_PORT $opts" \
		>"$srv/golden.out" 2>&1 || rc=$?
	"$here/scripts/tftp-servers.sh" stop "$srv"
	run=$(tail -1 "$srv/golden.out")
	# The capture powers the golden VM off: no verdict (2) is its success.
	if [ "$rc" != 2 ] || ! grep -aq "^capture: image $name in " "$run/result.log"; then
		cat "$srv/golden.out" "$run/result.log" >&2
		echo "lab: the capture of $name failed (qemu-run status $rc)" >&2
		return 1
	fi
	grep -a '^capture: image' "$run/result.log"
	# The stream, on the host as an admin host would, before the
	# signature (bench-resume.sh's order).
	if [ "$kind" = stream ]; then
		"$here/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume" make-stream \
			"$images/$name" || return 1
	fi
	# Signed here, never in the golden VM.
	sign_image "$images/$name" || return 1
	"$here/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume" verify "$images/$name" \
		--cert "$("$here/scripts/keys.sh" --cert)" || return 1
	echo "$stamp" >"$images/$name.stamp"
}
