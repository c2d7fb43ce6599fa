// SPDX-License-Identifier: GPL-2.0

//! `lazyresume sign`: a detached PKCS#7/CMS signature over an image's
//! manifest (`manifest.sig`), in the form a client's kernel checks with
//! `verify_pkcs7_signature()`, and the check of one (`lazyresume verify
//! --cert`). Both run the `openssl` command: no cryptography here but
//! SHA-256.

use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::Args;
use lazyresume_image::loadset::{LoadsetHeader, LOADSET_HEADER_LEN, LOADSET_NAME, STREAM_NAME};
use lazyresume_image::{
    self as image, Manifest, PageHashes, SegmentSums, MANIFEST_NAME, MAX_SIGNATURE_LEN,
    SIGNATURE_NAME,
};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::image::sha256;
use crate::location::Location;

/// Arguments of `lazyresume sign`.
#[derive(Args)]
pub struct SignArgs {
    /// The image: a directory, or tftp://SERVER[:PORT]/PATH on a server
    /// that accepts uploads.
    image: String,
    /// The private key that signs (PEM; one with a pass phrase asks for it
    /// on the terminal).
    #[arg(long)]
    key: PathBuf,
    /// Its X.509 certificate (PEM), one the clients' kernels trust.
    #[arg(long)]
    cert: PathBuf,
    /// Rename the image first (the manifest is rewritten): the name
    /// clients ask for, its path on the TFTP server.
    #[arg(long)]
    name: Option<String>,
    /// Set the image's generation first (the manifest is rewritten).
    #[arg(long, value_name = "N")]
    generation: Option<u64>,
}

/// A private directory for openssl's input and output files, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        for n in 0..100u32 {
            let dir = base.join(format!("lazyresume-sign.{}.{n}", std::process::id()));
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(Self(dir)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
            }
        }
        bail!("cannot make a temporary directory in {}", base.display())
    }

    /// Writes `bytes` as file `name` of the directory; returns its path.
    fn file(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.0.join(name);
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What openssl's standard error says, in one line: its first message
/// and the reason of its first error (`...:error:CODE:LIBRARY:FUNCTION:
/// REASON:...` lines).
fn openssl_says(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let coded = |l: &str| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 5 && f[1] == "error").then(|| f[5].trim().to_string())
    };
    let plain = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && coded(l).is_none());
    let reason = text.lines().find_map(coded);
    match (plain, reason) {
        (Some(p), Some(r)) => format!("{p}: {r}"),
        (Some(p), None) => p.to_string(),
        (None, Some(r)) => r,
        (None, None) => "no message".to_string(),
    }
}

/// Runs `openssl ARGS`; `Err` only if it cannot run.
fn openssl(args: &[&OsStr]) -> Result<std::process::Output> {
    Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => {
                anyhow!("openssl not found: install the openssl package (scripts/setup.sh does)")
            }
            _ => anyhow!("cannot run openssl: {e}"),
        })
}

/// Checks that `path` can be read, saying what it was meant to be.
fn readable(path: &Path, what: &str) -> Result<()> {
    File::open(path)
        .map(drop)
        .with_context(|| format!("cannot read the {what} {}", path.display()))
}

/// The subject of the certificate `cert` (RFC 2253).
pub fn cert_subject(cert: &Path) -> Result<String> {
    readable(cert, "certificate")?;
    let o = openssl(&[
        "x509".as_ref(),
        "-noout".as_ref(),
        "-subject".as_ref(),
        "-nameopt".as_ref(),
        "RFC2253".as_ref(),
        "-in".as_ref(),
        cert.as_os_str(),
    ])?;
    ensure!(
        o.status.success(),
        "cannot load the certificate {} (X.509, PEM): {}",
        cert.display(),
        openssl_says(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().next().unwrap_or("");
    Ok(line
        .strip_prefix("subject=")
        .unwrap_or(line)
        .trim()
        .to_string())
}

/// The detached signature (CMS SignedData, DER) by `key` of `data`: SHA-256,
/// no signed attributes, no certificates, the signer named by its
/// certificate's issuer and serial number, content type id-data, as
/// `scripts/sign-file` signs modules.
fn sign_detached(data: &[u8], key: &Path, cert: &Path) -> Result<Vec<u8>> {
    readable(key, "key")?;
    let tmp = TempDir::new()?;
    let input = tmp.file(MANIFEST_NAME, data)?;
    let output = tmp.0.join(SIGNATURE_NAME);
    let o = openssl(&[
        "cms".as_ref(),
        "-sign".as_ref(),
        "-binary".as_ref(),
        "-noattr".as_ref(),
        "-nocerts".as_ref(),
        "-nosmimecap".as_ref(),
        "-md".as_ref(),
        "sha256".as_ref(),
        "-outform".as_ref(),
        "DER".as_ref(),
        "-signer".as_ref(),
        cert.as_os_str(),
        "-inkey".as_ref(),
        key.as_os_str(),
        "-in".as_ref(),
        input.as_os_str(),
        "-out".as_ref(),
        output.as_os_str(),
    ])?;
    if !o.status.success() {
        let says = openssl_says(&o.stderr);
        let err = String::from_utf8_lossy(&o.stderr);
        if err.contains("does not match certificate") || err.contains("key values mismatch") {
            bail!(
                "the key {} does not match the certificate {}",
                key.display(),
                cert.display()
            );
        }
        if err.contains("signing key") {
            bail!("cannot load the key {} (PEM): {says}", key.display());
        }
        bail!("openssl cms -sign failed: {says}");
    }
    let sig = fs::read(&output).context("reading the signature openssl made")?;
    ensure!(!sig.is_empty(), "openssl cms -sign made an empty signature");
    Ok(sig)
}

/// The OID of id-data (pkcs7-data), the only content type a kernel
/// accepts in a signature of no particular kind.
const ID_DATA: &str = "(1.2.840.113549.1.7.1)";

/// Checks `sig` as a client's kernel would, trusting the key of `cert`
/// only: a signature of `manifest` by that key (the signer found in
/// `cert`, never in the signature's own certificates), over content of
/// type id-data, at most [`MAX_SIGNATURE_LEN`] bytes. Returns `cert`'s
/// subject.
pub fn check(manifest: &[u8], sig: &[u8], cert: &Path) -> Result<String> {
    let subject = cert_subject(cert)?;
    ensure!(
        sig.len() <= MAX_SIGNATURE_LEN,
        "{} bytes, a client fetches at most {MAX_SIGNATURE_LEN}",
        sig.len()
    );
    let tmp = TempDir::new()?;
    let content = tmp.file(MANIFEST_NAME, manifest)?;
    let signature = tmp.file(SIGNATURE_NAME, sig)?;
    // -nointern: the signer's certificate comes from CERT only (a
    // signature carrying a certificate of its own key would otherwise
    // pass); -noverify: CERT's key is trusted as it is, without a chain
    // or dates, as the kernel trusts the keys of its keyrings.
    let o = openssl(&[
        "cms".as_ref(),
        "-verify".as_ref(),
        "-binary".as_ref(),
        "-inform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        signature.as_os_str(),
        "-content".as_ref(),
        content.as_os_str(),
        "-certfile".as_ref(),
        cert.as_os_str(),
        "-nointern".as_ref(),
        "-noverify".as_ref(),
        "-out".as_ref(),
        "/dev/null".as_ref(),
    ])?;
    ensure!(
        o.status.success(),
        "bad signature (not of this manifest by the key of {}): {}",
        cert.display(),
        openssl_says(&o.stderr)
    );
    // The content type is outside what is signed (there are no signed
    // attributes): openssl accepts any, a kernel only id-data.
    let o = openssl(&[
        "cms".as_ref(),
        "-cmsout".as_ref(),
        "-print".as_ref(),
        "-noout".as_ref(),
        "-inform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        signature.as_os_str(),
    ])?;
    let print = String::from_utf8_lossy(&o.stdout);
    let ctype = print
        .lines()
        .find_map(|l| l.trim().strip_prefix("eContentType:"))
        .map(str::trim)
        .unwrap_or("none");
    ensure!(
        o.status.success() && ctype.ends_with(ID_DATA),
        "signed content of type {ctype}, not id-data: a kernel refuses it"
    );
    Ok(subject)
}

/// Why an image is not fit to be signed, if it is not: its manifest must
/// parse, and `pageset1`, `pageset1.sums` and `hashes` match it.
fn check_image(at: &Location, manifest: &[u8]) -> Result<(), String> {
    let h = Manifest::parse(manifest, sha256)
        .map_err(|e| format!("{MANIFEST_NAME}: {e}"))?
        .header;
    let get = |file: &str| match at.get(file) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(format!("no {file}")),
        Err(e) => Err(format!("{e:#}")),
    };
    let p1 = get(image::PAGESET1_NAME)?;
    if p1.len() as u64 != h.pageset1_len {
        return Err(format!(
            "{} is {} bytes, the manifest says {}",
            image::PAGESET1_NAME,
            p1.len(),
            h.pageset1_len
        ));
    }
    if sha256(&p1) != h.pageset1_sha256 {
        return Err(format!(
            "{}: SHA-256 mismatch with the manifest",
            image::PAGESET1_NAME
        ));
    }
    let sums = get(image::PAGESET1_SUMS_NAME)?;
    SegmentSums::parse(&h, &sums, sha256)
        .map_err(|e| format!("{}: {e}", image::PAGESET1_SUMS_NAME))?
        .check(&p1, sha256)
        .map_err(|e| format!("{}: {e}", image::PAGESET1_NAME))?;
    let hashes = get(image::HASHES_NAME)?;
    PageHashes::parse(&h, &hashes, sha256).map_err(|e| format!("{}: {e}", image::HASHES_NAME))?;
    Ok(())
}

/// `lazyresume sign`.
pub fn run(args: &SignArgs) -> Result<()> {
    let at = Location::parse(&args.image)?;
    let subject = cert_subject(&args.cert)?;
    readable(&args.key, "key")?;
    let manifest = at
        .get(MANIFEST_NAME)?
        .with_context(|| format!("refusing to sign {}: no manifest", at.describe()))?;
    if let Err(why) = check_image(&at, &manifest) {
        bail!("refusing to sign {}: {why}", at.describe());
    }
    let old = Manifest::parse(&manifest, sha256)
        .map_err(|e| anyhow!("{e}"))?
        .header;
    let mut h = old;
    if let Some(name) = &args.name {
        h.set_name(name).with_context(|| format!("--name {name}"))?;
    }
    if let Some(g) = args.generation {
        h.generation = g;
    }
    let new = Manifest::encode(&h, sha256).to_vec();
    // Sign before anything is written: a failure leaves the image as it
    // was.
    let sig = sign_detached(&new, &args.key, &args.cert)?;
    ensure!(
        sig.len() <= MAX_SIGNATURE_LEN,
        "the signature is {} bytes, a client fetches at most {MAX_SIGNATURE_LEN}",
        sig.len()
    );
    if new != manifest {
        at.put(MANIFEST_NAME, &new)?;
        // A loading set (and a stream) names the manifest it belongs to
        // by its SHA-256: bind it to the new one (its pages are checked
        // against the page hashes, which did not change).
        for name in [LOADSET_NAME, STREAM_NAME] {
            let Some(mut file) = at.get(name)? else {
                continue;
            };
            match LoadsetHeader::parse::<()>(&file, sha256, &sha256(&manifest), &old) {
                Ok(mut l) => {
                    l.manifest_sha256 = sha256(&new);
                    file[..LOADSET_HEADER_LEN].copy_from_slice(&l.encode(sha256));
                    at.put(name, &file)?;
                    println!("sign: {name} now belongs to the rewritten manifest");
                }
                Err(e) => println!("sign: {name} left as it is: {e}"),
            }
        }
    }
    at.put(SIGNATURE_NAME, &sig)?;
    if let Location::Tftp { name, .. } = &at {
        if h.name_str() != name {
            eprintln!(
                "sign: warning: the manifest names the image {}: clients that ask for {name} \
                 refuse it (--name {name} renames it)",
                h.name_str()
            );
        }
    }
    println!(
        "signed {}: image {}, generation {}, kernel {}, signature {} bytes, certificate {subject}",
        at.describe(),
        h.name_str(),
        h.generation,
        h.kernel_id_str(),
        sig.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_errors_come_out_as_one_line() {
        let e = b"Could not read signing key from c.pem\n\
            4007EC0E757F0000:error:1608010C:STORE routines:\
            ossl_store_handle_load_result:unsupported:../crypto/store/store_result.c:149:\n";
        assert_eq!(
            openssl_says(e),
            "Could not read signing key from c.pem: unsupported"
        );
        let e = b"40177CB3C47F0000:error:05800074:x509 certificate routines:\
            X509_check_private_key:key values mismatch:../crypto/x509/x509_cmp.c:403:\n";
        assert_eq!(openssl_says(e), "key values mismatch");
        assert_eq!(openssl_says(b"\n"), "no message");
    }
}
