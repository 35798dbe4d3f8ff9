//! Diagnostics that never block the protocol: `tracing` events go through a bounded queue to
//! a logging thread that writes stderr; when stderr is not drained (a pipe nobody reads) the
//! queue fills and further lines are dropped and counted, instead of stopping the caller.
//!
//! The level comes from `MOTE_LOG`, else `RUST_LOG` (`tracing-subscriber`'s filter syntax:
//! `debug`, `mote=debug`, …), else `warn`. The command line's own `error:` line and exit codes
//! (`docs/cli.md`) do not go through here.

use std::io::Write;

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines the logging thread may fall behind by before new lines are dropped.
pub(crate) const BUFFERED_LINES: usize = 4096;

/// A non-blocking, lossy writer over `out`, and the guard whose drop flushes it.
pub(crate) fn non_blocking<W: Write + Send + 'static>(out: W) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name("mote-log")
        .finish(out)
}

/// The level filter from `MOTE_LOG`, else `RUST_LOG`, else `warn`; a variable that does not
/// parse counts as unset.
fn filter(mote_log: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    [mote_log, rust_log]
        .into_iter()
        .flatten()
        .find_map(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new("warn"))
}

/// Installs the global subscriber once (in `main`); `None` when one is installed already.
/// Keep the guard until the program ends.
pub(crate) fn init() -> Option<WorkerGuard> {
    let (writer, guard) = non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter(
            std::env::var("MOTE_LOG").ok().as_deref(),
            std::env::var("RUST_LOG").ok().as_deref(),
        ))
        .with_writer(writer)
        .try_init()
        .ok()
        .map(|()| guard)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::io::{self, Write};
    use std::sync::mpsc;
    use std::time::Duration;

    use tracing_subscriber::fmt::MakeWriter as _;

    use super::{BUFFERED_LINES, filter, non_blocking};

    #[test]
    fn level_comes_from_mote_log_then_rust_log_then_warn() {
        let level = |m, r| filter(m, r).to_string();
        assert_eq!(level(Some("debug"), Some("error")), "debug");
        assert_eq!(level(None, Some("mote=trace")), "mote=trace");
        assert_eq!(level(Some("mote=[{"), Some("info")), "info");
        assert_eq!(level(None, None), "warn");
    }

    /// A writer that blocks like a full pipe nobody reads, until `release` is sent.
    struct StuckPipe {
        release: mpsc::Receiver<()>,
        released: bool,
    }

    impl Write for StuckPipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if !self.released {
                // Blocks until the test lets go (or drops the sender).
                let _ = self.release.recv();
                self.released = true;
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_stderr_drops_lines_instead_of_blocking_the_caller() {
        let (release, stuck) = mpsc::channel();
        let (writer, guard) = non_blocking(StuckPipe {
            release: stuck,
            released: false,
        });
        let lines = BUFFERED_LINES * 3;
        // The logging calls run on their own thread so that a writer that blocks fails this
        // test instead of hanging it.
        let (done, finished) = mpsc::channel();
        let logger = writer.clone();
        let caller = std::thread::spawn(move || {
            for i in 0..lines {
                writeln!(logger.make_writer(), "line {i}").unwrap();
            }
            done.send(()).unwrap();
        });
        let returned = finished.recv_timeout(Duration::from_secs(30)).is_ok();
        release.send(()).unwrap();
        caller.join().unwrap();
        assert!(returned, "logging blocked on a stderr nobody reads");
        let dropped = writer.error_counter().dropped_lines();
        // The logging thread holds at most one line in `write`, the queue BUFFERED_LINES.
        assert!(
            dropped >= lines - BUFFERED_LINES - 1,
            "only {dropped} of {lines} lines dropped"
        );
        drop(guard);
    }
}
