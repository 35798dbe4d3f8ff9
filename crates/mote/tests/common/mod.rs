//! Helpers shared by the tests that run the `mote` binary: child processes that stop with the
//! test, port numbers read from `--print-port`, and one-shot commands.

#![allow(dead_code)] // each test binary uses a part

pub(crate) mod lwm2m;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};

/// A child process, killed on drop.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and reads `lines` port numbers from its stdout (one per line).
pub(crate) fn start_command(mut cmd: Command, lines: usize) -> (Proc, Vec<u16>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let ports = read_ports(&mut out, lines);
    (Proc(child), ports)
}

/// `lines` port numbers, one a line (as `--print-port` prints them).
fn read_ports(out: &mut impl BufRead, lines: usize) -> Vec<u16> {
    (0..lines)
        .map(|_| {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            line.trim()
                .parse()
                .unwrap_or_else(|_| panic!("no port: {line:?}"))
        })
        .collect()
}

/// Starts `mote ARGS…` and reads `lines` port numbers from its stdout.
pub(crate) fn start(args: &[&str], lines: usize) -> (Proc, Vec<u16>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
    cmd.args(args);
    start_command(cmd, lines)
}

/// Starts `mote ARGS…`, reads `lines` port numbers from its stdout, and hands every later
/// stdout line (e.g. `--json` events) to the receiver, read by a thread until the process ends.
pub(crate) fn start_with_output(args: &[&str], lines: usize) -> (Proc, Vec<u16>, Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
    cmd.args(args);
    let (child, ports, rx) = spawn_lines(cmd, lines);
    (Proc(child), ports, rx)
}

/// Starts `cmd` with its stdin piped, reads `lines` port numbers from its stdout, and hands
/// every later stdout line to the receiver, read by a thread until the process ends.
pub(crate) fn start_interactive(
    mut cmd: Command,
    lines: usize,
) -> (Proc, ChildStdin, Vec<u16>, Receiver<String>) {
    cmd.stdin(Stdio::piped());
    let (mut child, ports, rx) = spawn_lines(cmd, lines);
    let stdin = child.stdin.take().unwrap();
    (Proc(child), stdin, ports, rx)
}

fn spawn_lines(mut cmd: Command, lines: usize) -> (Child, Vec<u16>, Receiver<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let ports = read_ports(&mut out, lines);
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, ports, rx)
}

/// An empty directory `NAME-PID` under the system's temporary directory (emptied if a
/// previous run left it).
pub(crate) fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `mote ARGS…` to completion.
pub(crate) fn mote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `mote ARGS…`, which must succeed; its stdout.
pub(crate) fn ok(args: &[&str]) -> String {
    let o = mote(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Runs `mote ARGS…`, which must succeed and print JSON.
pub(crate) fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// The interop venv's Python (aiocoap, lakers-python, pycose, cbor2): `MOTE_PYTHON`, set by
/// scripts/test.sh, which creates the venv. A missing peer is a failure, not a skip.
pub(crate) fn python() -> String {
    std::env::var("MOTE_PYTHON")
        .expect("MOTE_PYTHON must point at the interop venv's python (scripts/test.sh sets it)")
}

/// `mote coap ARGS… --json --timeout 10`: the response as JSON. Its exit status must be 0 for
/// a 2.xx response and 1 for a 4.xx or 5.xx one (docs/cli.md, "mote coap").
pub(crate) fn coap_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["coap"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "--timeout", "10"]);
    let o = mote(&all);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: no JSON ({e}): {stderr}"));
    let code = v["code"].as_str().unwrap_or_default();
    let error = code.starts_with('4') || code.starts_with('5');
    assert_eq!(
        o.status.code(),
        Some(i32::from(error)),
        "{args:?}: exit status for {code}: {stderr}"
    );
    v
}

/// Writes a context file readable by its owner only (0600), as `mote` requires of a file
/// holding a master secret.
pub(crate) fn write_private(
    path: impl AsRef<std::path::Path>,
    contents: impl AsRef<[u8]>,
) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An older file of the same name keeps its mode through `open`: restrict it too.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(contents.as_ref())
}

/// A port on 127.0.0.1 free for UDP and for TCP: aiocoap's and libcoap's servers also listen
/// for CoAP over TCP on the port they are given (a UDP-only check once met a TCP listener on
/// that number and the server died with EADDRINUSE).
pub(crate) fn free_port() -> u16 {
    for _ in 0..100 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}
