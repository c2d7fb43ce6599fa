// SPDX-License-Identifier: GPL-2.0

//! The workload binary on 127.0.0.1: every request, bad input, start-up
//! time and a clean exit. Every wait is bounded; the workload is killed if
//! a test fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Region sizes of `--mib 4`: 409, 307, 204 and 104 pages.
const HEAP: u64 = 409 * 4096;
const MMAP: u64 = 307 * 4096;
const SHARED: u64 = 204 * 4096;
const TOTAL: u64 = 4 << 20;

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The workload, killed when a test ends early.
struct Workload(Child);

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Workload {
    /// The exit status, waiting at most `secs` seconds for it.
    fn exit_within(&mut self, secs: u64) -> ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(t.elapsed() < Duration::from_secs(secs), "no exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn spawn(args: &[&str]) -> Workload {
    let child = Command::new(env!("CARGO_BIN_EXE_lazyresume-workload"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Workload(child)
}

/// Starts a 4 MiB workload and waits (at most 10 s) for its ready line;
/// returns it, its port and the time to the ready line.
fn start(extra: &[&str]) -> (Workload, u16, Duration) {
    let port = free_port();
    let t = Instant::now();
    let mut w = spawn(
        &[
            &["--mib", "4", "--port", &port.to_string(), "--iface", "lo"],
            extra,
        ]
        .concat(),
    );
    let stdout = w.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no ready line within 10 s");
    let took = t.elapsed();
    let hot = if extra.contains(&"--hot-mib") { 256 } else { 0 };
    assert_eq!(
        line,
        format!("ready port={port} mib=4 hot_pages={hot} pid={}\n", w.0.id())
    );
    (w, port, took)
}

fn connect(port: u16) -> BufReader<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    BufReader::new(s)
}

/// Sends one request line and returns the answer line.
fn ask(conn: &mut BufReader<TcpStream>, line: &str) -> String {
    writeln!(conn.get_mut(), "{line}").unwrap();
    let mut answer = String::new();
    conn.read_line(&mut answer).unwrap();
    assert!(answer.ends_with('\n'), "{line} -> {answer:?}");
    answer.trim_end().to_string()
}

#[test]
fn answers_every_request_and_quits() {
    let (mut w, port, _) = start(&[]);
    let mut c = connect(port);
    assert_eq!(ask(&mut c, "ping"), "pong");
    assert_eq!(ask(&mut c, "read 0 4096"), "ok");
    assert_eq!(ask(&mut c, &format!("read {} 65536", TOTAL - 65536)), "ok");
    // Across each boundary: heap|mmap, mmap|shared, shared|thread.
    for boundary in [HEAP, HEAP + MMAP, HEAP + MMAP + SHARED] {
        for (off, len) in [
            (boundary - 4096, 8192),
            (boundary - 1, 2),
            (boundary - 3, 65536),
        ] {
            assert_eq!(ask(&mut c, &format!("read {off} {len}")), "ok", "{off}");
        }
    }
    for bad in [
        format!("read {} 2", TOTAL - 1),
        format!("read {TOTAL} 1"),
        "read 0 0".to_string(),
        "read 0 65537".to_string(),
        "read x 1".to_string(),
        "read 1".to_string(),
    ] {
        assert!(ask(&mut c, &bad).starts_with("error "), "{bad}");
    }
    assert_eq!(ask(&mut c, "verify"), "ok 4194304");
    assert_eq!(
        ask(&mut c, "whoami"),
        "mac=00:00:00:00:00:00 addr=127.0.0.1"
    );
    assert_eq!(ask(&mut c, "hello"), "error unknown request");
    // Not UTF-8: still one answer, and the connection goes on.
    c.get_mut().write_all(b"\xff\xfe\n").unwrap();
    let mut answer = String::new();
    c.read_line(&mut answer).unwrap();
    assert_eq!(answer, "error unknown request\n");
    // A second connection after the first one left.
    drop(c);
    let mut c = connect(port);
    assert_eq!(ask(&mut c, "ping"), "pong");
    assert_eq!(ask(&mut c, "quit"), "bye");
    assert!(w.exit_within(5).success());
}

#[test]
fn ready_checks_the_hot_set() {
    let (mut w, port, _) = start(&["--hot-mib", "1", "--hot-seed", "3"]);
    let mut c = connect(port);
    assert_eq!(ask(&mut c, "ready"), "ok");
    assert_eq!(ask(&mut c, "ready"), "ok");
    assert_eq!(ask(&mut c, "quit"), "bye");
    assert!(w.exit_within(5).success());
    let (mut w, port, _) = start(&[]);
    let mut c = connect(port);
    assert_eq!(ask(&mut c, "ready"), "ok");
    assert_eq!(ask(&mut c, "quit"), "bye");
    assert!(w.exit_within(5).success());
}

#[test]
fn long_lines_close_the_connection() {
    let (mut w, port, _) = start(&[]);
    let mut c = connect(port);
    assert_eq!(ask(&mut c, &"x".repeat(300)), "error line too long");
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    // A 256-byte line is still a line.
    let mut c = connect(port);
    let max = format!("ping{}", " ".repeat(252));
    assert_eq!(ask(&mut c, &max), "pong");
    assert_eq!(ask(&mut c, "quit"), "bye");
    assert!(w.exit_within(5).success());
}

#[test]
fn startup_work_delays_ready() {
    let (_w, _, took) = start(&["--startup-secs", "1"]);
    assert!(took >= Duration::from_secs(1), "{took:?}");
}

#[test]
fn bad_arguments_fail() {
    for args in [
        &["--mib", "0", "--port", "1"][..],
        &["--mib", "4"],
        &["--mib", "4", "--port", "70000"],
        &["--mib", "x", "--port", "1"],
    ] {
        let mut w = spawn(args);
        let status = w.exit_within(5);
        assert!(!status.success(), "{args:?}");
        let mut err = String::new();
        w.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(!err.is_empty(), "{args:?}");
    }
}
