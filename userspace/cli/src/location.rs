// SPDX-License-Identifier: GPL-2.0

//! Where an image is, for the commands that read and rewrite its files
//! on an admin host (`sign`, `make-stream`): a directory, or a directory
//! on a TFTP server that accepts uploads.

use anyhow::{Context, Result};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};

use crate::{store, tftp_download, tftp_upload};

/// Where an image is.
pub enum Location {
    /// A directory.
    Dir(PathBuf),
    /// `tftp://SERVER[:PORT]/PATH`.
    Tftp {
        /// The server.
        server: SocketAddrV4,
        /// The image's directory on it.
        name: String,
    },
}

impl Location {
    /// A directory, or a `tftp://` URL.
    pub fn parse(s: &str) -> Result<Self> {
        if s.starts_with("tftp://") {
            let (server, name) = store::parse_tftp_url(s)?;
            Ok(Self::Tftp { server, name })
        } else {
            Ok(Self::Dir(PathBuf::from(s)))
        }
    }

    /// File `file` of the image, `None` if it has none.
    pub fn get(&self, file: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Self::Dir(dir) => {
                let path = dir.join(file);
                match fs::read(&path) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
                }
            }
            Self::Tftp { server, name } => {
                match tftp_download::get(*server, &format!("{name}/{file}")) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.downcast_ref::<tftp_download::NotFound>().is_some() => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Writes file `file` of the image; in a directory through a new file
    /// renamed over the old one, so that a reader sees one or the other.
    pub fn put(&self, file: &str, bytes: &[u8]) -> Result<()> {
        match self {
            Self::Dir(dir) => {
                let path = dir.join(file);
                let new = dir.join(format!(".{file}.new"));
                File::create(&new)
                    .and_then(|mut f| {
                        f.write_all(bytes)?;
                        f.sync_all()
                    })
                    .and_then(|()| fs::rename(&new, &path))
                    .with_context(|| format!("writing {}", path.display()))
            }
            Self::Tftp { server, name } => {
                let mut data = bytes;
                tftp_upload::upload(
                    *server,
                    &format!("{name}/{file}"),
                    Some(bytes.len() as u64),
                    &mut data,
                    &mut |_| {},
                )
            }
        }
    }

    /// A scratch file to write file `file` of the image into before
    /// [`Location::put_from`]: beside it in a directory (so that a rename
    /// puts it in place), in the temporary directory otherwise.
    pub fn scratch(&self, file: &str) -> PathBuf {
        match self {
            Self::Dir(dir) => dir.join(format!(".{file}.new")),
            Self::Tftp { .. } => {
                std::env::temp_dir().join(format!("lazyresume-{file}.{}", std::process::id()))
            }
        }
    }

    /// Writes file `file` of the image from the scratch file `from` (see
    /// [`Location::scratch`]), which it consumes: in a directory by a
    /// rename, so that a reader sees the old file or the new one.
    pub fn put_from(&self, file: &str, from: &Path) -> Result<()> {
        match self {
            Self::Dir(dir) => {
                let path = dir.join(file);
                File::open(from)
                    .and_then(|f| f.sync_all())
                    .and_then(|()| fs::rename(from, &path))
                    .with_context(|| format!("writing {}", path.display()))
            }
            Self::Tftp { server, name } => {
                let f = File::open(from).with_context(|| format!("reading {}", from.display()))?;
                let len = f.metadata()?.len();
                let mut data = std::io::BufReader::new(f);
                let r = tftp_upload::upload(
                    *server,
                    &format!("{name}/{file}"),
                    Some(len),
                    &mut data,
                    &mut |_| {},
                );
                let _ = fs::remove_file(from);
                r
            }
        }
    }

    /// Where the image is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(dir) => dir.display().to_string(),
            Self::Tftp { server, name } => format!("tftp://{server}/{name}"),
        }
    }
}
