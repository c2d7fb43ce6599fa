# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Pinned versions of what lazyresume builds on; sourced by the scripts.
# shellcheck disable=SC2034 # used by the scripts that source this file

# Debian package version of linux-source-6.12 the patch series is tested on.
KERNEL_DEB_VERSION=6.12.117-1~deb12u1
# bindgen-cli used by the kernel's Rust build.
BINDGEN_VERSION=0.73.2
# cargo-fuzz, for the fuzz targets of the shared parsers.
CARGO_FUZZ_VERSION=0.13.2
