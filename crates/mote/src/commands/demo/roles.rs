//! The demo's roles as child processes of the same binary: their JSON lines, their stdin, the
//! LwM2M servers' REST API and event streams.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::Value as Json;

/// One role: a `mote` child process, its stdin, and the JSON lines it printed.
pub(super) struct Role {
    /// What the transcript calls it.
    pub(super) name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Lines read but not taken by [`Role::expect`] yet.
    unread: VecDeque<Json>,
    /// The ports it printed first (`--print-port`).
    pub(super) ports: Vec<u16>,
}

impl Role {
    /// Starts `exe args…` with stdin piped and stderr to `log`, and reads `ports` port lines.
    pub(super) fn start(
        name: &str,
        exe: &Path,
        args: &[&str],
        ports: usize,
        log: &Path,
    ) -> Result<Self> {
        let stderr = std::fs::File::create(log).with_context(|| log.display().to_string())?;
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {name}: mote {}", args.join(" ")))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("{name}: no stdout"))?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut role = Self {
            name: name.to_string(),
            child,
            stdin,
            lines,
            unread: VecDeque::new(),
            ports: Vec::new(),
        };
        for _ in 0..ports {
            let line = role
                .lines
                .recv_timeout(Duration::from_secs(10))
                .map_err(|_| anyhow!("{name} printed no port (see {})", log.display()))?;
            let port = line
                .trim()
                .parse()
                .map_err(|_| anyhow!("{name} printed {line:?}, not a port"))?;
            role.ports.push(port);
        }
        Ok(role)
    }

    /// Writes one line to its stdin.
    pub(super) fn send_line(&mut self, line: &str) -> Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| anyhow!("{}: stdin closed", self.name))?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .with_context(|| format!("{}: writing {line:?}", self.name))
    }

    /// The first JSON line (read before or within `timeout`) that `wanted` accepts; the lines
    /// it does not accept stay for later calls.
    pub(super) fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Json) -> bool,
    ) -> Result<Json> {
        if let Some(i) = self.unread.iter().position(&wanted) {
            return self
                .unread
                .remove(i)
                .ok_or_else(|| anyhow!("{}: line vanished", self.name));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let Ok(v) = serde_json::from_str::<Json>(&line) else {
                        continue;
                    };
                    if wanted(&v) {
                        return Ok(v);
                    }
                    self.unread.push_back(v);
                }
                Err(RecvTimeoutError::Timeout) => {
                    bail!("{}: no {what} within {timeout:?}", self.name)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("{}: exited before {what}", self.name)
                }
            }
        }
    }

    /// Whether a line `wanted` accepts was printed within `wait` (lines stay unread).
    pub(super) fn saw(&mut self, wait: Duration, wanted: impl Fn(&Json) -> bool) -> bool {
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Ok(v) = serde_json::from_str::<Json>(&line) {
                        self.unread.push_back(v);
                    }
                }
                Err(_) => break,
            }
        }
        self.unread.iter().any(wanted)
    }
}

impl Role {
    /// Forgets every line printed so far (a step looks only at what happens during it).
    pub(super) fn forget_lines(&mut self) {
        while self.lines.try_recv().is_ok() {}
        self.unread.clear();
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `event` line with this name.
pub(super) fn event(name: &'static str) -> impl Fn(&Json) -> bool {
    move |v| v["event"] == name
}

/// One HTTP/1.1 request to the REST API; (status, body as JSON or Null).
pub(super) fn http(port: u16, method: &str, target: &str, body: &str) -> Result<(u16, Json)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).context("connecting to the REST API")?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)
        .with_context(|| format!("{method} {target}: reading the answer"))?;
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("{method} {target}: no HTTP status in {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, serde_json::from_str(body).unwrap_or(Json::Null)))
}

/// The server-sent event stream of a REST API, as `{"event":NAME,"data":{…}}` values.
pub(super) struct Events {
    rx: Receiver<Json>,
    unread: VecDeque<Json>,
}

impl Events {
    /// Subscribes to `GET /api/events`.
    pub(super) fn subscribe(port: u16) -> Result<Self> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).context("event stream")?;
        write!(
            s,
            "GET /api/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"
        )?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut name = String::new();
            for line in BufReader::new(s).lines() {
                let Ok(line) = line else { return };
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    let data = serde_json::from_str(d.trim()).unwrap_or(Json::Null);
                    let v = serde_json::json!({"event": name, "data": data});
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Self {
            rx,
            unread: VecDeque::new(),
        })
    }

    /// The first event (received before or within `timeout`) that `wanted` accepts.
    pub(super) fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Json) -> bool,
    ) -> Result<Json> {
        if let Some(i) = self.unread.iter().position(&wanted) {
            return self
                .unread
                .remove(i)
                .ok_or_else(|| anyhow!("event vanished"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(v) if wanted(&v) => return Ok(v),
                Ok(v) => self.unread.push_back(v),
                Err(_) => bail!("no {what} event within {timeout:?}"),
            }
        }
    }
}

/// A private directory for the roles' files (contexts, state, logs), removed at the end.
pub(super) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(super) fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("mote-demo-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self(dir))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` in the directory, owner-only (it may hold a master secret).
    pub(super) fn write_private(&self, name: &str, text: &str) -> Result<PathBuf> {
        let path = self.0.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut f = options
            .open(&path)
            .with_context(|| path.display().to_string())?;
        f.write_all(text.as_bytes())?;
        Ok(path)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::env::var_os("MOTE_DEMO_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
