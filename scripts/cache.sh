# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# cache.sh: the machine-wide build cache, sourced by the build scripts.
#
# What is a pure function of its inputs (an unpacked and patched kernel
# source, a kernel build, the unpatched kernel's mm selftest results) is
# stored once per machine under $LAZYRESUME_CACHE (default
# /var/cache/lazyresume, or ~/.cache/lazyresume when that is not
# writable), keyed by a hash of everything that goes into it, so a fresh
# clone reuses it instead of rebuilding.  Layout:
#
#   KIND/KEY            symlink to the entry: its presence publishes it
#   KIND/KEY.XXXXXX/    the entry (built in place: kernel builds record
#                       their own path, so the directory never moves)
#   KIND/KEY.lock       flock(1) lock held while the entry is built
#
# An entry is published by renaming a symlink over KIND/KEY once it is
# complete, so no reader sees a partial one.  Its file .lazyresume-entry
# names its key and the SHA-256 of files the builder chose; an entry whose
# key or files do not match is corrupt and is rebuilt.  Two builders of one
# key serialise on the lock: the second finds the first's entry.
# `scripts/cache.sh clear` (make distclean) empties the cache.

cache_root() {
	local d=${LAZYRESUME_CACHE:-/var/cache/lazyresume}
	if [ -z "${LAZYRESUME_CACHE:-}" ] && ! { mkdir -p "$d" 2>/dev/null && [ -w "$d" ]; }; then
		d=${XDG_CACHE_HOME:-$HOME/.cache}/lazyresume
	fi
	mkdir -p "$d"
	echo "$d"
}

# cache_valid KIND KEY: the entry exists, is complete and not corrupt.
cache_valid() {
	local e
	e="$(cache_root)/$1/$2"
	[ -L "$e" ] && [ -r "$e/.lazyresume-entry" ] || return 1
	[ "$(sed -n 's/^key //p' "$e/.lazyresume-entry")" = "$2" ] || return 1
	(cd "$e" && sed -n 's/^sha256 //p' .lazyresume-entry | sha256sum --quiet -c -) \
		>/dev/null 2>&1
}

# cache_get KIND KEY: print the entry's path if it is valid, else fail.
# A hit marks the entry as recently used (for cache_prune).
cache_get() {
	cache_valid "$1" "$2" || return 1
	touch -h "$(cache_root)/$1/$2"
	readlink -f "$(cache_root)/$1/$2"
}

# cache_build KIND KEY CMD [ARGS...]: print the path of entry KIND/KEY,
# running "CMD ARGS... DIR" to build it into DIR first unless a valid one
# exists.  CMD writes its progress to stderr and, on stdout, the paths
# (relative to DIR) of the files whose SHA-256 proves the entry intact.
# CMD failing leaves no entry and fails.
cache_build() {
	local kind=$1 key=$2 root dir lock rc=0
	shift 2
	root=$(cache_root)
	mkdir -p "$root/$kind"
	lock="$root/$kind/$key.lock"
	(
		flock 9
		if ! cache_valid "$kind" "$key"; then
			# Anything left under this key is partial or corrupt: the
			# lock says no one else is building it.
			rm -f "$root/$kind/$key"
			find "$root/$kind" -mindepth 1 -maxdepth 1 -type d \
				-name "$key.*" -exec rm -rf {} +
			dir=$(mktemp -d "$root/$kind/$key.XXXXXX")
			chmod 755 "$dir"
			if ! "$@" "$dir" >"$dir/.lazyresume-files"; then
				rm -rf "$dir"
				exit 1
			fi
			{
				echo "key $key"
				(cd "$dir" && xargs -r sha256sum -- <.lazyresume-files) |
					sed 's/^/sha256 /'
			} >"$dir/.lazyresume-entry.tmp"
			mv "$dir/.lazyresume-entry.tmp" "$dir/.lazyresume-entry"
			ln -sfn "$(basename "$dir")" "$root/$kind/$key.new"
			mv -T "$root/$kind/$key.new" "$root/$kind/$key"
		fi
	) 9>"$lock" || rc=$?
	[ "$rc" = 0 ] || return "$rc"
	# Valid: checked or built under the lock just now.
	touch -h "$root/$kind/$key"
	readlink -f "$root/$kind/$key"
}

# cache_prune_entry KIND KEY: remove entry KIND/KEY, unless it is being
# built.  Lock files stay (removing one another process holds would let
# two builders in).
cache_prune_entry() {
	local root
	root=$(cache_root)
	(
		flock -n 9 || exit 0
		rm -rf "$(readlink -f "$root/$1/$2")"
		rm -f "$root/$1/$2"
	) 9>"$root/$1/$2.lock"
}

# cache_prune KIND KEEP [NAME_PREFIX]: keep the KEEP most recently used
# entries of KIND (whose key starts with NAME_PREFIX), remove the others.
cache_prune() {
	local kind=$1 keep=$2 prefix=${3:-} root key
	root=$(cache_root)
	[ -d "$root/$kind" ] || return 0
	find "$root/$kind" -mindepth 1 -maxdepth 1 -type l -name "$prefix*" \
		-printf '%T@ %f\n' | sort -rn | tail -n +$((keep + 1)) |
		while read -r _ key; do
			cache_prune_entry "$kind" "$key"
		done
}

# Run as a command: "cache.sh clear" empties the cache, "cache.sh path"
# prints where it is.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	path) cache_root ;;
	clear)
		root=$(cache_root)
		echo "cache: removing $root"
		rm -rf "${root:?}"/*
		;;
	*)
		echo "usage: cache.sh path|clear" >&2
		exit 2
		;;
	esac
fi
