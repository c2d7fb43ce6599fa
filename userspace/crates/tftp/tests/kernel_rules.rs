// SPDX-License-Identifier: GPL-2.0

//! `src/proto/` is compiled into the kernel module too: check the rules
//! that keep it compatible on the source text (the compiler checks the
//! rest: `no_std`, `forbid(unsafe_code)` and the clippy lints of
//! Cargo.toml).

#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::path::Path;

#[test]
fn proto_sources_follow_the_kernel_rules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/proto");
    let mut files = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        files += 1;
        let text = fs::read_to_string(&path).unwrap();
        let name = path.display();
        assert!(
            text.starts_with("// SPDX-License-Identifier: GPL-2.0\n"),
            "{name}: no SPDX line first"
        );
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap().trim();
            let n = n + 1;
            assert!(
                !line.trim_start().starts_with("#!["),
                "{name}:{n}: crate-level attribute"
            );
            for banned in [
                "std::",
                "alloc::",
                "extern crate",
                "unsafe",
                "f32",
                "f64",
                "unwrap()",
                "expect(",
                "panic!",
                "unreachable!",
                "todo!",
                "unimplemented!",
                "dbg!",
                "println!",
            ] {
                let hit = code
                    .match_indices(banned)
                    .any(|(i, _)| i == 0 || !code.as_bytes()[i - 1].is_ascii_alphanumeric());
                assert!(!hit, "{name}:{n}: `{banned}` in `{line}`");
            }
        }
    }
    assert!(files >= 5, "proto sources not found in {}", dir.display());
}
