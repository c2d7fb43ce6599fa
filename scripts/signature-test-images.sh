#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# signature-test-images.sh ROOT: the images the kselftests of the image
# signature check resume (tests/resume_test.c), in ROOT/sig/: each a
# one-page image of a kernel that is no real one (so that even an image
# the signature check lets through is refused just after it), of
# generation 5, named after its directory unless said otherwise:
#
#   unsigned    no manifest.sig
#   good        signed with the test image key the kernels trust
#   untrusted   signed with a key made here, which no kernel trusts
#   tampered    good's signature with its last byte changed
#   renamed     a copy of good: signed, but under another name
#
# Made anew on every run (milliseconds): the trusted key is the machine's
# (scripts/keys.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
root=$1
tool="$here/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume"
[ -x "$tool" ] || { echo "signature-test-images: no $tool" >&2; exit 1; }
read -r key cert < <("$here/scripts/keys.sh")

dir="$root/sig"
rm -rf "$dir"
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 8192 /dev/urandom >"$work/pageset1"
head -c 4096 /dev/urandom >"$work/pageset2"
openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 1 \
	-subj "/CN=lazyresume untrusted test key/" \
	-keyout "$work/untrusted.key" -out "$work/untrusted.crt" 2>/dev/null

make_image() {
	"$tool" image-create "$dir/$1" --pageset1 "$work/pageset1" \
		--pageset2 "$work/pageset2" --kernel-id "no such kernel" \
		--name "sig/$1" --generation 5 >/dev/null
}
for i in unsigned good untrusted tampered; do make_image "$i"; done
"$tool" sign "$dir/good" --key "$key" --cert "$cert" >/dev/null
"$tool" sign "$dir/tampered" --key "$key" --cert "$cert" >/dev/null
"$tool" sign "$dir/untrusted" --key "$work/untrusted.key" \
	--cert "$work/untrusted.crt" >/dev/null
# The last byte of a signature made without signed attributes is the
# last byte of the RSA signature itself.
python3 -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-1] ^= 1
open(p, "wb").write(b)' "$dir/tampered/manifest.sig"
cp -r "$dir/good" "$dir/renamed"
find "$dir" -type d -exec chmod 0755 {} +
find "$dir" -type f -exec chmod 0644 {} +
