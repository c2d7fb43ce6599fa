#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# series.sh: work on the kernel patch series as git commits.
#
#   series.sh tree DIR            a git tree of the kernel source in DIR,
#                                 the series applied by git am on branch
#                                 lazyresume, on top of the tag
#                                 lazyresume-base (the imported source)
#   series.sh export DIR [-v N]   regenerate patches/ from DIR's commits
#                                 since lazyresume-base with git
#                                 format-patch --cover-letter (version N,
#                                 by default the cover letter's current one)
#
# Edit the patches as commits in DIR (git commit --amend -s, git rebase
# -i), then export.  The cover letter's subject and text are kept from
# patches/0000-cover-letter.patch (edit them there, including an "RFC"
# before "PATCH" in its subject); its shortlog, diffstat and base commit
# are regenerated.  Patches keep their commits' authors and
# Signed-off-by lines; the cover letter is from this repository's git
# user.  The base commit is the import of Debian's linux-source-6.12
# (upstream 6.12.y plus Debian's patches), made the same way everywhere.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
patches=$here/patches
cover=$patches/0000-cover-letter.patch
. "$here/scripts/kernel-source.sh"

usage() {
	sed -n 's/^#   //p' "$0" >&2
	exit 2
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage

case "$cmd" in
tree)
	if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
		echo "series: $dir exists and is not empty" >&2
		exit 1
	fi
	mkdir -p "$dir"
	ksrc_import "$dir"
	ksrc_am "$dir" "$patches"
	echo "series: $dir: $(ksrc_series "$patches" | wc -l) commits on lazyresume-base"
	;;
export)
	shift 2
	version=
	if [ "${1:-}" = -v ]; then
		version=${2:?-v needs a number}
	fi
	git -C "$dir" rev-parse -q --verify lazyresume-base >/dev/null || {
		echo "series: $dir has no lazyresume-base tag (made by 'series.sh tree')" >&2
		exit 1
	}
	# What is exported is the branch: refuse a tree in the middle of
	# something, or looking at another branch.
	gitdir=$(git -C "$dir" rev-parse --absolute-git-dir)
	if [ -d "$gitdir/rebase-merge" ] || [ -d "$gitdir/rebase-apply" ] ||
		[ "$(git -C "$dir" symbolic-ref -q --short HEAD)" != lazyresume ] ||
		! git -C "$dir" diff --quiet HEAD; then
		echo "series: $dir is not on a clean branch lazyresume (a rebase or am under way, another branch, or uncommitted changes)" >&2
		exit 1
	fi
	# Subject and text of the current cover letter.
	desc=$(mktemp)
	out=$(mktemp -d)
	trap 'rm -rf "$desc" "$out"' EXIT
	rfc=()
	if [ -f "$cover" ]; then
		python3 "$here/scripts/cover-letter-text.py" "$cover" >"$desc"
		[ -n "$version" ] || version=$(sed -n '1s/^v\([0-9]*\).*/\1/p' "$desc")
		sed -n '1{/ rfc$/q0};q1' "$desc" && rfc=(--rfc)
		sed -i 1d "$desc"
	else
		printf '*** SUBJECT HERE ***\n\n*** BLURB HERE ***\n' >"$desc"
	fi
	version=${version:-1}
	name=$(git -C "$here" config user.name || true)
	email=$(git -C "$here" config user.email || true)
	if [ -z "$name" ] || [ -z "$email" ]; then
		echo "series: set git config user.name and user.email in $here: the cover letter is from them" >&2
		exit 1
	fi
	git -C "$dir" config branch.lazyresume.description "$(cat "$desc")"
	GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email \
		git -C "$dir" format-patch -q -o "$out" --cover-letter ${rfc[@]+"${rfc[@]}"} \
		--cover-from-description=subject -v "$version" --zero-commit --no-signature \
		--base=lazyresume-base lazyresume-base..lazyresume
	rm -f "$patches"/*.patch
	: >"$patches/series"
	for f in "$out"/*.patch; do
		b=$(basename "$f")
		b=${b#v"$version"-}
		mv "$f" "$patches/$b"
		[ "$b" = 0000-cover-letter.patch ] || echo "$b" >>"$patches/series"
	done
	echo "series: exported v$version, $(wc -l <"$patches/series") patches and the cover letter into patches/"
	;;
*) usage ;;
esac
