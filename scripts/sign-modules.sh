# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# sign-modules.sh: sourced by the scripts that build modules out of tree
# against one of our kernels (build-module.sh, bench-sha256.sh), which
# load only signed modules (CONFIG_MODULE_SIG_FORCE).
#
#   . scripts/sign-modules.sh; sign_modules KDIR KO...

# sign_modules KDIR KO...: sign each KO with the module key of the kernel
# build KDIR, unless it is signed already: sign-file appends a signature,
# and a module Kbuild did not relink has one and must not get a second.
sign_modules() {
	local kdir=$1 ko marker='~Module signature appended~'
	shift
	for ko in "$@"; do
		if ! tail -c 28 "$ko" | grep -qF "$marker"; then
			"$kdir/scripts/sign-file" sha256 "$kdir/certs/signing_key.pem" \
				"$kdir/certs/signing_key.x509" "$ko"
		fi
	done
}
