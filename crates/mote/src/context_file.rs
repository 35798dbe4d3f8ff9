//! OSCORE context files of the networked commands and the file-backed Sender Sequence Number
//! store of RFC 8613 Appendix B.1.1 (the file formats are in `docs/cli.md`).

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Result;
use mote_oscore::SecurityContext;
use mote_oscore::sequence::SequenceStore;

use crate::commands::oscore::ContextInputs;

/// The file-backed Sender Sequence Number store of RFC 8613 Appendix B.1.1: the value is
/// written to a temporary file, fsync'd, renamed over the store file, and the directory is
/// fsync'd, before the sequence number is used.
///
/// A context derived by EDHOC has no file ([`FileSequenceStore::none`]): it starts at 0 and a
/// new handshake replaces it (Appendix B.1.1 does not apply).
#[derive(Debug)]
pub(crate) struct FileSequenceStore {
    path: Option<PathBuf>,
}

impl FileSequenceStore {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path: Some(path) }
    }

    /// No file: for contexts that live as long as the process (EDHOC-derived).
    pub(crate) fn none() -> Self {
        Self { path: None }
    }
}

impl SequenceStore for FileSequenceStore {
    fn load(&mut self) -> Result<Option<u64>, mote_oscore::Error> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let mut s = String::new();
        match File::open(path) {
            Ok(mut f) => {
                f.read_to_string(&mut s)
                    .map_err(|_| mote_oscore::Error::Store)?;
                s.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| mote_oscore::Error::Store)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(_) => Err(mote_oscore::Error::Store),
        }
    }

    fn store(&mut self, seq: u64) -> Result<(), mote_oscore::Error> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&tmp)?;
            f.write_all(seq.to_string().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|_| mote_oscore::Error::Store)
    }
}

/// K and F of Appendix B.1.1 used by the command-line tools.
pub(crate) const SEQUENCE_K: u64 = 16;

/// A context from a context file whose sequence number persists next to it
/// (`<file>.seq`, or the file's `"sequence_file"`), after a (re)start.
pub(crate) fn persistent_context(
    path: &Path,
    window_from_echo: bool,
) -> Result<SecurityContext<FileSequenceStore>> {
    let inputs = ContextInputs::load(path)?;
    let seq_path = inputs
        .sequence_file
        .clone()
        .unwrap_or_else(|| path.with_extension("seq"));
    let store = FileSequenceStore::new(seq_path);
    Ok(SecurityContext::restore(
        &inputs.params(),
        store,
        SEQUENCE_K,
        SEQUENCE_K,
        window_from_echo,
    )?)
}
