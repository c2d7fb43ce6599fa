# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# kernel-source.sh: the kernel source as a git repository, with the patch
# series applied as commits by git am.  Sourced by build-kernel.sh,
# series.sh and series-build-each.sh.
#
#   ksrc_series PATCHDIR     the patches of PATCHDIR/series, one per line
#   ksrc_import DIR          unpack Debian's linux-source-6.12 into DIR and
#                            commit it: the series' base commit
#   ksrc_am DIR PATCHDIR     git am the series onto DIR's HEAD; a patch
#                            that does not apply is named, and nothing is
#                            left half-applied
#
# The base commit has a fixed author, committer and date, so the same
# tarball gives the same commit id on every machine; git am keeps the
# patches' authors and dates, so the series' commit ids are reproducible
# too.

ksrc_tarball=/usr/src/linux-source-6.12.tar.xz

# Identity of commits made by these scripts themselves (the base, and the
# committer of applied patches).
# No automatic gc or maintenance: a detached repack of a kernel tree
# outlives the command, keeps the cache entry's lock (its file descriptor
# is inherited) and competes with the build for minutes.
ksrc_git() {
	GIT_COMMITTER_NAME="lazyresume scripts" \
		GIT_COMMITTER_EMAIL="lazyresume-scripts@localhost" \
		git -c core.autocrlf=false -c advice.detachedHead=false \
		-c gc.auto=0 -c maintenance.auto=false "$@"
}

ksrc_series() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1/series"
}

ksrc_import() {
	local dir=$1 version sublevel
	[ -r "$ksrc_tarball" ] || {
		echo "kernel-source: $ksrc_tarball missing, run 'make setup'" >&2
		return 1
	}
	version=$(dpkg-query -W -f='${Version}' linux-source-6.12) || return 1
	echo "kernel-source: importing linux-source-6.12 $version into git" >&2
	# Every step is checked: callers run this under "if", where set -e
	# does not stop a failing command.
	tar -xf "$ksrc_tarball" -C "$dir" --strip-components=1 || return 1
	sublevel=$(sed -n 's/^SUBLEVEL = //p' "$dir/Makefile")
	[ -n "$sublevel" ] || return 1
	ksrc_git -C "$dir" init -q -b lazyresume || return 1
	# -f: the tarball has files the kernel's .gitignore names.
	ksrc_git -C "$dir" -c core.looseCompression=1 add -A -f || return 1
	GIT_AUTHOR_NAME="Debian linux-source-6.12" \
		GIT_AUTHOR_EMAIL="debian-kernel@lists.debian.org" \
		GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" \
		GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		ksrc_git -C "$dir" commit -q \
		-m "Linux 6.12.$sublevel (Debian linux-source-6.12 $version)" || return 1
	ksrc_git -C "$dir" tag lazyresume-base
}

ksrc_am() {
	local dir=$1 patchdir=$2 p
	while read -r p; do
		if ! ksrc_git -C "$dir" am -q --committer-date-is-author-date \
			"$patchdir/$p" >"$dir/.git/am.log" 2>&1; then
			echo "kernel-source: patch does not apply: $patchdir/$p" >&2
			cat "$dir/.git/am.log" >&2
			ksrc_git -C "$dir" am --abort >/dev/null 2>&1 || true
			return 1
		fi
		echo "kernel-source: applied $p" >&2
	done < <(ksrc_series "$patchdir")
}
