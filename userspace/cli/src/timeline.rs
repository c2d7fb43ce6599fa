// SPDX-License-Identifier: GPL-2.0

//! `lazyresume status --timeline FILE.csv`: the resume as a timeline
//! (`LAZYRESUME_IOC_TIMELINE`), as CSV, and the marks the resuming tool
//! sets for the events only user space sees.
//!
//! The clock is the boot kernel's `CLOCK_MONOTONIC`, in milliseconds:
//! time since the boot kernel started keeping time, early in its boot.
//! The restored kernel's events are placed after the jump by the time
//! from the jump to the adoption, measured with the CPU's time-stamp
//! counter (the header line says whether it was).
//!
//! The file: `#` comment lines, a header line, then one line per event
//! (`event,NAME,T_MS,,,,`) in the order of their times, then one per
//! sample (`sample,,T_MS,URGENT,WORKINGSET,BACKGROUND,INSTALLED`, pages),
//! in time order.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use lazyresume_abi as abi;

use crate::device::Device;

/// The names of the events, by `TL_*` index.
pub const EVENT_NAMES: [&str; abi::TL_EVENTS] = [
    "module_loaded",
    "resume_requested",
    "manifest_fetched",
    "manifest_verified",
    "pageset1_fetched",
    "pageset1_decoded",
    "jump",
    "devices_resumed",
    "adopted",
    "thawed",
    "hook_done",
    "first_fault",
    "loadset_done",
    "complete",
    "first_answer",
];

/// The header line of the CSV.
pub const HEADER: &str =
    "kind,name,t_ms,urgent_pages,workingset_pages,background_pages,installed_pages";

/// One sample: time and pages per lane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub t_ms: f64,
    pub urgent: u64,
    pub workingset: u64,
    pub background: u64,
    pub installed: u64,
}

/// A resume's timeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// `TIMELINE_*` flags.
    pub flags: u32,
    /// Sampling period at the end, ms.
    pub period_ms: u32,
    /// Events that happened, `(name, t_ms)`, in time order.
    pub events: Vec<(String, f64)>,
    /// Samples, in time order.
    pub samples: Vec<Sample>,
}

fn ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

impl Timeline {
    /// The timeline of an answer of `LAZYRESUME_IOC_TIMELINE` and its
    /// samples.
    pub fn from_abi(t: &abi::Timeline, samples: &[abi::TimelineSample]) -> Self {
        let mut events: Vec<(usize, String, f64)> = EVENT_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| t.known & (1 << i) != 0)
            .map(|(i, n)| (i, n.to_string(), ms(t.event_ns[i])))
            .collect();
        // By time; events at the same time in their natural order.
        events.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
        Self {
            flags: t.flags,
            period_ms: t.period_ms,
            events: events.into_iter().map(|(_, n, t)| (n, t)).collect(),
            samples: samples
                .iter()
                .map(|s| Sample {
                    t_ms: ms(s.t_ns),
                    urgent: s.urgent_pages,
                    workingset: s.workingset_pages,
                    background: s.background_pages,
                    installed: s.installed_pages,
                })
                .collect(),
        }
    }

    /// The time of event `name`, if it happened.
    pub fn event(&self, name: &str) -> Option<f64> {
        self.events.iter().find(|(n, _)| n == name).map(|e| e.1)
    }

    /// The CSV text.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let gap = if self.flags & abi::TIMELINE_GAP_MEASURED != 0 {
            "jump to adoption measured with the time-stamp counter"
        } else {
            "jump to adoption not measured, taken as 0"
        };
        let _ = writeln!(
            out,
            "# lazyresume timeline; clock: ms of the boot kernel's CLOCK_MONOTONIC; \
             restored kernel placed after the jump ({gap})"
        );
        let _ = writeln!(
            out,
            "# flags {:#x}, sampling period {} ms at the end",
            self.flags, self.period_ms
        );
        let _ = writeln!(out, "{HEADER}");
        for (n, t) in &self.events {
            let _ = writeln!(out, "event,{n},{t:.3},,,,");
        }
        for s in &self.samples {
            let _ = writeln!(
                out,
                "sample,,{:.3},{},{},{},{}",
                s.t_ms, s.urgent, s.workingset, s.background, s.installed
            );
        }
        out
    }

    /// Parses what [`Timeline::to_csv`] wrote (flags and period from the
    /// comments are not read back).
    pub fn parse_csv(text: &str) -> Result<Self> {
        let mut t = Self::default();
        let mut header = false;
        for (no, line) in text.lines().enumerate() {
            let no = no + 1;
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if !header {
                if line != HEADER {
                    bail!("line {no}: expected the header '{HEADER}'");
                }
                header = true;
                continue;
            }
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != 7 {
                bail!("line {no}: {} fields, expected 7", f.len());
            }
            let t_ms: f64 = f[2]
                .parse()
                .with_context(|| format!("line {no}: time '{}'", f[2]))?;
            if !t_ms.is_finite() {
                bail!("line {no}: time '{}'", f[2]);
            }
            let num = |i: usize| -> Result<u64> {
                f[i].parse()
                    .with_context(|| format!("line {no}: field {} '{}'", i + 1, f[i]))
            };
            match f[0] {
                "event" => {
                    if !EVENT_NAMES.contains(&f[1]) {
                        bail!("line {no}: unknown event '{}'", f[1]);
                    }
                    t.events.push((f[1].to_string(), t_ms));
                }
                "sample" => t.samples.push(Sample {
                    t_ms,
                    urgent: num(3)?,
                    workingset: num(4)?,
                    background: num(5)?,
                    installed: num(6)?,
                }),
                k => bail!("line {no}: unknown kind '{k}'"),
            }
        }
        if !header {
            bail!("no header line");
        }
        Ok(t)
    }

    /// What is wrong with the order of the timeline: events out of the
    /// order a resume has them in, times going back, counters going
    /// down. Empty if nothing.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut last = f64::NEG_INFINITY;
        for (n, t) in &self.events {
            if *t < last {
                out.push(format!(
                    "event {n} at {t:.3} ms is before the one listed above it"
                ));
            }
            last = *t;
        }
        // Pairs (a, b): a happens before b whenever both are known.
        const BEFORE: &[(&str, &str)] = &[
            ("module_loaded", "resume_requested"),
            ("resume_requested", "manifest_fetched"),
            ("manifest_fetched", "manifest_verified"),
            ("manifest_verified", "pageset1_fetched"),
            ("pageset1_fetched", "pageset1_decoded"),
            ("pageset1_decoded", "jump"),
            ("jump", "devices_resumed"),
            ("jump", "adopted"),
            ("devices_resumed", "adopted"),
            ("adopted", "thawed"),
            ("thawed", "hook_done"),
            ("adopted", "first_fault"),
            ("adopted", "loadset_done"),
            ("adopted", "complete"),
            ("first_fault", "complete"),
            ("loadset_done", "complete"),
            ("thawed", "first_answer"),
        ];
        for (a, b) in BEFORE {
            if let (Some(ta), Some(tb)) = (self.event(a), self.event(b)) {
                if ta > tb {
                    out.push(format!("{a} ({ta:.3} ms) after {b} ({tb:.3} ms)"));
                }
            }
        }
        for w in self.samples.windows(2) {
            let (p, s) = (w[0], w[1]);
            if s.t_ms < p.t_ms {
                out.push(format!(
                    "sample at {:.3} ms after one at {:.3} ms",
                    s.t_ms, p.t_ms
                ));
            }
            if s.urgent < p.urgent
                || s.workingset < p.workingset
                || s.background < p.background
                || s.installed < p.installed
            {
                out.push(format!("a counter went down at {:.3} ms", s.t_ms));
            }
        }
        out
    }
}

impl Device {
    /// `LAZYRESUME_IOC_TIMELINE`, `TIMELINE_READ`: the events and every
    /// sample.
    pub fn timeline(&self) -> Result<(abi::Timeline, Vec<abi::TimelineSample>)> {
        // The ring holds 1024 at most; room for more does no harm.
        let mut buf = vec![abi::TimelineSample::default(); 2048];
        let mut req = abi::Timeline {
            op: abi::TIMELINE_READ,
            samples: buf.as_mut_ptr() as u64,
            count: buf.len() as u32,
            ..Default::default()
        };
        self.call(abi::IOC_TIMELINE, &mut req)
            .context("LAZYRESUME_IOC_TIMELINE")?;
        buf.truncate((req.count as usize).min(buf.len()));
        Ok((req, buf))
    }

    /// `LAZYRESUME_IOC_TIMELINE`, `TIMELINE_MARK`: `event` happened at
    /// `ns` of `CLOCK_MONOTONIC` (0: now).
    pub fn timeline_mark(&self, event: u32, ns: u64) -> std::io::Result<()> {
        let mut req = abi::Timeline {
            op: abi::TIMELINE_MARK,
            event,
            mark_ns: ns,
            ..Default::default()
        };
        self.call(abi::IOC_TIMELINE, &mut req)
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds: the clock of the kernel's
/// `ktime_get()`, which `TIMELINE_MARK` takes.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Marks `event` at `ns`, saying so on failure (an older module has no
/// timeline: not worth failing a resume for).
pub fn mark(dev: &Device, event: u32, ns: u64) {
    if let Err(e) = dev.timeline_mark(event, ns) {
        if e.raw_os_error() != Some(libc::ENOTTY) {
            eprintln!(
                "resume: timeline event {} not noted: {e}",
                EVENT_NAMES.get(event as usize).unwrap_or(&"?")
            );
        }
    }
}

/// `lazyresume timeline-check FILE`: reads a timeline CSV and says what
/// is out of order in it; fails if anything is.
pub fn check(file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let tl = Timeline::parse_csv(&text).with_context(|| file.display().to_string())?;
    let problems = tl.problems();
    for p in &problems {
        println!("timeline: {p}");
    }
    if !problems.is_empty() {
        bail!("{}: {} problems", file.display(), problems.len());
    }
    let names: Vec<&str> = tl.events.iter().map(|(n, _)| n.as_str()).collect();
    println!(
        "timeline: {} events in order ({}), {} samples, times and counters never go back",
        names.len(),
        names.join(" "),
        tl.samples.len()
    );
    Ok(())
}

/// `lazyresume status --timeline FILE`: writes the CSV.
pub fn write(device: &Path, file: &Path) -> Result<()> {
    let (t, samples) = Device::open(device)?.timeline()?;
    let tl = Timeline::from_abi(&t, &samples);
    std::fs::write(file, tl.to_csv()).with_context(|| format!("writing {}", file.display()))?;
    println!(
        "timeline: {} events, {} samples written to {}",
        tl.events.len(),
        tl.samples.len(),
        file.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> (abi::Timeline, Vec<abi::TimelineSample>) {
        let mut t = abi::Timeline {
            op: 0,
            event: 0,
            mark_ns: 0,
            samples: 0,
            count: 2,
            total: 2,
            period_ms: 100,
            flags: abi::TIMELINE_RESUMED | abi::TIMELINE_GAP_MEASURED,
            known: 0,
            event_ns: [0; abi::TL_EVENT_SLOTS],
        };
        let times: [(u32, i64); 9] = [
            (abi::TL_MODULE_LOADED, 1_500_000_000),
            (abi::TL_RESUME_REQUESTED, 1_600_000_000),
            (abi::TL_MANIFEST_FETCHED, 1_650_123_456),
            (abi::TL_JUMP, 3_000_000_000),
            (abi::TL_DEVICES_RESUMED, 3_200_000_000),
            (abi::TL_ADOPTED, 3_210_000_000),
            (abi::TL_THAWED, 3_300_000_000),
            (abi::TL_FIRST_FAULT, 3_250_000_000),
            (abi::TL_COMPLETE, 9_000_000_000),
        ];
        for (e, ns) in times {
            t.known |= 1 << e;
            t.event_ns[e as usize] = ns;
        }
        let s = vec![
            abi::TimelineSample {
                t_ns: 3_210_000_001,
                urgent_pages: 0,
                workingset_pages: 0,
                background_pages: 0,
                installed_pages: 0,
            },
            abi::TimelineSample {
                t_ns: 3_310_500_000,
                urgent_pages: 16,
                workingset_pages: 2048,
                background_pages: 32,
                installed_pages: 0,
            },
        ];
        (t, s)
    }

    #[test]
    fn csv_lists_events_by_time_then_samples() {
        let (t, s) = answer();
        let csv = Timeline::from_abi(&t, &s).to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("# lazyresume timeline; clock: ms of the boot kernel's"));
        assert!(lines[0].ends_with("(jump to adoption measured with the time-stamp counter)"));
        assert_eq!(lines[1], "# flags 0x3, sampling period 100 ms at the end");
        assert_eq!(lines[2], HEADER);
        assert_eq!(
            &lines[3..],
            [
                "event,module_loaded,1500.000,,,,",
                "event,resume_requested,1600.000,,,,",
                "event,manifest_fetched,1650.123,,,,",
                "event,jump,3000.000,,,,",
                "event,devices_resumed,3200.000,,,,",
                "event,adopted,3210.000,,,,",
                "event,first_fault,3250.000,,,,",
                "event,thawed,3300.000,,,,",
                "event,complete,9000.000,,,,",
                "sample,,3210.000,0,0,0,0",
                "sample,,3310.500,16,2048,32,0",
            ]
        );
    }

    #[test]
    fn csv_round_trips() {
        let (t, s) = answer();
        let tl = Timeline::from_abi(&t, &s);
        let back = Timeline::parse_csv(&tl.to_csv()).unwrap();
        assert_eq!(back.events.len(), 9);
        assert_eq!(back.samples.len(), 2);
        for (b, s) in back.samples.iter().zip(&tl.samples) {
            // Microseconds are written, no more.
            assert!((b.t_ms - s.t_ms).abs() < 0.001, "{b:?} {s:?}");
            assert_eq!(
                (b.urgent, b.workingset, b.background),
                (s.urgent, s.workingset, s.background)
            );
        }
        assert_eq!(back.event("manifest_fetched"), Some(1650.123));
        assert_eq!(back.event("loadset_done"), None);
        assert!(back.problems().is_empty(), "{:?}", back.problems());
    }

    #[test]
    fn unmeasured_gap_is_said() {
        let (mut t, s) = answer();
        t.flags = abi::TIMELINE_RESUMED;
        let csv = Timeline::from_abi(&t, &s).to_csv();
        assert!(csv
            .lines()
            .next()
            .unwrap()
            .ends_with("(jump to adoption not measured, taken as 0)"));
    }

    #[test]
    fn parse_refuses_what_it_did_not_write() {
        for (text, why) in [
            ("", "no header"),
            ("kind,name\n", "expected the header"),
            (&format!("{HEADER}\nevent,jump,1.0,,,\n"), "6 fields"),
            (
                &format!("{HEADER}\nevent,nap,1.0,,,,\n"),
                "unknown event 'nap'",
            ),
            (&format!("{HEADER}\nevent,jump,soon,,,,\n"), "time 'soon'"),
            (&format!("{HEADER}\nevent,jump,NaN,,,,\n"), "time 'NaN'"),
            (&format!("{HEADER}\nsample,,1.0,1,2,x,4\n"), "field 6 'x'"),
            (&format!("{HEADER}\nmark,,1.0,,,,\n"), "unknown kind 'mark'"),
        ] {
            let e = format!("{:#}", Timeline::parse_csv(text).unwrap_err());
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn problems_find_events_out_of_order() {
        let (mut t, s) = answer();
        // Adopted before the jump, and listed so.
        t.event_ns[abi::TL_ADOPTED as usize] = 2_000_000_000;
        let tl = Timeline::from_abi(&t, &s);
        let p = tl.problems();
        assert!(
            p.iter()
                .any(|l| l.starts_with("jump (3000.000 ms) after adopted")),
            "{p:?}"
        );
        assert!(p.iter().any(|l| l.starts_with("devices_resumed")), "{p:?}");
        // A file whose lines go back in time.
        let csv = format!("{HEADER}\nevent,jump,5.0,,,,\nevent,adopted,4.0,,,,\n");
        let p = Timeline::parse_csv(&csv).unwrap().problems();
        assert!(
            p[0].starts_with("event adopted at 4.000 ms is before"),
            "{p:?}"
        );
    }

    #[test]
    fn problems_find_samples_going_back() {
        let csv =
            format!("{HEADER}\nsample,,10.0,5,0,0,0\nsample,,9.0,5,0,0,0\nsample,,11.0,4,0,0,0\n");
        let p = Timeline::parse_csv(&csv).unwrap().problems();
        assert_eq!(
            p,
            [
                "sample at 9.000 ms after one at 10.000 ms",
                "a counter went down at 11.000 ms"
            ]
        );
    }

    #[test]
    fn every_event_has_a_name() {
        assert_eq!(EVENT_NAMES.len(), abi::TL_EVENTS);
        assert_eq!(EVENT_NAMES[abi::TL_COMPLETE as usize], "complete");
        assert_eq!(EVENT_NAMES[abi::TL_HOOK_DONE as usize], "hook_done");
    }
}
