// SPDX-License-Identifier: GPL-2.0

//! `lazyresume image-create`, `inspect`, `verify`, `sign` and
//! `make-stream` on real directories.

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
    // 163840 bytes of raw pageset1: two segments of 128 KiB, the second
    // one short.
    assert!(
        t.contains("pageset1 sums:   2 segments of 128 KiB, 64 bytes, sha256 "),
        "{t}"
    );
    assert!(!t.contains("refused") && !t.contains("no file"), "{t}");
    assert_eq!(fs::metadata(img.join("pageset1.sums")).unwrap().len(), 64);
    let o = tool(&["verify", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn verify_checks_the_pageset1_sums() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    let path = img.to_str().unwrap();
    // Damaged: its SHA-256 is not the manifest's.
    let good = fs::read(img.join("pageset1.sums")).unwrap();
    let mut sums = good.clone();
    sums[40] ^= 1;
    fs::write(img.join("pageset1.sums"), &sums).unwrap();
    let o = tool(&["verify", path]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("pageset1.sums: pageset1.sums SHA-256 mismatch"),
        "{t}"
    );
    let t = text(&tool(&["inspect", path]));
    assert!(
        t.contains("(refused: pageset1.sums SHA-256 mismatch"),
        "{t}"
    );
    // Sealed into the manifest, but not the sums of pageset1: segment 1
    // is named.
    let mut m = fs::read(img.join("manifest")).unwrap();
    let sealed: [u8; 32] = sha2::Sha256::digest(&sums).into();
    m[320..352].copy_from_slice(&sealed);
    let sum: [u8; 32] = sha2::Sha256::digest(&m[..352]).into();
    m[352..].copy_from_slice(&sum);
    fs::write(img.join("manifest"), &m).unwrap();
    let o = tool(&["verify", path]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("pageset1: segment 1 SHA-256 mismatch"),
        "{}",
        text(&o)
    );
    // Missing, or of another length.
    fs::remove_file(img.join("pageset1.sums")).unwrap();
    let o = tool(&["verify", path]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("pageset1.sums: No such file"),
        "{}",
        text(&o)
    );
    assert!(text(&tool(&["inspect", path])).contains("(no file)"));
    fs::write(img.join("pageset1.sums"), &good[..32]).unwrap();
    let o = tool(&["verify", path]);
    assert!(
        text(&o).contains("pageset1.sums is 32 bytes, the pageset1 length makes it 64"),
        "{}",
        text(&o)
    );
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
    m[40] ^= 1;
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
        text(&o).contains("loadset: index SHA-256 mismatch"),
        "{}",
        text(&o)
    );
    let mut f = loadset(&img, &[5, 2, 9], None);
    f[40] ^= 0xff;
    fs::write(img.join("loadset"), &f).unwrap();
    let t = text(&tool(&["inspect", path]));
    assert!(t.contains("refused: header checksum mismatch"), "{t}");
}

#[test]
fn workingset_compare_counts_the_pages_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    fs::write(img.join("loadset"), loadset(&img, &[5, 2, 9, 0], None)).unwrap();
    // A client touched 2 and 5 of them, and 7, which the set lacks.
    let touched = dir.path().join("touched");
    fs::write(&touched, loadset(&img, &[7, 2, 5], None)).unwrap();
    let args = ["workingset", "compare", img.to_str().unwrap()];
    let o = tool(&[&args[..], &[touched.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("loading set:   4 pages (0.0 MiB)"), "{t}");
    assert!(
        t.contains("never touched: 2 pages of the loading set (0.0 MiB, 50.0 %)"),
        "{t}"
    );
    assert!(
        t.contains("not in it:     1 touched pages (0.0 MiB, 33.3 % of those touched)"),
        "{t}"
    );
    // A recording of another image is refused, with the file named.
    let other = dir.path().join("other");
    let mut f = loadset(&img, &[1], None);
    f[40] ^= 0xff;
    fs::write(&other, &f).unwrap();
    let o = tool(&[&args[..], &[other.to_str().unwrap()]].concat());
    assert!(!o.status.success());
    assert!(
        text(&o).contains("other") && text(&o).contains("header checksum mismatch"),
        "{}",
        text(&o)
    );
}

/// The page indexes of the loading-set-format file `f` (its index list).
fn index_list(f: &[u8]) -> Vec<u64> {
    let n = u64::from_le_bytes(f[24..32].try_into().unwrap()) as usize;
    f[136..136 + 8 * n]
        .chunks_exact(8)
        .map(|e| u64::from_le_bytes(e.try_into().unwrap()))
        .collect()
}

#[test]
fn make_stream_writes_the_pages_the_loading_set_does_not_bring() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = make_key(dir.path(), "image signer");
    let img = make_image_with(dir.path(), true);
    let path = img.to_str().unwrap();
    // Every page (none is all zeros), in index order.
    let o = tool(&["make-stream", path]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("stream: 10 pages"), "{}", text(&o));
    let all = fs::read(img.join("stream")).unwrap();
    assert_eq!(index_list(&all), (0..10).collect::<Vec<u64>>());
    // With a loading set, the pages it brings are left out.
    fs::write(img.join("loadset"), loadset(&img, &[5, 2, 9], None)).unwrap();
    let o = tool(&["make-stream", path]);
    assert!(text(&o).contains("stream: 7 pages"), "{}", text(&o));
    let rest = fs::read(img.join("stream")).unwrap();
    assert_eq!(index_list(&rest), vec![0, 1, 3, 4, 6, 7, 8]);
    let t = text(&tool(&["inspect", path]));
    assert!(t.contains("stream:          7 pages (28672 bytes)"), "{t}");
    let o = tool(&["verify", path]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("stream: OK (7 pages)"), "{}", text(&o));
    // A rename binds it to the rewritten manifest, as the loading set.
    let o = tool(&[
        "sign",
        path,
        "--key",
        &key,
        "--cert",
        &cert,
        "--name",
        "images/web",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("stream now belongs to the rewritten manifest"),
        "{}",
        text(&o)
    );
    let (ok, t) = verify_with(&img, &cert);
    assert!(ok && t.contains("stream: OK (7 pages)"), "{t}");
    // A damaged page is named.
    let mut f = fs::read(img.join("stream")).unwrap();
    let last = f.len() - 100;
    f[last] ^= 0xff;
    fs::write(img.join("stream"), &f).unwrap();
    let o = tool(&["verify", path]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("/stream: pages corrupted: block 0 does not decompress"),
        "{}",
        text(&o)
    );
}

#[test]
fn create_names_the_image_and_its_generation() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    let t = text(&tool(&["inspect", img.to_str().unwrap()]));
    // By default the directory's name and the time.
    assert!(t.contains("format version:  4"), "{t}");
    assert!(t.contains("name:            img\n"), "{t}");
    let g: u64 = t
        .lines()
        .find_map(|l| l.strip_prefix("generation:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(g > 1_700_000_000, "{g}");
    assert!(t.contains("signature:       none (unsigned)"), "{t}");
    // A bad name is refused before anything is written.
    let p = dir.path().join("p1");
    let out = dir.path().join("other");
    let o = tool(&[
        "image-create",
        out.to_str().unwrap(),
        "--pageset1",
        p.to_str().unwrap(),
        "--pageset2",
        p.to_str().unwrap(),
        "--kernel-id",
        "k",
        "--name",
        "/abs",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("bad image name: starts with '/'"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
}

/// Makes a key and a self-signed certificate `name.key`, `name.crt` in
/// `dir`, as `scripts/keys.sh` does.
fn make_key(dir: &Path, name: &str) -> (String, String) {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    let o = Command::new("openssl")
        .args([
            "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
        ])
        .args(["-days", "2", "-subj", &format!("/CN={name}/")])
        .args(["-addext", "keyUsage=critical,digitalSignature"])
        .args(["-addext", "extendedKeyUsage=codeSigning"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    (
        key.to_str().unwrap().to_string(),
        cert.to_str().unwrap().to_string(),
    )
}

/// Flips bit 0 of byte `at` of `path` (from the end if negative).
fn flip(path: &Path, at: isize) {
    let mut d = fs::read(path).unwrap();
    let i = if at < 0 {
        d.len() - at.unsigned_abs()
    } else {
        at as usize
    };
    d[i] ^= 1;
    fs::write(path, d).unwrap();
}

/// Runs `verify IMAGE --cert CERT`: whether it passed, and what it said.
fn verify_with(img: &Path, cert: &str) -> (bool, String) {
    let o = tool(&["verify", img.to_str().unwrap(), "--cert", cert]);
    (o.status.success(), text(&o))
}

#[test]
fn a_signed_image_verifies_and_any_damage_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = make_key(dir.path(), "image signer");
    let (key2, cert2) = make_key(dir.path(), "someone else");
    let img = make_image(dir.path());
    let path = img.to_str().unwrap();
    let sig = img.join("manifest.sig");

    // Unsigned: verify says so, and fails when a certificate is given.
    let o = tool(&["verify", path]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("unsigned (no manifest.sig)"),
        "{}",
        text(&o)
    );
    let (ok, t) = verify_with(&img, &cert);
    assert!(
        !ok && t.contains("manifest.sig: missing (unsigned image)"),
        "{t}"
    );

    let o = tool(&["sign", path, "--key", &key, "--cert", &cert]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    let n = fs::metadata(&sig).unwrap().len();
    assert!(
        t.starts_with(&format!("signed {path}: image img, generation "))
            && t.contains(&format!(
                ", kernel test-kernel 1, signature {n} bytes, certificate CN=image signer\n"
            )),
        "{t}"
    );
    assert_eq!(t.lines().count(), 1, "{t}");
    let (ok, t) = verify_with(&img, &cert);
    assert!(
        ok && t.contains("good signature") && t.contains("by CN=image signer"),
        "{t}"
    );
    let o = tool(&["verify", path]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("manifest.sig: {n} bytes, not checked (no --cert)")));
    let t = text(&tool(&["inspect", path]));
    assert!(
        t.contains(&format!("signature:       manifest.sig, {n} bytes")),
        "{t}"
    );

    // Another key's certificate.
    let (ok, t) = verify_with(&img, &cert2);
    assert!(!ok && t.contains("bad signature"), "{t}");
    // A byte of the signature itself (the last one, of the RSA
    // signature).
    let good = fs::read(&sig).unwrap();
    flip(&sig, -1);
    let (ok, t) = verify_with(&img, &cert);
    assert!(!ok && t.contains("manifest.sig: bad signature"), "{t}");
    // The content type, outside what is signed: openssl would take any,
    // a kernel only id-data.
    fs::write(&sig, &good).unwrap();
    let id_data = [0x06, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 7, 1];
    let at = good
        .windows(id_data.len())
        .position(|w| w == id_data)
        .unwrap();
    flip(&sig, (at + id_data.len() - 1) as isize);
    let (ok, t) = verify_with(&img, &cert);
    assert!(!ok && t.contains("not id-data"), "{t}");
    // A signature by another key that carries its own certificate: the
    // signer is looked up in --cert only.
    let o = Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-noattr", "-md", "sha256"])
        .args(["-outform", "DER", "-signer", &cert2, "-inkey", &key2])
        .arg("-in")
        .arg(img.join("manifest"))
        .arg("-out")
        .arg(&sig)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let (ok, t) = verify_with(&img, &cert);
    assert!(!ok && t.contains("bad signature"), "{t}");
    // A changed manifest (a valid one: its checksum mended).
    fs::write(&sig, &good).unwrap();
    assert!(verify_with(&img, &cert).0);
    let mut m = fs::read(img.join("manifest")).unwrap();
    m[184] ^= 1;
    let sum: [u8; 32] = sha2::Sha256::digest(&m[..352]).into();
    m[352..].copy_from_slice(&sum);
    fs::write(img.join("manifest"), &m).unwrap();
    let (ok, t) = verify_with(&img, &cert);
    assert!(!ok && t.contains("manifest.sig: bad signature"), "{t}");
    assert!(t.contains("1 problem(s)"), "{t}");
}

#[test]
fn sign_renames_and_sets_the_generation() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = make_key(dir.path(), "image signer");
    let img = make_image(dir.path());
    let path = img.to_str().unwrap();
    fs::write(img.join("loadset"), loadset(&img, &[5, 2, 9], None)).unwrap();
    let o = tool(&[
        "sign",
        path,
        "--key",
        &key,
        "--cert",
        &cert,
        "--name",
        "images/web",
        "--generation",
        "42",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains(": image images/web, generation 42, "), "{t}");
    // The loading set follows the rewritten manifest.
    assert!(
        t.contains("loadset now belongs to the rewritten manifest"),
        "{t}"
    );
    let t = text(&tool(&["inspect", path]));
    assert!(t.contains("name:            images/web\n"), "{t}");
    assert!(t.contains("generation:      42\n"), "{t}");
    assert!(t.contains("of this image"), "{t}");
    let (ok, t) = verify_with(&img, &cert);
    assert!(ok && t.contains("loadset: OK (3 pages)"), "{t}");
    // Signing again keeps them.
    let o = tool(&["sign", path, "--key", &key, "--cert", &cert]);
    assert!(text(&o).contains(": image images/web, generation 42, "));
    // A bad name is refused, and the image left as it was.
    let before = fs::read(img.join("manifest")).unwrap();
    let o = tool(&[
        "sign", path, "--key", &key, "--cert", &cert, "--name", "/web",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("bad image name: starts with '/'"),
        "{}",
        text(&o)
    );
    assert_eq!(fs::read(img.join("manifest")).unwrap(), before);
    assert!(verify_with(&img, &cert).0);
}

/// The error line of a `sign` that failed.
fn sign_fails(args: &[&str], path_env: Option<&str>) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lazyresume"));
    // No backtrace after the error line.
    c.arg("sign")
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    if let Some(p) = path_env {
        c.env("PATH", p);
    }
    let o = c.output().unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(t.lines().count(), 1, "{t}");
    t
}

#[test]
fn sign_says_why_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = make_key(dir.path(), "image signer");
    let (key2, _) = make_key(dir.path(), "someone else");
    let img = make_image(dir.path());
    let path = img.to_str().unwrap();
    let missing = dir.path().join("nothing").to_str().unwrap().to_string();

    let t = sign_fails(&[path, "--key", &key2, "--cert", &cert], None);
    assert!(
        t.contains(&format!(
            "the key {key2} does not match the certificate {cert}"
        )),
        "{t}"
    );
    let t = sign_fails(&[path, "--key", &missing, "--cert", &cert], None);
    assert!(
        t.contains(&format!("cannot read the key {missing}: No such file")),
        "{t}"
    );
    let t = sign_fails(&[path, "--key", &key, "--cert", &missing], None);
    assert!(
        t.contains(&format!("cannot read the certificate {missing}")),
        "{t}"
    );
    let t = sign_fails(&[path, "--key", &key, "--cert", &key], None);
    assert!(
        t.contains(&format!("cannot load the certificate {key}")),
        "{t}"
    );
    let t = sign_fails(&[path, "--key", &cert, "--cert", &cert], None);
    assert!(t.contains(&format!("cannot load the key {cert}")), "{t}");
    let t = sign_fails(&[path, "--key", &key, "--cert", &cert], Some(""));
    assert!(t.contains("openssl not found"), "{t}");
    assert!(!img.join("manifest.sig").exists());

    // A damaged image is not signed.
    flip(&img.join("pageset1"), 0);
    let t = sign_fails(&[path, "--key", &key, "--cert", &cert], None);
    assert!(
        t.contains(&format!(
            "refusing to sign {path}: pageset1: SHA-256 mismatch"
        )),
        "{t}"
    );
    flip(&img.join("pageset1"), 0);
    flip(&img.join("pageset1.sums"), 5);
    let t = sign_fails(&[path, "--key", &key, "--cert", &cert], None);
    assert!(
        t.contains(&format!(
            "refusing to sign {path}: pageset1.sums: pageset1.sums SHA-256 mismatch"
        )),
        "{t}"
    );
    flip(&img.join("pageset1.sums"), 5);
    let sums = fs::read(img.join("pageset1.sums")).unwrap();
    fs::remove_file(img.join("pageset1.sums")).unwrap();
    let t = sign_fails(&[path, "--key", &key, "--cert", &cert], None);
    assert!(
        t.contains("refusing to sign") && t.contains("no pageset1.sums"),
        "{t}"
    );
    fs::write(img.join("pageset1.sums"), &sums).unwrap();
    flip(&img.join("hashes"), 3);
    let t = sign_fails(&[path, "--key", &key, "--cert", &cert], None);
    assert!(
        t.contains("refusing to sign") && t.contains("hashes: hashes file SHA-256"),
        "{t}"
    );
    flip(&img.join("hashes"), 3);
    fs::remove_file(img.join("pageset1")).unwrap();
    let t = sign_fails(&[path, "--key", &key, "--cert", &cert], None);
    assert!(
        t.contains("refusing to sign") && t.contains("no pageset1"),
        "{t}"
    );
    let t = sign_fails(&[&missing, "--key", &key, "--cert", &cert], None);
    assert!(
        t.contains("refusing to sign") && t.contains("no manifest"),
        "{t}"
    );
    assert!(!img.join("manifest.sig").exists());
}
