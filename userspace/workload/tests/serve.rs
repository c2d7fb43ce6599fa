// SPDX-License-Identifier: GPL-2.0

//! The workload binary on 127.0.0.1: every request, and a clean exit.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the workload if a test fails half way.
struct Workload(Child);

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the workload and waits (at most 10 s) for its ready line.
fn start(extra: &[&str]) -> (Workload, u16, Duration) {
    let port = free_port();
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lazyresume-workload"))
        .args(["--mib", "4", "--port", &port.to_string(), "--iface", "lo"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("ready port="), "{line}");
    assert!(t.elapsed() < Duration::from_secs(10));
    (Workload(child), port, t.elapsed())
}

fn ask(conn: &mut BufReader<TcpStream>, line: &str) -> String {
    writeln!(conn.get_mut(), "{line}").unwrap();
    let mut a = String::new();
    conn.read_line(&mut a).unwrap();
    a.trim_end().to_string()
}

fn connect(port: u16) -> BufReader<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    BufReader::new(s)
}

#[test]
fn answers_every_request_and_quits() {
    let (mut w, port, _) = start(&[]);
    let mut c = connect(port);
    assert_eq!(ask(&mut c, "ping"), "pong");
    assert_eq!(ask(&mut c, "read 0 4096"), "ok");
    // Across the heap/mmap boundary (40 % of 4 MiB) and the others.
    assert_eq!(ask(&mut c, "read 1677700 200"), "ok");
    assert_eq!(ask(&mut c, "read 4190000 4304"), "ok");
    assert!(ask(&mut c, "read 4194300 10").starts_with("error"));
    assert!(ask(&mut c, "read 0 0").starts_with("error"));
    assert_eq!(ask(&mut c, "verify"), "ok 4194304");
    assert_eq!(
        ask(&mut c, "whoami"),
        "mac=00:00:00:00:00:00 addr=127.0.0.1"
    );
    assert_eq!(ask(&mut c, "hello"), "error unknown request");
    // A second connection after the first one left.
    drop(c);
    let mut c = connect(port);
    assert_eq!(ask(&mut c, "ping"), "pong");
    assert_eq!(ask(&mut c, "quit"), "bye");
    let t = Instant::now();
    loop {
        if let Some(st) = w.0.try_wait().unwrap() {
            assert!(st.success());
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "no exit after quit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn long_lines_are_refused() {
    let (_w, port, _) = start(&[]);
    let mut c = connect(port);
    assert_eq!(ask(&mut c, &"x".repeat(300)), "error line too long");
    let mut c = connect(port);
    assert_eq!(ask(&mut c, "ping"), "pong");
}

#[test]
fn startup_work_delays_ready() {
    let (_w, _, took) = start(&["--startup-secs", "1"]);
    assert!(took >= Duration::from_secs(1));
}
