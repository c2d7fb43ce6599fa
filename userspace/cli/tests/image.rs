// SPDX-License-Identifier: GPL-2.0

//! `lazyresume image-create`, `inspect` and `verify` on real directories.

use sha2::Digest;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lazyresume"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An image of 10 pages in chunks of 4 under `dir/img`, with a pageset1
/// of 40 pages, in LZ4 blocks if `lz4`.
fn make_image_with(dir: &Path, lz4: bool) -> std::path::PathBuf {
    let p1 = dir.join("p1");
    let p2 = dir.join("p2");
    let mut image = b"pageset1 bytes".repeat(10000);
    image.resize(40 * 4096, 0);
    fs::write(&p1, image).unwrap();
    let pages: Vec<u8> = (0..10 * 4096u32).map(|i| (i * 7 / 13) as u8).collect();
    fs::write(&p2, pages).unwrap();
    let img = dir.join("img");
    let mut args = vec![
        "image-create",
        img.to_str().unwrap(),
        "--pageset1",
        p1.to_str().unwrap(),
        "--pageset2",
        p2.to_str().unwrap(),
        "--kernel-id",
        "test-kernel 1",
        "--chunk-pages",
        "4",
    ];
    if lz4 {
        args.push("--lz4");
    }
    let o = tool(&args);
    assert!(o.status.success(), "{}", text(&o));
    img
}

fn make_image(dir: &Path) -> std::path::PathBuf {
    make_image_with(dir, false)
}

#[test]
fn an_lz4_pageset1_is_smaller_and_verified_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image_with(dir.path(), true);
    let t = text(&tool(&["inspect", img.to_str().unwrap()]));
    assert!(
        t.contains("pageset1 image:  163840 bytes, stored lz4-blocks"),
        "{t}"
    );
    let stored = fs::metadata(img.join("pageset1")).unwrap().len();
    assert!(stored < 163840 / 4, "{stored}");
    let o = tool(&["verify", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // A file that hashes right but does not decode to the image the
    // manifest announces is reported: here the last block decodes to one
    // page less than the manifest's image length leaves for it.
    let mut m = fs::read(img.join("manifest")).unwrap();
    m[144..152].copy_from_slice(&(163840u64 + 4096).to_le_bytes());
    let n = m.len() - 32;
    let sum: [u8; 32] = sha2::Sha256::digest(&m[..n]).into();
    m[n..].copy_from_slice(&sum);
    fs::write(img.join("manifest"), &m).unwrap();
    let t = text(&tool(&["verify", img.to_str().unwrap()]));
    assert!(t.contains("pageset1: block 1 does not decompress"), "{t}");
}

#[test]
fn create_inspect_verify() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    for c in 0..3 {
        assert!(img.join(format!("p2-{c:016x}")).exists());
    }
    assert!(!img.join("p2-0000000000000003").exists());
    let o = tool(&["inspect", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("test-kernel 1"), "{t}");
    assert!(
        t.contains("10 pages (40960 bytes) in 3 chunks of 4 pages, stored raw"),
        "{t}"
    );
    assert!(t.contains("chunk files:     3, 40960 bytes"), "{t}");
    let o = tool(&["verify", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn lz4_chunk_files_leave_zero_pages_out() {
    let dir = tempfile::tempdir().unwrap();
    let p1 = dir.path().join("p1");
    let p2 = dir.path().join("p2");
    fs::write(&p1, vec![0u8; 4096]).unwrap();
    // Chunk 0: text and zeros; chunk 1: zeros; chunk 2: one page of text.
    let mut pages = vec![0u8; 9 * 4096];
    pages[..4096].copy_from_slice(&b"lazy".repeat(1024));
    pages[2 * 4096..3 * 4096].copy_from_slice(&b"page".repeat(1024));
    pages[8 * 4096..].copy_from_slice(&b"last".repeat(1024));
    fs::write(&p2, &pages).unwrap();
    let img = dir.path().join("img");
    let o = tool(&[
        "image-create",
        img.to_str().unwrap(),
        "--pageset1",
        p1.to_str().unwrap(),
        "--pageset2",
        p2.to_str().unwrap(),
        "--kernel-id",
        "test-kernel 1",
        "--chunk-pages",
        "4",
        "--lz4",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // No file for the chunk of zeros; the others far smaller than raw.
    assert!(!img.join("p2-0000000000000001").exists());
    let c0 = fs::metadata(img.join("p2-0000000000000000")).unwrap().len();
    assert!(c0 < 4096, "{c0}");
    let t = text(&tool(&["inspect", img.to_str().unwrap()]));
    assert!(
        t.contains("in 3 chunks of 4 pages, stored lz4-blocks"),
        "{t}"
    );
    assert!(
        t.contains("zero pages:      6 (never fetched), 1 chunks"),
        "{t}"
    );
    assert!(t.contains("chunk files:     2, "), "{t}");
    let o = tool(&["verify", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // A missing file of pages that are not zero is a problem, and so is a
    // file that does not decode.
    fs::remove_file(img.join("p2-0000000000000002")).unwrap();
    let c0 = img.join("p2-0000000000000000");
    let mut d = fs::read(&c0).unwrap();
    d.truncate(d.len() - 1);
    fs::write(&c0, d).unwrap();
    let o = tool(&["verify", img.to_str().unwrap()]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("p2-0000000000000002"), "{t}");
    assert!(t.contains("p2-0000000000000000: ends after"), "{t}");
    assert!(t.contains("2 problem(s)"), "{t}");
}

#[test]
fn verify_names_a_damaged_page_and_a_missing_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    let c1 = img.join("p2-0000000000000001");
    let mut d = fs::read(&c1).unwrap();
    d[2 * 4096 + 17] ^= 1;
    fs::write(&c1, d).unwrap();
    fs::remove_file(img.join("p2-0000000000000002")).unwrap();
    let o = tool(&["verify", img.to_str().unwrap()]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("pageset2 page 6 "), "{t}");
    assert!(t.contains("p2-0000000000000002"), "{t}");
    assert!(t.contains("2 problem(s)"), "{t}");
}

#[test]
fn a_corrupted_manifest_or_pageset1_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    let mut p1 = fs::read(img.join("pageset1")).unwrap();
    p1[0] ^= 1;
    fs::write(img.join("pageset1"), &p1).unwrap();
    let t = text(&tool(&["verify", img.to_str().unwrap()]));
    assert!(t.contains("pageset1: SHA-256 mismatch"), "{t}");
    let mut m = fs::read(img.join("manifest")).unwrap();
    m[200] ^= 1;
    fs::write(img.join("manifest"), &m).unwrap();
    let o = tool(&["inspect", img.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("checksum mismatch"), "{}", text(&o));
}

/// A loading set of pages `order` of the image `img` (of `make_image`),
/// page `swap` given the content of the page after it.
fn loadset(img: &Path, order: &[u64], swap: Option<u64>) -> Vec<u8> {
    use lazyresume_image::blocks::{encode_chunk, max_encoded_len, BLOCK_LEN};
    use lazyresume_image::loadset::LoadsetHeader;
    let sha = |d: &[u8]| -> [u8; 32] { sha2::Sha256::digest(d).into() };
    let page = |p: u64| -> Vec<u8> {
        let p = if Some(p) == swap { p + 1 } else { p };
        (p as u32 * 4096..(p as u32 + 1) * 4096)
            .map(|i| (i * 7 / 13) as u8)
            .collect()
    };
    let pages: Vec<u8> = order.iter().flat_map(|&p| page(p)).collect();
    let index: Vec<u8> = order.iter().flat_map(|p| p.to_le_bytes()).collect();
    let compress = |src: &[u8], dst: &mut [u8]| -> Option<usize> {
        let c = lz4_flex::block::compress(src);
        dst.get_mut(..c.len())?.copy_from_slice(&c);
        Some(c.len())
    };
    let mut block = vec![0u8; BLOCK_LEN];
    let mut payload = vec![0u8; max_encoded_len(pages.len()).unwrap()];
    let n = encode_chunk(&pages, 4096, |_| false, compress, &mut block, &mut payload).unwrap();
    payload.truncate(n);
    let h = LoadsetHeader {
        page_size: 4096,
        pages: order.len() as u64,
        payload_len: n as u64,
        manifest_sha256: sha(&fs::read(img.join("manifest")).unwrap()),
        index_sha256: sha(&index),
    };
    let mut f = h.encode(sha).to_vec();
    f.extend_from_slice(&index);
    f.extend_from_slice(&payload);
    f
}

#[test]
fn inspect_and_verify_check_the_loading_set() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    let path = img.to_str().unwrap();
    fs::write(img.join("loadset"), loadset(&img, &[5, 2, 9], None)).unwrap();
    let t = text(&tool(&["inspect", path]));
    assert!(
        t.contains("loading set:     3 pages (12288 bytes)") && t.contains("of this image"),
        "{t}"
    );
    let o = tool(&["verify", path]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("loadset: OK (3 pages)"), "{}", text(&o));
    // A page with another page's content: its hash says so.
    fs::write(img.join("loadset"), loadset(&img, &[5, 2, 9], Some(2))).unwrap();
    let o = tool(&["verify", path]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("pages [2] do not match their hashes"),
        "{}",
        text(&o)
    );
    // A damaged index list, and a loading set of another image.
    let mut f = loadset(&img, &[5, 2, 9], None);
    f[140] ^= 0xff;
    fs::write(img.join("loadset"), &f).unwrap();
    let o = tool(&["verify", path]);
    assert!(
        text(&o).contains("loading set index SHA-256 mismatch"),
        "{}",
        text(&o)
    );
    let mut f = loadset(&img, &[5, 2, 9], None);
    f[40] ^= 0xff;
    fs::write(img.join("loadset"), &f).unwrap();
    let t = text(&tool(&["inspect", path]));
    assert!(
        t.contains("refused: loading set header checksum mismatch"),
        "{t}"
    );
}
