//! A `repeat` step against the same calls in a plain loop: the cost of one iteration through the
//! case runner next to the cost of the bare system call, measured in the same run.
//!
//! Each figure is a difference, so that what does not depend on the count (fork, setup, exit,
//! the runner's judging) cancels: a case with `repeat = N` minus the same case with `repeat = 1`,
//! over N - 1 iterations, run in this process through `worker::run_case`; and a forked child
//! making the N calls with `sys::raw` minus one making one, over N - 1.

use super::*;

/// One loop to compare: the case text (with `{N}` for the count) and the same calls made raw.
pub(crate) struct Loop {
    pub(crate) name: &'static str,
    case: &'static str,
    /// Makes up to `n` calls in a forked child, stopping at the first error as `repeat` does;
    /// exits with 0.
    raw: fn(u64, u64),
    /// The count of the long run.
    pub(crate) n: u64,
}

/// An advice that changes nothing (no split, no flag change): the cheapest mmap-family call, so
/// the runner's share is the largest it can be.
const MADV_NORMAL_CASE: &str = r#"summary = "madvise(MADV_NORMAL) of each page of a mapping (the bench's cheap loop)"
symbols = ["madvise"]
refs    = ["madvise(2) DESCRIPTION MADV_NORMAL"]

[[step]]
id   = "m"
call = "mmap"
args = { len = "{N}*PAGE", prot = "PROT_READ|PROT_WRITE", flags = "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE" }

[[step]]
call   = "madvise"
args   = { addr = "$m+$i*PAGE", len = "PAGE", advice = "MADV_NORMAL" }
repeat = {N}
expect = { iterations = "{N}" }
"#;

/// The loop of the vm.max_map_count cases: split a mapping page by page until ENOMEM.
const SPLIT_CASE: &str = r#"summary = "mprotect() of every other page until the mapping count limit (the bench's split loop)"
symbols = ["mprotect"]
refs    = ["mprotect(2) ERRORS ENOMEM"]
timeout = 60

[[step]]
id   = "m"
call = "mmap"
args = { len = "140000*PAGE", prot = "PROT_READ|PROT_WRITE", flags = "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE" }

[[step]]
call   = "mprotect"
args   = { addr = "$m+2*$i*PAGE+PAGE", len = "PAGE", prot = "PROT_READ" }
repeat = {N}
"#;

/// The cases' first step made raw: `len` bytes of private anonymous read-write memory,
/// MAP_NORESERVE; the child exits with 1 if it cannot be had.
fn map_noreserve(len: u64) -> u64 {
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as u64;
    let Ok(m) = sys::raw(sys::nr::MMAP, [0, len, prot, flags, u64::MAX, 0]) else {
        sys::exit_now(1)
    };
    m
}

fn madv_normal_raw(n: u64, page: u64) {
    let m = map_noreserve(n * page);
    for i in 0..n {
        let advice = libc::MADV_NORMAL as u64;
        if sys::raw(sys::nr::MADVISE, [m + i * page, page, advice, 0, 0, 0]).is_err() {
            break;
        }
    }
}

fn split_raw(n: u64, page: u64) {
    let m = map_noreserve(140_000 * page);
    for i in 0..n {
        let at = m + 2 * i * page + page;
        let read = libc::PROT_READ as u64;
        if sys::raw(sys::nr::MPROTECT, [at, page, read, 0, 0, 0]).is_err() {
            break;
        }
    }
}

pub(crate) fn loops() -> Vec<Loop> {
    vec![
        Loop {
            name: "madvise(MADV_NORMAL), one page each",
            case: MADV_NORMAL_CASE,
            raw: madv_normal_raw,
            n: 100_000,
        },
        Loop {
            name: "mprotect split up to vm.max_map_count",
            case: SPLIT_CASE,
            raw: split_raw,
            // Stops at ENOMEM, about 32,750 iterations at the default limit of 65530.
            n: 70_000,
        },
    ]
}

/// Wall time of a forked child making the calls; the child exits when done.
fn raw_once(l: &Loop, n: u64, page: u64) -> Duration {
    let t = Instant::now();
    match sys::fork() {
        Ok(Forked::Child) => {
            (l.raw)(n, page);
            sys::exit_now(0)
        }
        Ok(Forked::Parent(pid)) => {
            let _ = sys::wait(pid, true);
        }
        Err(e) => panic!("fork: errno {e}"),
    }
    t.elapsed()
}

pub(crate) struct LoopCost {
    pub(crate) iterations: u64,
    /// Per iteration: through a `repeat` step, and raw.
    pub(crate) repeat: Duration,
    pub(crate) raw: Duration,
}

/// Best of `runs` of each of the four runs, interleaved.
pub(crate) fn measure(l: &Loop, dir: &Path, scratch: &Path, runs: usize) -> Option<LoopCost> {
    let page = sys::page_size();
    let load = |n: u64, sub: &str| -> Option<Case> {
        let d = dir.join(sub).join("bench");
        std::fs::create_dir_all(&d).ok()?;
        std::fs::write(d.join("loop.toml"), l.case.replace("{N}", &n.to_string())).ok()?;
        let (mut cases, diags) = load::load_dir(&dir.join(sub));
        if !diags.is_empty() {
            eprintln!("bench: the loop case does not load: {diags:?}");
            return None;
        }
        cases.pop()
    };
    let long = load(l.n, "long")?;
    let short = load(1, "short")?;
    let mut iterations = l.n;
    let (mut case_n, mut case_1, mut raw_n, mut raw_1) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        for (case, times) in [(&long, &mut case_n), (&short, &mut case_1)] {
            let t = Instant::now();
            let run = worker::run_case(case, scratch, None, None)?;
            times.push(t.elapsed());
            if std::ptr::eq(case, &long) {
                // The count the loop ran, from the repeated step's record.
                // `ENOMEM (iteration 32746)`: a loop that stopped early says where.
                let stopped = run.steps.iter().find_map(|s| {
                    let (_, rest) = s.observed.split_once("(iteration ")?;
                    rest.split(')').next()?.parse().ok()
                });
                if let Some(n) = stopped {
                    iterations = n;
                }
            }
        }
        raw_n.push(raw_once(l, l.n, page));
        raw_1.push(raw_once(l, 1, page));
    }
    let best = |v: Vec<Duration>| Samples::new(v).min();
    let per = |a: Duration, b: Duration| a.saturating_sub(b) / (iterations.max(2) - 1) as u32;
    Some(LoopCost {
        iterations,
        repeat: per(best(case_n), best(case_1)),
        raw: per(best(raw_n), best(raw_1)),
    })
}
