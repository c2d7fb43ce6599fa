// SPDX-License-Identifier: GPL-2.0

//! `lazyresume background` (set the background lane of the fetch engine,
//! which fetches the pages no fault asked for yet) and `lazyresume
//! wait-complete` (wait until every page is local), on a resumed client.

use anyhow::{bail, Result};
use clap::ValueEnum;
use lazyresume_abi as abi;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::device::Device;

/// How often `wait-complete` asks the module.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A mode of the background lane (`BACKGROUND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Stream the rest of the pages (the default).
    Full,
    /// Stream only while no fault is waiting.
    Idle,
    /// Fetch only what faults ask for.
    Off,
}

impl Mode {
    /// The mode's `BACKGROUND_*` value.
    pub fn abi(self) -> u32 {
        match self {
            Mode::Full => abi::BACKGROUND_FULL,
            Mode::Idle => abi::BACKGROUND_IDLE,
            Mode::Off => abi::BACKGROUND_OFF,
        }
    }

    /// The mode of a `BACKGROUND_*` value, or `None` for an unknown one.
    pub fn from_abi(mode: u32) -> Option<Self> {
        match mode {
            abi::BACKGROUND_FULL => Some(Mode::Full),
            abi::BACKGROUND_IDLE => Some(Mode::Idle),
            abi::BACKGROUND_OFF => Some(Mode::Off),
            _ => None,
        }
    }

    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Idle => "idle",
            Mode::Off => "off",
        }
    }
}

/// The mode and rate limit of the background lane as text, e.g. `idle, at
/// most 20 MiB/s` or `full, no rate limit`.
pub fn describe(mode: u32, rate_mib: u32) -> String {
    let mode = match Mode::from_abi(mode) {
        Some(m) => m.name().to_string(),
        None => format!("unknown mode {mode}"),
    };
    if rate_mib == 0 {
        format!("{mode}, no rate limit")
    } else {
        format!("{mode}, at most {rate_mib} MiB/s")
    }
}

/// `lazyresume background MODE [--rate MIB_PER_S]`.
pub fn set(device: &Path, mode: Mode, rate_mib: u32) -> Result<()> {
    let b = abi::Background {
        mode: mode.abi(),
        rate_mib,
    };
    Device::open(device)?.set_background(&b)?;
    println!("background: {}", describe(b.mode, b.rate_mib));
    Ok(())
}

/// A `--timeout` value: seconds, not negative, fractions allowed.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|e| format!("{e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| "a number of seconds, 0 or more".to_string())
}

/// Asks `poll` for the status every `interval` until it says
/// [`abi::STATUS_COMPLETE`], and returns that status. Fails at once if the
/// system was not resumed (nothing would ever complete), and once
/// `timeout`, if any, has passed since the call.
fn wait_until_complete(
    mut poll: impl FnMut() -> Result<abi::Status>,
    timeout: Option<Duration>,
    interval: Duration,
) -> Result<abi::Status> {
    // A deadline too far away to represent is no deadline.
    let deadline = timeout.and_then(|t| Some((t, Instant::now().checked_add(t)?)));
    loop {
        let s = poll()?;
        if s.flags & abi::STATUS_COMPLETE != 0 {
            return Ok(s);
        }
        if s.flags & abi::STATUS_RESUMED == 0 {
            bail!(
                "this system was not resumed: {} pages outstanding will not complete",
                s.pages_outstanding
            );
        }
        let nap = match deadline {
            None => interval,
            Some((t, d)) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    bail!("{}", not_complete(t, &s));
                }
                left.min(interval)
            }
        };
        std::thread::sleep(nap);
    }
}

/// The error line of a `wait-complete` that timed out.
fn not_complete(timeout: Duration, s: &abi::Status) -> String {
    let mut line = format!(
        "not complete after {} s: {} pages still outstanding",
        timeout.as_secs_f64(),
        s.pages_outstanding
    );
    if s.pages_local != 0 {
        line += &format!(" ({} of them fetched, not installed yet)", s.pages_local);
    }
    line
}

/// `lazyresume wait-complete [--timeout S]`: returns once every page is
/// local, or fails when the timeout passes.
pub fn wait_complete(device: &Path, timeout: Option<Duration>) -> Result<()> {
    let dev = Device::open(device)?;
    let s = wait_until_complete(|| dev.status(), timeout, POLL_INTERVAL)?;
    println!(
        "complete {:.1} s after the resume",
        s.complete_after_ns as f64 / 1e9
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lazyresume_abi::FromZeros;

    fn status(flags: u16, outstanding: u64) -> abi::Status {
        let mut s = abi::Status::new_zeroed();
        s.flags = flags;
        s.pages_outstanding = outstanding;
        s
    }

    #[test]
    fn modes_parse_and_map() {
        for (text, mode, value) in [
            ("full", Mode::Full, abi::BACKGROUND_FULL),
            ("idle", Mode::Idle, abi::BACKGROUND_IDLE),
            ("off", Mode::Off, abi::BACKGROUND_OFF),
        ] {
            assert_eq!(Mode::from_str(text, false), Ok(mode));
            assert_eq!(mode.abi(), value);
            assert_eq!(Mode::from_abi(value), Some(mode));
            assert_eq!(mode.name(), text);
        }
        assert!(Mode::from_str("on", false).is_err());
        assert_eq!(Mode::from_abi(3), None);
    }

    #[test]
    fn descriptions() {
        assert_eq!(describe(abi::BACKGROUND_FULL, 0), "full, no rate limit");
        assert_eq!(describe(abi::BACKGROUND_IDLE, 20), "idle, at most 20 MiB/s");
        assert_eq!(describe(7, 0), "unknown mode 7, no rate limit");
    }

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("0"), Ok(Duration::ZERO));
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("inf").is_err());
        assert!(parse_timeout("NaN").is_err());
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn waits_until_complete() {
        let mut polls = 0;
        let s = wait_until_complete(
            || {
                polls += 1;
                Ok(if polls < 3 {
                    status(abi::STATUS_RESUMED, 10)
                } else {
                    let mut s = status(abi::STATUS_RESUMED | abi::STATUS_COMPLETE, 0);
                    s.complete_after_ns = 2_500_000_000;
                    s
                })
            },
            Some(Duration::from_secs(10)),
            Duration::from_millis(1),
        )
        .unwrap();
        assert_eq!(polls, 3);
        assert_eq!(s.complete_after_ns, 2_500_000_000);
    }

    #[test]
    fn times_out_with_the_pages_left() {
        let mut polls = 0;
        let e = wait_until_complete(
            || {
                polls += 1;
                let mut s = status(abi::STATUS_RESUMED, 1234);
                s.pages_local = 56;
                Ok(s)
            },
            Some(Duration::from_millis(20)),
            Duration::from_millis(1),
        )
        .unwrap_err();
        assert!(polls >= 2);
        assert_eq!(
            e.to_string(),
            "not complete after 0.02 s: 1234 pages still outstanding \
             (56 of them fetched, not installed yet)"
        );
    }

    #[test]
    fn zero_timeout_polls_once() {
        let mut polls = 0;
        let e = wait_until_complete(
            || {
                polls += 1;
                Ok(status(abi::STATUS_RESUMED, 7))
            },
            Some(Duration::ZERO),
            POLL_INTERVAL,
        )
        .unwrap_err();
        assert_eq!(polls, 1);
        assert_eq!(
            e.to_string(),
            "not complete after 0 s: 7 pages still outstanding"
        );
    }

    #[test]
    fn a_huge_timeout_does_not_overflow() {
        let t = parse_timeout("1e18").unwrap();
        let mut polls = 0;
        let s = wait_until_complete(
            || {
                polls += 1;
                Ok(status(abi::STATUS_RESUMED | abi::STATUS_COMPLETE, 0))
            },
            Some(t),
            POLL_INTERVAL,
        )
        .unwrap();
        assert_eq!((polls, s.pages_outstanding), (1, 0));
    }

    #[test]
    fn complete_wins_over_not_resumed() {
        assert!(
            wait_until_complete(|| Ok(status(abi::STATUS_COMPLETE, 0)), None, POLL_INTERVAL)
                .is_ok()
        );
        let e = wait_until_complete(|| Ok(status(0, 3)), None, POLL_INTERVAL).unwrap_err();
        assert!(e.to_string().contains("not resumed"), "{e}");
    }

    #[test]
    fn poll_errors_end_the_wait() {
        let e = wait_until_complete(
            || Err(anyhow::anyhow!("LAZYRESUME_IOC_STATUS: gone")),
            None,
            POLL_INTERVAL,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "LAZYRESUME_IOC_STATUS: gone");
    }
}
