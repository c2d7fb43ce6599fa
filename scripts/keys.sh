#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# keys.sh: the image signing key and certificate, made once per machine.
#
#   keys.sh            make them if absent; print "KEY CERT"
#   keys.sh --cert     print the certificate's path only
#
# A test key: an RSA-2048 key and a self-signed X.509 certificate (PEM)
# kept in the machine-wide cache (scripts/cache.sh), keys/, with build/keys
# pointing at it.  The client kernels trust the certificate
# (CONFIG_SYSTEM_TRUSTED_KEYS, scripts/build-kernel.sh) and the tests sign
# their images with the key.  It lives in the cache rather than under
# build/ so that every clone on the machine shares it: a certificate made
# anew per clone would make every clone rebuild its kernels.
#
# An operator signs with keys of their own, kept on an admin host
# (Documentation/security.rst): LAZYRESUME_IMAGE_KEY and
# LAZYRESUME_IMAGE_CERT name them, and then this script makes nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/cache.sh"

if [ -n "${LAZYRESUME_IMAGE_CERT:-}" ]; then
	key=${LAZYRESUME_IMAGE_KEY:-}
	cert=$LAZYRESUME_IMAGE_CERT
	[ -r "$cert" ] || { echo "keys: cannot read $cert" >&2; exit 1; }
else
	dir=$(cache_root)/keys
	key=$dir/image-signing.key
	cert=$dir/image-signing.crt
	if [ ! -s "$cert" ] || [ ! -s "$key" ]; then
		mkdir -p "$dir"
		tmp=$(mktemp -d "$dir/new.XXXXXX")
		(umask 077 && openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 \
			-days 36500 -subj "/CN=lazyresume test image signing key/" \
			-addext "keyUsage=critical,digitalSignature" \
			-addext "extendedKeyUsage=codeSigning" \
			-keyout "$tmp/image-signing.key" -out "$tmp/image-signing.crt" \
			2>/dev/null)
		# Another clone may have made them meanwhile: the first one wins.
		if [ ! -s "$cert" ]; then
			mv "$tmp/image-signing.key" "$key"
			mv "$tmp/image-signing.crt" "$cert"
			echo "keys: made a test image signing key, $key" >&2
		fi
		rm -rf "$tmp"
	fi
	mkdir -p "$here/build"
	ln -sfn "$dir" "$here/build/keys"
fi

if [ "${1:-}" = --cert ]; then
	echo "$cert"
else
	echo "$key $cert"
fi
