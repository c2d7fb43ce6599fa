// SPDX-License-Identifier: GPL-2.0

//! Where `lazyresume capture` puts an image: a TFTP server that accepts
//! uploads, or a directory.

use anyhow::{bail, Context, Result};
use lazyresume_abi as abi;
use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use crate::tftp_upload::{self, Reader};

/// pageset2 pages uploaded at once.
const PARALLEL_UPLOADS: usize = 16;

/// An image store.
pub enum Store {
    /// `tftp://HOST[:PORT]/NAME`: files `NAME/...` on the server.
    Tftp {
        /// The server.
        server: SocketAddrV4,
        /// The image name (its directory on the server).
        name: String,
    },
    /// A directory, named like the image.
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Its last component: the image name clients ask for.
        name: String,
    },
}

/// `tftp://HOST[:PORT]/NAME`.
pub fn parse_tftp_url(url: &str) -> Result<(SocketAddrV4, String)> {
    let rest = url
        .strip_prefix("tftp://")
        .with_context(|| format!("{url}: not a tftp://HOST[:PORT]/NAME URL"))?;
    let (host, name) = rest
        .split_once('/')
        .with_context(|| format!("{url}: no /NAME"))?;
    let server = parse_server(host).with_context(|| format!("{url}: bad HOST[:PORT]"))?;
    Ok((server, check_name(name.trim_end_matches('/'))?))
}

/// `ADDRESS[:PORT]`, port 69 by default.
pub fn parse_server(s: &str) -> Result<SocketAddrV4> {
    if let Ok(a) = s.parse::<SocketAddrV4>() {
        return Ok(a);
    }
    Ok(SocketAddrV4::new(
        s.parse::<Ipv4Addr>()
            .with_context(|| format!("{s}: not an IPv4 ADDRESS[:PORT]"))?,
        69,
    ))
}

/// An image name fits the ABI and stays inside the store.
fn check_name(name: &str) -> Result<String> {
    if name.is_empty() || name.len() >= abi::IMAGE_NAME_LEN - 8 || name.contains("..") {
        bail!("bad image name '{name}'");
    }
    Ok(name.to_string())
}

impl Store {
    /// A directory store; the directory is created if needed.
    pub fn dir(dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let name = dir
            .canonicalize()?
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .context("the directory has no name")?;
        Ok(Self::Dir {
            name: check_name(&name)?,
            dir,
        })
    }

    /// The image name.
    pub fn name(&self) -> &str {
        match self {
            Self::Tftp { name, .. } | Self::Dir { name, .. } => name,
        }
    }

    /// Where the store is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Tftp { server, name } => format!("tftp://{server}/{name}"),
            Self::Dir { dir, .. } => dir.display().to_string(),
        }
    }

    /// Writes the pageset2 chunk files `chunks` yields, `(chunk index,
    /// bytes)`; `progress` gets the number written so far.
    pub fn put_chunks(
        &self,
        chunks: &mut dyn Iterator<Item = Result<(u64, Vec<u8>)>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        let file = |i: u64| {
            let mut n = [0u8; lazyresume_image::CHUNK_NAME_LEN];
            lazyresume_image::chunk_name(i, &mut n);
            String::from_utf8_lossy(&n).into_owned()
        };
        match self {
            Self::Tftp { server, name } => {
                let mut files = chunks.map(|p| p.map(|(i, b)| (format!("{name}/{}", file(i)), b)));
                tftp_upload::upload_many(*server, &mut files, PARALLEL_UPLOADS, progress)
            }
            Self::Dir { dir, .. } => {
                let mut n = 0;
                for p in chunks {
                    let (i, bytes) = p?;
                    std::fs::write(dir.join(file(i)), bytes)?;
                    n += 1;
                    progress(n);
                }
                Ok(n)
            }
        }
    }

    /// Writes file `file` of `len` bytes (if known in advance) read from
    /// `data`.
    pub fn put(
        &self,
        file: &str,
        len: Option<u64>,
        data: &mut dyn Reader,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        match self {
            Self::Tftp { server, name } => {
                tftp_upload::upload(*server, &format!("{name}/{file}"), len, data, progress)
            }
            Self::Dir { dir, .. } => {
                let path = dir.join(file);
                let mut f = File::create(&path)?;
                let mut buf = vec![0u8; 1 << 20];
                let mut done = 0;
                loop {
                    progress(done);
                    let n = data.read_full(&mut buf)?;
                    f.write_all(&buf[..n])?;
                    done += n as u64;
                    if n < buf.len() {
                        break;
                    }
                }
                f.sync_all()
                    .with_context(|| format!("writing {}", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let (s, n) = parse_tftp_url("tftp://10.0.2.2:6969/golden/").unwrap();
        assert_eq!(s, "10.0.2.2:6969".parse().unwrap());
        assert_eq!(n, "golden");
        let (s, _) = parse_tftp_url("tftp://10.0.2.2/a").unwrap();
        assert_eq!(s.port(), 69);
        assert!(parse_tftp_url("http://x/a").is_err());
        assert!(parse_tftp_url("tftp://10.0.2.2").is_err());
        assert!(parse_tftp_url("tftp://10.0.2.2/").is_err());
        assert!(parse_tftp_url("tftp://10.0.2.2/../etc").is_err());
        assert!(parse_tftp_url("tftp://host.example/a").is_err());
    }
}
