//! OSCORE context files of the networked commands and the file-backed Sender Sequence Number
//! store of RFC 8613 Appendix B.1.1 (the file formats are in `docs/cli.md`).
//!
//! # Why a number handed out here is never handed out again
//!
//! RFC 8613 §7.2.1: a (Sender ID, Partial IV) pair must never be used twice with one Sender Key,
//! or two ciphertexts XOR to the XOR of their plaintexts. Three rules make that hold across
//! restarts, crashes and concurrent processes:
//!
//! 1. **Freshness must be provable, never assumed.** The first time a context is used, the
//!    sequence file is created (durably) and *then* the context file records `"used": true`.
//!    From then on a missing, unreadable or corrupt sequence file is refused with an error
//!    instead of restarting at 0 — whether the file was deleted, lost in a crash of the
//!    filesystem, or the context file was copied to another device without it. We chose refusal
//!    over a "safe jump" (a large step plus the Echo exchange of App. B.1.2): no step size is
//!    provably large enough for a context of unknown history, and Echo only protects the
//!    *server's* replay window, not the *sender's* nonces. The operator restores the file or
//!    provisions a new context (new Master Secret, Master Salt or ID Context, RFC 8613 §3.2).
//!    A brand-new context (no `"used"`, no sequence file) still starts at 0 without ceremony.
//!    The order matters: the sequence file is durable before the mark, so a crash between the
//!    two leaves an unmarked context with a sequence file, which is read normally.
//! 2. **One user at a time.** Every read → reserve → store runs under an advisory lock on
//!    `<sequence file>.lock` (the `fs4` crate: `flock(2)` on Unix). Opening a context
//!    reads the stored value `s` and at once reserves `s + F` in the file (App. B.1.1), so a
//!    second process started concurrently reserves a block above it. Each later store checks
//!    that the file still holds this store's own last reservation; if another user has moved it,
//!    the store fails (fail closed: the message is not sent) rather than use numbers that the
//!    other user may have reserved.
//! 3. **Durable before use.** A value is written to `<file>.tmp`, the tmp file is fsync'd,
//!    renamed over the file, and the directory is fsync'd; only then does the store return
//!    `Ok` and the context may use the numbers (every step goes through [`StoreFs`], so the
//!    order is tested with a recording filesystem that can crash at each step).
//!
//! A context file holds the Master Secret: on Unix one that group or others may read or write
//! is refused ([`check_private`]), with the `chmod 600` that fixes it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use mote_oscore::SecurityContext;
use mote_oscore::sequence::SequenceStore;

use crate::commands::oscore::ContextInputs;

/// The filesystem steps of the store, one method per step whose order makes App. B.1.1 durable.
pub(crate) trait StoreFs {
    /// Held while it lives: an exclusive advisory lock.
    type Lock;
    /// Takes the exclusive advisory lock of `path` (creating the file), waiting for it.
    fn lock(&mut self, path: &Path) -> io::Result<Self::Lock>;
    /// The whole content of `path`, `None` if it does not exist.
    fn read(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Creates or truncates `tmp` and writes `bytes` (not yet durable).
    fn write_tmp(&mut self, tmp: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Makes the content of `path` durable (`fsync(2)`).
    fn fsync_file(&mut self, path: &Path) -> io::Result<()>;
    /// Atomically replaces `to` by `from` (not yet durable).
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the entries of directory `dir` (a rename) durable.
    fn fsync_dir(&mut self, dir: &Path) -> io::Result<()>;
}

/// [`StoreFs`] on the real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StdFs;

impl StoreFs for StdFs {
    type Lock = File;

    fn lock(&mut self, path: &Path) -> io::Result<File> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        // `fs4` rather than `File::lock`, which needs Rust 1.89 (the workspace declares 1.85).
        fs4::FileExt::lock(&f)?;
        Ok(f)
    }

    fn read(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write_tmp(&mut self, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
        match std::fs::remove_file(tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut o = OpenOptions::new();
        o.create_new(true).write(true);
        // The context file holds the Master Secret: its rewrite must not widen access.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(tmp)?.write_all(bytes)
    }

    fn fsync_file(&mut self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn fsync_dir(&mut self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// What went wrong with a sequence file or the context file beside it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SequenceFileError {
    /// The context was used, but its sequence file is gone.
    #[error(
        "{} has been used but its sequence file {} is missing: the Sender Sequence Number cannot \
         be proved fresh (RFC 8613 App. B.1.1); restore the file or provision a new context (new \
         Master Secret, Master Salt or ID Context)",
        .context.display(),
        .seq.display()
    )]
    Missing {
        /// The context file.
        context: PathBuf,
        /// The sequence file.
        seq: PathBuf,
    },
    /// The sequence file does not hold one decimal number.
    #[error(
        "sequence file {} is corrupt ({content:?}): the Sender Sequence Number cannot be proved \
         fresh (RFC 8613 App. B.1.1); restore the file or provision a new context",
        .seq.display()
    )]
    Corrupt {
        /// The sequence file.
        seq: PathBuf,
        /// What it holds (lossy UTF-8).
        content: String,
    },
    /// Another user of the context moved the sequence file since this store's reservation.
    #[error(
        "sequence file {} was advanced by another user of the same context; stopping so that no \
         Partial IV is used twice (RFC 8613 §7.2.1)",
        .seq.display()
    )]
    Concurrent {
        /// The sequence file.
        seq: PathBuf,
    },
    /// The context file cannot be read back or is not a valid context file.
    #[error("context file {}: {reason}", .context.display())]
    Context {
        /// The context file.
        context: PathBuf,
        /// Why.
        reason: String,
    },
    /// Resuming at `s + F` would leave the sequence number space.
    #[error("the Sender Sequence Number space of this context is exhausted")]
    Exhausted,
    /// A filesystem step failed.
    #[error("cannot {step} {}: {source}", .path.display())]
    Io {
        /// The step (`lock`, `read`, `write`, `fsync`, `rename`, `fsync the directory of`).
        step: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

fn io_error(step: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SequenceFileError {
    let path = path.to_path_buf();
    move |source| SequenceFileError::Io { step, path, source }
}

/// `path` with `suffix` appended to its file name (`a.seq` → `a.seq.tmp`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Replaces `path` by `bytes` durably: write tmp → fsync → rename → fsync the directory.
fn write_durably<F: StoreFs>(
    fs: &mut F,
    path: &Path,
    bytes: &[u8],
) -> Result<(), SequenceFileError> {
    let tmp = with_suffix(path, ".tmp");
    fs.write_tmp(&tmp, bytes).map_err(io_error("write", &tmp))?;
    fs.fsync_file(&tmp).map_err(io_error("fsync", &tmp))?;
    fs.rename(&tmp, path).map_err(io_error("rename", &tmp))?;
    let dir = parent_dir(path);
    fs.fsync_dir(dir)
        .map_err(io_error("fsync the directory of", path))
}

/// The stored value of the sequence file, `None` if the file does not exist.
fn read_sequence<F: StoreFs>(fs: &mut F, seq: &Path) -> Result<Option<u64>, SequenceFileError> {
    let Some(bytes) = fs.read(seq).map_err(io_error("read", seq))? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| SequenceFileError::Corrupt {
            seq: seq.to_path_buf(),
            content: text.into_owned(),
        })
}

/// The files of one persistent context.
#[derive(Debug)]
struct Files {
    seq: PathBuf,
    lock: PathBuf,
    context: PathBuf,
    /// F of App. B.1.1.
    f: u64,
}

/// The file-backed Sender Sequence Number store of RFC 8613 Appendix B.1.1 (see the module
/// docs for the freshness, locking and durability rules).
///
/// A context derived by EDHOC has no file ([`FileSequenceStore::none`]): it starts at 0 and a
/// new handshake replaces it (Appendix B.1.1 does not apply).
#[derive(Debug)]
pub(crate) struct FileSequenceStore<F: StoreFs = StdFs> {
    fs: F,
    files: Option<Files>,
    /// What [`open`](Self::open) read (`Some(None)`: a brand-new context).
    loaded: Option<Option<u64>>,
    /// The value the sequence file holds by this store's last durable write.
    reserved: u64,
    /// A value whose write failed part-way: the file may hold it.
    pending: Option<u64>,
}

/// [`FileSequenceStore::none`]: what the EDHOC layer gives the contexts it derives.
impl Default for FileSequenceStore {
    fn default() -> Self {
        Self::none()
    }
}

impl FileSequenceStore {
    /// No file: for contexts that live as long as the process (EDHOC-derived).
    pub(crate) fn none() -> Self {
        Self {
            fs: StdFs,
            files: None,
            loaded: None,
            reserved: 0,
            pending: None,
        }
    }
}

impl<F: StoreFs> FileSequenceStore<F> {
    /// The store of the context file `context` whose sequence number lives in `seq`; after a
    /// restart, sending resumes `f` numbers above the stored value.
    pub(crate) fn with_fs(fs: F, seq: PathBuf, context: PathBuf, f: u64) -> Self {
        Self {
            fs,
            files: Some(Files {
                lock: with_suffix(&seq, ".lock"),
                seq,
                context,
                f,
            }),
            loaded: None,
            reserved: 0,
            pending: None,
        }
    }

    /// Under the lock: reads the stored value `s` (refusing a used context whose file is
    /// missing or corrupt), reserves `s + F` durably (0 for a brand-new context), and marks a
    /// new context file `"used"`. Returns `s`; later calls return the same value.
    pub(crate) fn open(&mut self) -> Result<Option<u64>, SequenceFileError> {
        let Some(files) = &self.files else {
            return Ok(None);
        };
        if let Some(loaded) = self.loaded {
            return Ok(loaded);
        }
        let _lock = self
            .fs
            .lock(&files.lock)
            .map_err(io_error("lock", &files.lock))?;
        let stored = read_sequence(&mut self.fs, &files.seq)?;
        let context_error = |reason: String| SequenceFileError::Context {
            context: files.context.clone(),
            reason,
        };
        let text = self
            .fs
            .read(&files.context)
            .map_err(io_error("read", &files.context))?
            .ok_or_else(|| context_error("not found".into()))?;
        let text = String::from_utf8(text).map_err(|e| context_error(e.to_string()))?;
        let used = ContextInputs::parse(&files.context, &text)
            .map_err(|e| context_error(format!("{e:#}")))?
            .used;
        // Finding: a missing file must not restart a used context at 0 (module docs, rule 1).
        if used && stored.is_none() {
            return Err(SequenceFileError::Missing {
                context: files.context.clone(),
                seq: files.seq.clone(),
            });
        }
        // RFC 8613 App. B.1.1: resume at s + F; reserve it now, under the lock, so a concurrent
        // opener reads it and goes above.
        let start = match stored {
            None => 0,
            Some(s) => s.checked_add(files.f).ok_or(SequenceFileError::Exhausted)?,
        };
        write_durably(&mut self.fs, &files.seq, start.to_string().as_bytes())?;
        if !used {
            // Only now that the sequence file is durable may the context say it was used.
            let mut json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| context_error(e.to_string()))?;
            let obj = json
                .as_object_mut()
                .ok_or_else(|| context_error("not a JSON object".into()))?;
            obj.insert("used".into(), serde_json::Value::Bool(true));
            let mut out =
                serde_json::to_vec_pretty(&json).map_err(|e| context_error(e.to_string()))?;
            out.push(b'\n');
            write_durably(&mut self.fs, &files.context, &out)?;
        }
        self.loaded = Some(stored);
        self.reserved = start;
        Ok(stored)
    }

    /// The durable store of `seq` (see [`SequenceStore::store`]).
    fn store_checked(&mut self, seq: u64) -> Result<(), SequenceFileError> {
        let Some(files) = &self.files else {
            return Ok(());
        };
        if self.loaded.is_none() {
            self.open()?;
            return self.store_checked(seq);
        }
        if seq == self.reserved {
            // Already durable: `open` reserved exactly this value.
            return Ok(());
        }
        let _lock = self
            .fs
            .lock(&files.lock)
            .map_err(io_error("lock", &files.lock))?;
        let current = read_sequence(&mut self.fs, &files.seq)?;
        let ours = current == Some(self.reserved) || current.is_some() && current == self.pending;
        if !ours || seq < self.reserved {
            return Err(SequenceFileError::Concurrent {
                seq: files.seq.clone(),
            });
        }
        self.pending = Some(seq);
        write_durably(&mut self.fs, &files.seq, seq.to_string().as_bytes())?;
        self.pending = None;
        self.reserved = seq;
        Ok(())
    }
}

impl<F: StoreFs> SequenceStore for FileSequenceStore<F> {
    fn load(&mut self) -> Result<Option<u64>, mote_oscore::Error> {
        self.open().map_err(|e| {
            tracing::error!("{e}");
            mote_oscore::Error::Store
        })
    }

    fn store(&mut self, seq: u64) -> Result<(), mote_oscore::Error> {
        self.store_checked(seq).map_err(|e| {
            tracing::error!("{e}");
            mote_oscore::Error::Store
        })
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
    check_private(path)?;
    persistent_context_on(StdFs, path, window_from_echo)
}

/// Writes `bytes` to `path` readable and writable by its owner only (0600 on Unix), as a
/// file holding a secret must be ([`check_private`]); an existing file is restricted too.
///
/// # Errors
/// Creating, restricting or writing the file.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.sync_all()
}

/// Refuses a context file that group or others can read or write: it holds the Master
/// Secret (RFC 8613 §3.1), and anyone who can read it can impersonate either peer, anyone
/// who can write it can swap the keys. Not checked off Unix (no such mode bits).
///
/// # Errors
/// The file's metadata cannot be read, or its mode has any of the bits `0o077`.
pub(crate) fn check_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{} holds an OSCORE master secret but group or others may read or write it \
                 (mode {mode:03o}); restrict it to its owner: chmod 600 {}",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Whether the context file at `path` makes its context an RFC 8613 Appendix B.2 root (the
/// `"appendix_b2"` key, `default` when absent: true for the LwM2M roles, whose TS 1.2
/// Transport OSCORE section requires the procedure on first use of a context).
pub(crate) fn appendix_b2(path: &Path, default: bool) -> Result<bool> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(ContextInputs::parse(path, &text)?
        .appendix_b2
        .unwrap_or(default))
}

/// Adds `context` to `oscore`, as an Appendix B.2 root when `b2` (see [`appendix_b2`]).
pub(crate) fn add_context<S, R>(
    oscore: &mut mote_oscore::endpoint::OscoreProtection<S, R>,
    context: SecurityContext<S>,
    b2: bool,
) -> Result<mote_oscore::endpoint::ContextId, mote_oscore::endpoint::ContextSetError>
where
    S: SequenceStore,
    R: mote_coap::transmission::RandomSource,
{
    if b2 {
        oscore.add_context_b2(context)
    } else {
        oscore.add_context(context)
    }
}

/// [`persistent_context`] on any [`StoreFs`].
pub(crate) fn persistent_context_on<F: StoreFs>(
    mut fs: F,
    path: &Path,
    window_from_echo: bool,
) -> Result<SecurityContext<FileSequenceStore<F>>> {
    let text = fs
        .read(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .ok_or_else(|| anyhow!("cannot read {}: not found", path.display()))?;
    let text =
        String::from_utf8(text).with_context(|| format!("{} is not UTF-8", path.display()))?;
    let inputs = ContextInputs::parse(path, &text)?;
    let seq_path = inputs
        .sequence_file
        .clone()
        .unwrap_or_else(|| path.with_extension("seq"));
    let mut store = FileSequenceStore::with_fs(fs, seq_path, path.to_path_buf(), SEQUENCE_K);
    store.open()?;
    Ok(SecurityContext::restore(
        &inputs.params(),
        store,
        SEQUENCE_K,
        SEQUENCE_K,
        window_from_echo,
    )?)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use std::cell::RefCell;
    use std::collections::{BTreeMap, BTreeSet};
    use std::rc::Rc;
    use std::sync::{Arc, Mutex};

    use mote_coap::code::{Code, MessageType};
    use mote_coap::message::MessageWriter;
    use mote_oscore::{Framing, peek_oscore_option};

    use super::*;

    const CONTEXT: &str = r#"{"master_secret":"0102030405060708090a0b0c0d0e0f10","sender_id":"00","recipient_id":"01"}"#;

    /// Protects a GET: the Partial IV it carries, as a number.
    fn take<F: StoreFs>(
        ctx: &mut SecurityContext<FileSequenceStore<F>>,
    ) -> Result<u64, mote_oscore::Error> {
        let mut rb = [0u8; 32];
        let w = MessageWriter::new(&mut rb, MessageType::Con, Code::GET, 1, &[1]).unwrap();
        let n = w.payload(&[]).unwrap();
        let mut out = [0u8; 128];
        let (m, _) = ctx.protect_request(Framing::Udp, &rb[..n], &mut out)?;
        let opt = peek_oscore_option(Framing::Udp, &out[..m]).unwrap();
        Ok(opt
            .partial_iv
            .unwrap()
            .iter()
            .fold(0, |a, b| a << 8 | u64::from(*b)))
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mote-seq-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    // ----- real filesystem -----

    /// Finding 14: a context file that group or others can read or write holds a master
    /// secret they can use; it is refused with the fix in the message.
    #[cfg(unix)]
    #[test]
    fn a_context_file_others_can_read_or_write_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_dir("perm");
        let ctx_file = dir.join("c.json");
        write_private(&ctx_file, CONTEXT.as_bytes()).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o606] {
            std::fs::set_permissions(&ctx_file, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = persistent_context(&ctx_file, false)
                .err()
                .unwrap_or_else(|| panic!("mode {mode:o} accepted"));
            let text = format!("{err:#}");
            assert!(text.contains("chmod 600"), "{text}");
            assert!(text.contains(&format!("{mode:03o}")), "{text}");
            assert!(
                crate::commands::oscore::ContextInputs::load(&ctx_file).is_err(),
                "mode {mode:o} accepted by ContextInputs::load"
            );
            // Nothing was created or marked for a refused file.
            assert!(!dir.join("c.seq").exists());
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&ctx_file, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(crate::commands::oscore::ContextInputs::load(&ctx_file).is_ok());
        }
        std::fs::set_permissions(&ctx_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(persistent_context(&ctx_file, false).is_ok());
    }

    /// `write_private` restricts an older, readable file of the same name too.
    #[cfg(unix)]
    #[test]
    fn write_private_leaves_the_file_to_its_owner() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_dir("write-private");
        let f = dir.join("x.json");
        std::fs::write(&f, "old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        write_private(&f, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn first_use_needs_no_ceremony_and_marks_the_context() {
        let dir = temp_dir("first");
        let ctx_file = dir.join("c.json");
        write_private(&ctx_file, CONTEXT.as_bytes()).unwrap();
        let mut ctx = persistent_context(&ctx_file, false).unwrap();
        assert_eq!(take(&mut ctx).unwrap(), 0);
        assert_eq!(take(&mut ctx).unwrap(), 1);
        drop(ctx);
        assert_eq!(std::fs::read_to_string(dir.join("c.seq")).unwrap(), "0");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&ctx_file).unwrap()).unwrap();
        assert_eq!(json["used"], serde_json::Value::Bool(true));
        assert_eq!(json["sender_id"], "00");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&ctx_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "context file rewritten readable by others");
        }
        // A restart resumes at s + F = 16.
        let mut ctx = persistent_context(&ctx_file, false).unwrap();
        assert_eq!(take(&mut ctx).unwrap(), 16);
    }

    #[test]
    fn used_context_without_a_provably_fresh_sequence_file_is_refused() {
        let dir = temp_dir("refuse");
        let ctx_file = dir.join("c.json");
        write_private(&ctx_file, CONTEXT.as_bytes()).unwrap();
        let mut ctx = persistent_context(&ctx_file, false).unwrap();
        assert_eq!(take(&mut ctx).unwrap(), 0);
        drop(ctx);
        let seq = dir.join("c.seq");

        std::fs::remove_file(&seq).unwrap();
        let e = format!("{:#}", persistent_context(&ctx_file, false).unwrap_err());
        assert!(
            e.contains("is missing") && e.contains("cannot be proved fresh"),
            "{e}"
        );
        assert!(!seq.exists(), "a refused open must not create the file");

        for corrupt in ["", "12x", "-1", "99999999999999999999999"] {
            std::fs::write(&seq, corrupt).unwrap();
            let e = format!("{:#}", persistent_context(&ctx_file, false).unwrap_err());
            assert!(e.contains("is corrupt"), "{corrupt:?}: {e}");
        }

        // A used context file copied elsewhere without its sequence file.
        let copy = dir.join("copy.json");
        std::fs::copy(&ctx_file, &copy).unwrap();
        let e = format!("{:#}", persistent_context(&copy, false).unwrap_err());
        assert!(e.contains("is missing"), "{e}");
    }

    /// Delays a filesystem step so that unserialized users interleave.
    struct SlowFs;

    impl StoreFs for SlowFs {
        type Lock = File;
        fn lock(&mut self, path: &Path) -> io::Result<File> {
            StdFs.lock(path)
        }
        fn read(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
            let r = StdFs.read(path);
            std::thread::sleep(std::time::Duration::from_micros(300));
            r
        }
        fn write_tmp(&mut self, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
            StdFs.write_tmp(tmp, bytes)
        }
        fn fsync_file(&mut self, path: &Path) -> io::Result<()> {
            StdFs.fsync_file(path)
        }
        fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
            StdFs.rename(from, to)
        }
        fn fsync_dir(&mut self, dir: &Path) -> io::Result<()> {
            StdFs.fsync_dir(dir)
        }
    }

    #[test]
    fn threads_hammering_one_context_file_never_share_a_number() {
        let dir = temp_dir("hammer");
        let ctx_file = dir.join("c.json");
        write_private(&ctx_file, CONTEXT.as_bytes()).unwrap();
        let handed_out = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let ctx_file = ctx_file.clone();
                let handed_out = handed_out.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        // A refusal (another user moved the file) is the safe outcome.
                        let Ok(mut ctx) = persistent_context_on(SlowFs, &ctx_file, false) else {
                            continue;
                        };
                        for _ in 0..20 {
                            let Ok(n) = take(&mut ctx) else { break };
                            handed_out.lock().unwrap().push(n);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let all = handed_out.lock().unwrap();
        let distinct: BTreeSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "a number was handed out twice");
        assert!(all.len() >= 100, "too little progress: {}", all.len());
    }

    // ----- recording, failing and crashing filesystem -----

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Op {
        Lock(String),
        Read(String),
        WriteTmp(String, String),
        FsyncFile(String),
        Rename(String, String),
        FsyncDir,
        /// Not a filesystem step: the context handed this number out.
        Used(u64),
    }

    /// One directory in memory. Written data and renames are volatile until fsync'd; a crash
    /// forgets everything volatile (the worst a real filesystem may do).
    #[derive(Debug, Default)]
    struct Disk {
        dir: BTreeMap<String, u64>,
        durable_dir: BTreeMap<String, u64>,
        data: BTreeMap<u64, Vec<u8>>,
        durable_data: BTreeMap<u64, Vec<u8>>,
        next_inode: u64,
        log: Vec<Op>,
        steps: usize,
        /// The step (index in `steps`) at which the machine crashes; later steps fail too.
        crash_at: Option<usize>,
        crashed: bool,
        /// The step that fails once (an I/O error) without a crash.
        fail_at: Option<usize>,
    }

    impl Disk {
        fn crash(&mut self) {
            self.crashed = true;
            self.dir = self.durable_dir.clone();
            for (inode, data) in &mut self.data {
                *data = self.durable_data.get(inode).cloned().unwrap_or_default();
            }
        }

        /// The reboot after a crash.
        fn restart(&mut self) {
            self.crashed = false;
            self.crash_at = None;
        }

        fn step(&mut self, op: Op) -> io::Result<()> {
            let n = self.steps;
            self.steps += 1;
            if self.crash_at == Some(n) {
                self.crash();
            }
            if self.crashed || self.fail_at == Some(n) {
                return Err(io::Error::other("injected"));
            }
            self.log.push(op);
            Ok(())
        }
    }

    #[derive(Debug, Clone, Default)]
    struct ModelFs(Rc<RefCell<Disk>>);

    fn name(path: &Path) -> String {
        path.file_name().unwrap().to_string_lossy().into_owned()
    }

    impl ModelFs {
        fn with_context(text: &str) -> Self {
            let fs = Self::default();
            {
                let mut d = fs.0.borrow_mut();
                d.dir.insert("c.json".into(), 0);
                d.data.insert(0, text.as_bytes().to_vec());
                d.durable_dir = d.dir.clone();
                d.durable_data = d.data.clone();
                d.next_inode = 1;
            }
            fs
        }

        fn used(&self, n: u64) {
            self.0.borrow_mut().log.push(Op::Used(n));
        }
    }

    impl StoreFs for ModelFs {
        type Lock = ();
        fn lock(&mut self, path: &Path) -> io::Result<()> {
            self.0.borrow_mut().step(Op::Lock(name(path)))
        }
        fn read(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
            let mut d = self.0.borrow_mut();
            d.step(Op::Read(name(path)))?;
            Ok(d.dir.get(&name(path)).map(|i| d.data[i].clone()))
        }
        fn write_tmp(&mut self, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
            let mut d = self.0.borrow_mut();
            let text = String::from_utf8_lossy(bytes).into_owned();
            d.step(Op::WriteTmp(name(tmp), text))?;
            let inode = d.next_inode;
            d.next_inode += 1;
            d.dir.insert(name(tmp), inode);
            d.data.insert(inode, bytes.to_vec());
            Ok(())
        }
        fn fsync_file(&mut self, path: &Path) -> io::Result<()> {
            let mut d = self.0.borrow_mut();
            d.step(Op::FsyncFile(name(path)))?;
            let inode = d.dir[&name(path)];
            let data = d.data[&inode].clone();
            d.durable_data.insert(inode, data);
            Ok(())
        }
        fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
            let mut d = self.0.borrow_mut();
            d.step(Op::Rename(name(from), name(to)))?;
            let inode = d.dir.remove(&name(from)).unwrap();
            d.dir.insert(name(to), inode);
            Ok(())
        }
        fn fsync_dir(&mut self, _dir: &Path) -> io::Result<()> {
            let mut d = self.0.borrow_mut();
            d.step(Op::FsyncDir)?;
            d.durable_dir = d.dir.clone();
            Ok(())
        }
    }

    /// One run of the client: open the context and send up to `count` messages; the numbers
    /// handed out before the first error.
    fn session(fs: &ModelFs, count: usize) -> (Vec<u64>, bool) {
        let mut out = Vec::new();
        let Ok(mut ctx) = persistent_context_on(fs.clone(), Path::new("/m/c.json"), false) else {
            return (out, false);
        };
        for _ in 0..count {
            match take(&mut ctx) {
                Ok(n) => {
                    fs.used(n);
                    out.push(n);
                }
                Err(_) => return (out, false),
            }
        }
        (out, true)
    }

    fn durable_write(file: &str, value: &str) -> Vec<Op> {
        let tmp = format!("{file}.tmp");
        vec![
            Op::WriteTmp(tmp.clone(), value.into()),
            Op::FsyncFile(tmp.clone()),
            Op::Rename(tmp, file.into()),
            Op::FsyncDir,
        ]
    }

    #[test]
    fn every_store_is_write_fsync_rename_fsync_dir_before_the_number_is_used() {
        let fs = ModelFs::with_context(CONTEXT);
        let (used, ok) = session(&fs, 17);
        assert!(ok);
        assert_eq!(used, (0..17).collect::<Vec<_>>());
        let log = fs.0.borrow().log.clone();
        let seq_ops: Vec<Op> = log
            .iter()
            .filter(|op| match op {
                Op::WriteTmp(f, _) | Op::FsyncFile(f) | Op::Rename(f, _) | Op::Read(f) => {
                    f.starts_with("c.seq")
                }
                Op::Lock(_) | Op::FsyncDir | Op::Used(_) => true,
            })
            .cloned()
            .collect();
        let mut expected = vec![Op::Lock("c.seq.lock".into()), Op::Read("c.seq".into())];
        expected.extend(durable_write("c.seq", "0"));
        // The context file is marked "used" only after the sequence file is durable.
        expected.push(Op::FsyncDir);
        expected.extend((0..16).map(Op::Used));
        expected.extend([Op::Lock("c.seq.lock".into()), Op::Read("c.seq".into())]);
        expected.extend(durable_write("c.seq", "16"));
        expected.push(Op::Used(16));
        assert_eq!(seq_ops, expected);
        // The mark: the context file itself, through the same four steps.
        let ctx_writes: Vec<&Op> = log
            .iter()
            .filter(|op| matches!(op, Op::WriteTmp(f, _) | Op::FsyncFile(f) | Op::Rename(f, _) if f.starts_with("c.json")))
            .collect();
        assert_eq!(ctx_writes.len(), 3, "{ctx_writes:?}");
        assert!(matches!(ctx_writes[0], Op::WriteTmp(_, t) if t.contains("\"used\": true")));
    }

    #[test]
    fn a_failing_step_means_the_number_is_not_used() {
        // Steps of one uninterrupted session, to find those of the store of 16.
        let dry = ModelFs::with_context(CONTEXT);
        let _ = session(&dry, 17);
        let steps = dry.0.borrow().log.clone();
        let store_16: Vec<usize> = {
            let not_used = steps.iter().filter(|op| !matches!(op, Op::Used(_)));
            let all: Vec<&Op> = not_used.collect();
            let start = all
                .iter()
                .position(|op| matches!(op, Op::WriteTmp(f, v) if f == "c.seq.tmp" && v == "16"))
                .unwrap();
            (start..start + 4).collect()
        };
        for fail_at in store_16 {
            let fs = ModelFs::with_context(CONTEXT);
            fs.0.borrow_mut().fail_at = Some(fail_at);
            let mut ctx = persistent_context_on(fs.clone(), Path::new("/m/c.json"), false).unwrap();
            for n in 0..16 {
                assert_eq!(take(&mut ctx).unwrap(), n);
            }
            assert!(
                take(&mut ctx).is_err(),
                "step {fail_at} failed, 16 was used"
            );
            // The filesystem recovers: the retry writes 16 durably, then uses it.
            fs.0.borrow_mut().log.clear();
            assert_eq!(take(&mut ctx).unwrap(), 16, "step {fail_at}");
            let log = fs.0.borrow().log.clone();
            assert!(log.ends_with(&durable_write("c.seq", "16")), "{log:?}");
        }
        // A failing step while opening: the context does not start.
        for fail_at in 0..12 {
            let fs = ModelFs::with_context(CONTEXT);
            fs.0.borrow_mut().fail_at = Some(fail_at);
            assert!(
                persistent_context_on(fs.clone(), Path::new("/m/c.json"), false).is_err(),
                "open survived a failure at step {fail_at}"
            );
        }
    }

    #[test]
    fn a_crash_at_any_step_never_reuses_a_number_after_restart() {
        const PER_RUN: usize = 40;
        let dry = ModelFs::with_context(CONTEXT);
        let (_, ok) = session(&dry, PER_RUN);
        assert!(ok);
        // Two runs, so crashes also hit a restart of a context that was used before.
        let (_, ok) = session(&dry, PER_RUN);
        assert!(ok);
        let total = dry.0.borrow().steps;
        assert!(total > 20, "{total}");
        for crash_at in 0..total {
            let fs = ModelFs::with_context(CONTEXT);
            fs.0.borrow_mut().crash_at = Some(crash_at);
            let (first, _) = session(&fs, PER_RUN);
            let (second, _) = session(&fs, PER_RUN);
            fs.0.borrow_mut().restart();
            let (after, ok) = session(&fs, PER_RUN);
            assert!(ok, "crash at step {crash_at}: the restart was refused");
            let before: BTreeSet<u64> = first.iter().chain(&second).copied().collect();
            assert_eq!(
                before.len(),
                first.len() + second.len(),
                "crash at {crash_at}"
            );
            for n in &after {
                assert!(
                    !before.contains(n),
                    "crash at step {crash_at}: {n} handed out again after the restart"
                );
            }
        }
    }
}
