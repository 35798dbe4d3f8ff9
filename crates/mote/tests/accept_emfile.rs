//! Finding 3: at file-descriptor exhaustion the TCP accept loop of `mote serve` backs off
//! (`DriverConfig::accept_backoff`, doubling up to `accept_backoff_max`) instead of spinning,
//! and serves again once descriptors are free. The server runs with a lowered
//! `RLIMIT_NOFILE` (`ulimit -n` in a shell wrapper), connections are opened until its
//! accepts fail with EMFILE, and its CPU time is read from `/proc/<pid>/stat`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// utime + stime of `pid`, in clock ticks (proc(5): fields 14 and 15).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // `after` starts at field 3 (state).
    fields[14 - 3].parse::<u64>().unwrap() + fields[15 - 3].parse::<u64>().unwrap()
}

fn clock_ticks_per_second() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn accept_at_descriptor_exhaustion_backs_off_and_recovers() {
    let log = std::env::temp_dir().join(format!("mote-emfile-{}.log", std::process::id()));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 40 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_mote"))
        .args([
            "serve",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--print-port",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let pid = child.id();
    let child_guard = common::Proc(child);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().unwrap();

    // More connections than the server has descriptors: the kernel completes them in the
    // listen backlog, the server's accept fails with EMFILE.
    let mut clients = Vec::new();
    for _ in 0..80 {
        clients.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
    }
    // Wait (bounded) until the server reports the failing accept.
    let mut saw_emfile = false;
    for _ in 0..100 {
        if std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("accept failed")
        {
            saw_emfile = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(saw_emfile, "{}", std::fs::read_to_string(&log).unwrap());

    // Three seconds with the backlog full of connections it cannot accept: a loop retrying
    // at once would burn about that much CPU; the back-off makes a handful of attempts.
    let hz = clock_ticks_per_second();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(pid) - before;
    assert!(
        used * 10 < 3 * hz,
        "the server used {used} ticks ({hz}/s) of CPU in 3 s at EMFILE"
    );
    // The attempts themselves: the pause doubles from 50 ms to 2 s, so about 3.5 s at EMFILE
    // see fewer than ten failed accepts (each logs one line). An accept loop without the
    // back-off fails a thousand times within milliseconds (seen with the pause removed).
    let attempts = std::fs::read_to_string(&log)
        .unwrap()
        .matches("accept failed")
        .count();
    assert!(
        (1..=12).contains(&attempts),
        "{attempts} failed accepts in about 3.5 s"
    );

    // Descriptors free up: the server serves TCP clients again.
    drop(clients);
    let o = common::mote(&[
        "coap",
        "get",
        &format!("coap+tcp://127.0.0.1:{port}/.well-known/core"),
    ]);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        std::fs::read_to_string(&log).unwrap()
    );
    let _ = std::fs::remove_file(&log);
    drop(child_guard);
}
