#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# sign-image.sh: the one place where the project's scripts sign an image.
#
#   . scripts/sign-image.sh; sign_image IMAGE [--name NAME] [--generation N]
#                            image_copy SRC DST; image_generation IMAGE
#   scripts/sign-image.sh IMAGE [--name NAME] [--generation N]
#
# IMAGE is an image directory (or tftp://SERVER[:PORT]/PATH).  sign_image
# runs `lazyresume sign` (the host's build of the tool) with the machine's
# image signing key and certificate (scripts/keys.sh: the test key the
# client kernels trust, or the operator's LAZYRESUME_IMAGE_KEY and
# LAZYRESUME_IMAGE_CERT) and writes IMAGE/manifest.sig.  --name and
# --generation rewrite the manifest's name and generation before it is
# signed: a copy of an image under another name needs --name NAME to
# resume there.
#
# Signing happens here, on the host that stands for the admin host, right
# after each capture: never in a golden VM, which holds no key
# (Documentation/security.rst).  Sourced by scripts/e2e-resume.sh, the
# benchmarks that capture (scripts/bench-*.sh) and scripts/lab/lab.sh; the
# caller may set $here (the project root) first.

# sign_image IMAGE [lazyresume sign options]: sign IMAGE; prints what the
# tool says; fails, saying why, if it cannot.
sign_image() {
	local root tool keys key cert
	root=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
	tool=$root/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume
	[ -x "$tool" ] || {
		echo "sign-image: no $tool (make userspace)" >&2
		return 1
	}
	keys=$("$root/scripts/keys.sh") || return 1
	# "KEY CERT"; KEY is empty when only LAZYRESUME_IMAGE_CERT is set.
	key=${keys% *}
	cert=${keys##* }
	[ -n "$key" ] || {
		echo "sign-image: no signing key (LAZYRESUME_IMAGE_KEY) for $cert" >&2
		return 1
	}
	"$tool" sign "$1" --key "$key" --cert "$cert" "${@:2}"
}

# image_copy SRC DST: a copy of image directory SRC as DST (replaced if
# there), cheap and safe to change: the pagesets hard-linked (nothing
# writes them in place), the manifest, its signature, the loading set, the
# stream and the per-client settings copied (signing, a recording client's
# upload, make-stream and the scripts write those).  Its manifest still names SRC's image:
# sign_image DST --name NAME makes it resumable as NAME.
image_copy() {
	local src=$1 dst=$2 f
	rm -rf "$dst"
	cp -al "$src" "$dst"
	for f in manifest manifest.sig loadset stream; do
		if [ -e "$src/$f" ]; then
			cp --remove-destination "$src/$f" "$dst/$f"
		fi
	done
	if [ -d "$src/clients" ]; then
		rm -rf "$dst/clients"
		cp -r "$src/clients" "$dst/clients"
	fi
}

# image_generation IMAGE: print the generation in IMAGE's manifest (from
# lazyresume inspect), nothing if it has none.
image_generation() {
	local root=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
	"$root/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume" inspect "$1" |
		sed -n 's/^generation: *\([0-9][0-9]*\).*/\1/p'
}

# Run as a command: sign the image named.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	[ $# -ge 1 ] || {
		echo "usage: sign-image.sh IMAGE [--name NAME] [--generation N]" >&2
		exit 2
	}
	sign_image "$@"
fi
