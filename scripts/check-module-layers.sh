#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-module-layers.sh [RUST_DIR]: check that the module (rust/, or
# RUST_DIR) keeps its layers (Documentation/module-layout.rst):
#
# - only rust/sys/ names the kernel's C bindings (`bindings::`,
#   `kernel::bindings`, `use kernel::{bindings, ...}`);
# - every file belongs to a layer (a folder rust/LAYER/ or a file
#   rust/LAYER.rs of the table below), or is a crate root;
# - a layer refers (`crate::LAYER`, `use crate::{LAYER, ...}`) only to the
#   layers below it in the table, never to one above nor to an item of the
#   crate root (`crate::ITEM`, but for `crate::THIS_MODULE`); no file reaches the crate root with
#   `super::` (a layer's top file with one, a file N modules deep with N).
#   With one order and no reference upwards, there can be no cycle
#   between layers.
#
# Prints the references between layers it found, then every violation as
# FILE:LINE: what is wrong, and the line; exits 1 if there is any.
set -euo pipefail

# The layers, bottom first: each may use those before it in this list.
LAYERS=(shared sys tftp store fetch fault resume ctl)
# The crate root wires the layers together: it may use every layer, and
# nothing may use it (its items are above every layer).
ROOTS=(lazyresume.rs)

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/rust}
[ -d "$dir" ] || { echo "check-module-layers: no directory $dir" >&2; exit 2; }
cd "$dir"

# rank LAYER: its position in LAYERS, or -1.
rank() {
	local i
	for i in "${!LAYERS[@]}"; do
		[ "${LAYERS[$i]}" = "$1" ] && { echo "$i"; return; }
	done
	echo -1
}

# refs FILE...: the paths the files name, one per line:
#   FILE LINE PREFIX IDENT
# for every `crate::IDENT`, `kernel::IDENT` and `super::IDENT`, and every
# top-level IDENT of a `crate::{...}` or `kernel::{...}` group, even one
# spread over several lines. Comment lines are skipped.
refs() {
	awk '
	function ident(s, i,   j) {
		j = i
		while (j <= length(s) && substr(s, j, 1) ~ /[A-Za-z0-9_]/) j++
		return substr(s, i, j - i)
	}
	FNR == 1 { depth = 0 }
	/^[[:space:]]*\/\// { next }
	{
		s = $0; n = length(s); i = 1
		while (i <= n) {
			c = substr(s, i, 1)
			if (depth > 0) {
				if (c == "{") { depth++; want = 0 }
				else if (c == "}") { depth--; want = 0 }
				else if (c == "," && depth == 1) want = 1
				else if (c ~ /[A-Za-z_]/) {
					id = ident(s, i)
					if (depth == 1 && want) print FILENAME, FNR, prefix, id
					want = 0
					i += length(id)
					continue
				}
				i++
				continue
			}
			rest = substr(s, i)
			if (!match(rest, /(crate|kernel|super)::/)) break
			at = i + RSTART - 1
			before = at > 1 ? substr(s, at - 1, 1) : " "
			i = at + RLENGTH
			# "x::kernel::" is a path inside x; "::kernel::" is absolute.
			if (before ~ /[A-Za-z0-9_]/) continue
			if (before == ":" && (at < 3 || substr(s, at - 2, 1) != ":" ||
			    (at > 3 && substr(s, at - 3, 1) ~ /[A-Za-z0-9_]/))) continue
			prefix = substr(s, at, RLENGTH - 2)
			if (substr(s, i, 1) == "{") {
				depth = 1; want = 1; i++
			} else if (substr(s, i, 1) ~ /[A-Za-z_]/) {
				print FILENAME, FNR, prefix, ident(s, i)
			}
		}
	}' "$@"
}

mapfile -t files < <(find . -name '*.rs' | sed 's|^\./||' | LC_ALL=C sort)
[ "${#files[@]}" -gt 0 ] || { echo "check-module-layers: no .rs files in $dir" >&2; exit 2; }

bad=0
# violation FILE LINE MESSAGE: report one, with the offending line.
violation() {
	echo "$1:$2: $3"
	sed -n "$2{s/^[[:space:]]*/    /;p}" "$1"
	bad=$((bad + 1))
}

# The layer of each file: its first path component (without .rs), or
# "root" for a crate root.
declare -A layer_of=()
for f in "${files[@]}"; do
	top=${f%%/*}
	top=${top%.rs}
	is_root=0
	for r in "${ROOTS[@]}"; do [ "$f" = "$r" ] && is_root=1; done
	if [ "$is_root" = 1 ]; then
		layer_of[$f]=root
	elif [ "$(rank "$top")" -ge 0 ]; then
		layer_of[$f]=$top
	else
		echo "$f: not in a layer (layers: ${LAYERS[*]}; crate roots: ${ROOTS[*]})"
		bad=$((bad + 1))
	fi
done

# The C bindings, outside sys/.
while IFS=: read -r f line _; do
	[ "${layer_of[$f]:-}" = sys ] && continue
	violation "$f" "$line" "names the kernel's C bindings outside rust/sys/"
done < <(grep -nE '(^|[^A-Za-z0-9_])bindings::' "${files[@]}" /dev/null |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)

# References between layers.
declare -A edges=()
while read -r f line prefix id; do
	from=${layer_of[$f]:-}
	[ -n "$from" ] || continue
	case $prefix in
	kernel)
		if [ "$id" = bindings ] && [ "$from" != sys ]; then
			violation "$f" "$line" "names the kernel's C bindings outside rust/sys/"
		fi
		;;
	super)
		[ "$from" = root ] && continue
		# How deep the file's module is (ctl/mod.rs: 1, ctl/stats.rs:
		# 2), and the longest super:: chain of the line: as many
		# reach the crate root.
		depth=$(tr -cd / <<<"${f%/mod.rs}" | wc -c)
		depth=$((depth + 1))
		chain=$(sed -n "${line}p" "$f" | grep -oE '(super::)+' |
			awk '{ n = length($0) / 7; if (n > m) m = n } END { print m + 0 }')
		if [ "$chain" -ge "$depth" ]; then
			violation "$f" "$line" "reaches the crate root with super:: (use crate::LAYER)"
		fi
		;;
	crate)
		to_rank=$(rank "$id")
		if [ "$to_rank" -lt 0 ]; then
			# THIS_MODULE, made by module!, is the module's identity
			# (C's THIS_MODULE), for the owner of static ops tables.
			[ "$from" = root ] || [ "$id" = THIS_MODULE ] ||
				violation "$f" "$line" "layer $from uses $id of the crate root, above every layer"
			continue
		fi
		[ "$from" = "$id" ] && continue
		edges["$from -> $id"]=1
		[ "$from" = root ] && continue
		if [ "$to_rank" -gt "$(rank "$from")" ]; then
			violation "$f" "$line" "layer $from uses $id, a layer above it (order: ${LAYERS[*]})"
		fi
		;;
	esac
done < <(refs "${files[@]}")

echo "check-module-layers: ${#files[@]} files in $dir; layers, bottom first: ${LAYERS[*]}"
for e in "${!edges[@]}"; do echo "  $e"; done | LC_ALL=C sort
if [ "$bad" -gt 0 ]; then
	echo "check-module-layers: FAIL, $bad violation(s)"
	exit 1
fi
echo "check-module-layers: OK, no C bindings outside sys/, no reference upwards"
