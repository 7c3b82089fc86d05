//! `make bench` (`cargo bench --bench bench`): how fast mmcheck is on this machine. Numbers, not
//! assertions: tests check behaviour, this measures speed, prints every figure next to its
//! target, and never fails because a target was missed. See docs/performance.md.
//!
//! 1. The floor: a bare fork + waitpid of a child that maps one anonymous page, touches it and
//!    `_exit`s. No runner can run a case in a child for less.
//! 2. The runner's cost per case, for the cheapest case there is (map a page, store a byte):
//!    through the library as the tests call it (`runner::run_one` on a worker pool), through
//!    `mmcheck run -j 1` over N copies of the case (start-up measured apart), and in the worker's
//!    own code alone (`worker::run_case`, without the request, the reload and the answer).
//! 3. `mmcheck explain SYMBOL`, as a person at a terminal waits for it.
//! 4. `mmcheck run` over the whole suite (`cases/`, filesystem variants included).
//! 5. One iteration of a `repeat` step next to the same system call in a plain loop.
//! 6. With LTP_DIR set: the whole suite and LTP's mmap-family tests, pair by pair.
//!
//! Knobs (environment): BENCH_RUNS (whole-suite runs and LTP pairs, 5), BENCH_CASES (per-case
//! samples, 2000), BENCH_EXPLAIN (runs per explained symbol, 20), BENCH_SKIP_SUITE=1 (skip the
//! whole suite and LTP), LTP_DIR (an LTP build or install directory).

use mmcheck::case::load;
use mmcheck::case::plan::Case;
use mmcheck::env::HostEnv;
use mmcheck::outcome::Status;
use mmcheck::pool::Pool;
use mmcheck::sys::{self, probe, Ended, Forked};
use mmcheck::{runner, worker};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod commands;
mod loops;
mod ltp;
mod per_case;

use commands::*;
use per_case::*;

/// The cheapest case: one mapping, one store. Everything it costs beyond the floor is the runner.
const TRIVIAL: &str = r#"summary = "A private anonymous page can be mapped and written (the bench's trivial case)"
symbols = ["mmap"]
refs    = ["mmap(2) DESCRIPTION"]

[[step]]
id   = "m"
call = "mmap"
args = { len = "PAGE", prot = "PROT_READ|PROT_WRITE", flags = "MAP_PRIVATE|MAP_ANONYMOUS" }

[[step]]
call = "store"
args = { addr = "$m", text = "x" }
"#;

const TARGET_RATIO: f64 = 1.5;
const TARGET_LOOP_RATIO: f64 = 2.0;
const TARGET_LTP_RATIO: f64 = 0.25;
const TARGET_SUITE_S: f64 = 2.0;
const TARGET_EXPLAIN_MS: f64 = 20.0;

/// Symbols `explain` is timed on: a flag, two errnos (EINVAL has the most causes), a signal, a call.
const EXPLAINED: &[&str] = &["MAP_FIXED", "ENOMEM", "EINVAL", "SIGBUS", "madvise"];

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Durations, sorted, for order statistics.
struct Samples(Vec<Duration>);

impl Samples {
    fn new(mut v: Vec<Duration>) -> Samples {
        v.sort();
        Samples(v)
    }
    fn quantile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.0.len() - 1) as f64 * q).round() as usize;
        self.0[i]
    }
    fn min(&self) -> Duration {
        self.quantile(0.0)
    }
    fn median(&self) -> Duration {
        self.quantile(0.5)
    }
    fn p95(&self) -> Duration {
        self.quantile(0.95)
    }
    fn mean(&self) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.iter().sum::<Duration>() / self.0.len() as u32
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument means nothing here.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository exists");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_mmcheck"));
    let samples = knob("BENCH_CASES", 2000).max(20);
    let suite_runs = knob("BENCH_RUNS", 5).max(1);
    let explain_runs = knob("BENCH_EXPLAIN", 20).max(1);

    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (release, machine) = sys::uname();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "mmcheck bench: {cpus} CPUs, {cpu}, Linux {release} {machine}, euid {}",
        sys::euid()
    );
    let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(0, |(soft, _)| soft);
    println!("binary: {}, RLIMIT_NOFILE {nofile}", exe.display());

    // The bench forks (the floor, worker::run_case), so it stays single-threaded: workers and
    // commands are processes, never threads of this one.
    let bench = tempfile::Builder::new()
        .prefix("mmcheck-bench-")
        .tempdir()
        .expect("a temporary directory");
    let one_dir = bench.path().join("one");
    write_cases(&one_dir, 1);
    let (cases, diags) = load::load_dir(&one_dir);
    assert!(diags.is_empty(), "the trivial case loads: {diags:?}");
    let case = &cases[0];
    let host = HostEnv::detect();
    let scratch = runner::scratch_dir(case, &host);
    println!(
        "scratch directory of a case: {} ({})",
        scratch.display(),
        fs_name(&scratch)
    );
    println!();

    println!(
        "per-case path ({samples} samples each, floor interleaved; trivial case: mmap + store)"
    );
    let per = per_case(case, &host, &scratch, &exe, samples);
    let show = |name: &str, s: &Samples| {
        println!(
            "  {name:<44} median {:6.3} ms  mean {:6.3}  p95 {:6.3}  min {:6.3}",
            ms(s.median()),
            ms(s.mean()),
            ms(s.p95()),
            ms(s.min())
        );
    };
    show("floor: fork + mmap + touch + _exit + waitpid", &per.floor);
    show(
        "worker::run_case in-process (no IPC, no load)",
        &per.run_case,
    );
    show("runner::run_one via the pool (library API)", &per.pool);
    show("the same, MMCHECK_SPARE=1 (pre-forked child)", &per.spare);
    println!("  alone, warm, in this process (no fork in between, so no copy-on-write faults):");
    for (what, d) in &per.parts {
        println!("  {what:<44} median {:6.3} ms", ms(*d));
    }
    if per.not_passed > 0 {
        println!(
            "  warning: {} runs of the trivial case did not pass",
            per.not_passed
        );
    }
    println!();

    let n_cli = (samples / 4).clamp(50, 500);
    println!(
        "`mmcheck run -j 1` over {n_cli} copies of the trivial case, start-up apart (best of 3)"
    );
    let cli = cli_per_case(&exe, bench.path(), n_cli);
    if let Some(c) = &cli {
        println!(
            "  1 case: {:.1} ms (start-up), {n_cli} cases: {:.1} ms, per case: {:.3} ms",
            ms(c.startup),
            ms(c.total),
            ms(c.per_case)
        );
    }
    println!();

    println!(
        "`repeat` against a plain loop of the same call (per iteration; N minus 1 iteration, best of 5)"
    );
    let loop_costs: Vec<(&'static str, Option<loops::LoopCost>)> = loops::loops()
        .iter()
        .map(|l| {
            let c = loops::measure(l, &bench.path().join("loops"), &scratch, 5);
            if let Some(c) = &c {
                println!(
                    "  {:<40} {:>7} iterations: repeat {:6.3} us, raw syscall {:6.3} us",
                    l.name,
                    c.iterations,
                    c.repeat.as_secs_f64() * 1e6,
                    c.raw.as_secs_f64() * 1e6
                );
            }
            (l.name, c)
        })
        .collect();
    println!();

    println!("`mmcheck explain SYMBOL --no-pager`, stdout a pipe, {explain_runs} runs per symbol");
    let mut all = Vec::new();
    for sym in EXPLAINED {
        let times = explain_times(&exe, &repo, sym, explain_runs);
        let s = Samples::new(times.clone());
        println!(
            "  {sym:<12} median {:6.1} ms  p95 {:6.1} ms",
            ms(s.median()),
            ms(s.p95())
        );
        all.extend(times);
    }
    let explain = Samples::new(all);
    println!();

    let suite = if std::env::var_os("BENCH_SKIP_SUITE").is_some() {
        None
    } else {
        println!("`mmcheck run` over cases/ ({suite_runs} runs, -j {cpus})");
        let s = whole_suite(&exe, &repo, suite_runs);
        if let Some(s) = &s {
            for (i, (wall, ours, others)) in s.runs.iter().enumerate() {
                println!(
                    "  run {}: {:.2} s wall, {ours:.2} s CPU in mmcheck, {others:.2} s CPU elsewhere{}",
                    i + 1,
                    wall.as_secs_f64(),
                    if contended(*wall, *others) {
                        "  (contended: other processes were busy)"
                    } else {
                        ""
                    }
                );
            }
            println!(
                "  {} cases ({} passed, {} skipped, {} other); loading them (`mmcheck list`): {:.0} ms",
                s.cases,
                s.passed,
                s.skipped,
                s.cases - s.passed - s.skipped,
                ms(s.list)
            );
            println!(
                "  sum of the cases' own times {:.2} s over {cpus} jobs; slowest:",
                s.case_ms_sum as f64 / 1e3
            );
            for (millis, id) in &s.slowest {
                println!("    {millis:5} ms  {id}");
            }
            // Most of their time is the kernel's (65,530 mappings made, split, formatted in
            // smaps, torn down): however cheap the runner, the suite takes at least this long.
            let (n, sum) = s.map_count;
            println!(
                "  the {n} vm.max_map_count cases (ids with `map-count`): {:.2} s of it, so at \
                 least {:.2} s of wall time on {cpus} jobs whatever the runner costs",
                sum as f64 / 1e3,
                sum as f64 / 1e3 / cpus as f64
            );
        }
        println!();
        s
    };

    let ltp_dir = std::env::var_os("LTP_DIR").map(PathBuf::from);
    let ltp = match (&ltp_dir, std::env::var_os("BENCH_SKIP_SUITE")) {
        (_, Some(_)) => None,
        (None, None) => {
            println!(
                "LTP: not measured: LTP_DIR is not set (an LTP build or install directory with the \
                 mmap-family binaries; docs/performance.md says how to build them)"
            );
            println!();
            None
        }
        (Some(dir), None) => {
            let bins = ltp::find(dir);
            if bins.is_empty() {
                println!(
                    "LTP: not measured: no mmap-family test binary (mmap01, mlock201, ...) under {}",
                    dir.display()
                );
                println!();
                None
            } else {
                println!(
                    "`mmcheck run` and LTP's {} mmap-family binaries, alternating ({suite_runs} pairs)",
                    bins.len()
                );
                let p = ltp::pairs(&exe, &repo, &bins, suite_runs);
                for (i, (ours, theirs)) in p.pairs.iter().enumerate() {
                    println!(
                        "  pair {}: mmcheck {:.2} s, LTP {:.2} s, ratio {:.2}",
                        i + 1,
                        ours.as_secs_f64(),
                        theirs.as_secs_f64(),
                        ours.as_secs_f64() / theirs.as_secs_f64().max(1e-9)
                    );
                }
                if p.ltp_not_ok > 0 {
                    println!(
                        "  {} of {} LTP binaries did not exit 0 in the last pass (TCONF, TFAIL, \
                         TBROK: timed all the same)",
                        p.ltp_not_ok, p.binaries
                    );
                }
                println!();
                Some(p)
            }
        }
    };

    let floor = per.floor.median();
    println!("{:<44} {:>22}   target", "figure", "measured");
    let row = |name: &str, value: String, target: &str, met: Option<bool>| {
        let line = format!(
            "{name:<44} {value:>22}   {target:<12} {}",
            met.map(verdict).unwrap_or("")
        );
        println!("{}", line.trim_end());
    };
    row(
        "floor (fork+mmap+touch+waitpid), median",
        format!("{:.3} ms", ms(floor)),
        "",
        None,
    );
    let ratio = |d: Duration| ms(d) / ms(floor).max(1e-9);
    let pool = per.pool.median();
    row(
        "per case via the pool (run_one), median",
        format!("{:.3} ms = {:.1}x", ms(pool), ratio(pool)),
        "<= 1.5x",
        Some(ratio(pool) <= TARGET_RATIO),
    );
    let spare = per.spare.median();
    row(
        "per case via the pool, MMCHECK_SPARE=1",
        format!("{:.3} ms = {:.1}x", ms(spare), ratio(spare)),
        "<= 1.5x",
        Some(ratio(spare) <= TARGET_RATIO),
    );
    if let Some(c) = &cli {
        row(
            "per case via `mmcheck run -j 1`",
            format!("{:.3} ms = {:.1}x", ms(c.per_case), ratio(c.per_case)),
            "<= 1.5x",
            Some(ratio(c.per_case) <= TARGET_RATIO),
        );
    }
    for (name, c) in &loop_costs {
        let label = format!("repeat vs raw: {}", name.split(',').next().unwrap_or(name));
        match c {
            Some(c) => {
                let r = c.repeat.as_secs_f64() / c.raw.as_secs_f64().max(1e-12);
                row(
                    &label,
                    format!(
                        "{:.3} / {:.3} us = {r:.2}x",
                        c.repeat.as_secs_f64() * 1e6,
                        c.raw.as_secs_f64() * 1e6
                    ),
                    "<= 2x",
                    Some(r <= TARGET_LOOP_RATIO),
                );
            }
            None => row(&label, "n/a".into(), "<= 2x", None),
        }
    }
    if explain.0.is_empty() {
        row("explain, median / p95", "n/a".into(), "< 20 ms", None);
    } else {
        row(
            "explain, median / p95",
            format!("{:.1} / {:.1} ms", ms(explain.median()), ms(explain.p95())),
            "< 20 ms",
            Some(ms(explain.p95()) < TARGET_EXPLAIN_MS),
        );
    }
    if let Some(s) = &suite {
        let busy = s.runs.iter().filter(|(w, _, o)| contended(*w, *o)).count();
        if busy > 0 {
            println!(
                "{:<44} {busy} of {} suite runs shared the CPUs with other processes",
                "note",
                s.runs.len()
            );
        }
        row(
            &format!("whole suite ({} cases), min / median", s.cases),
            format!(
                "{:.2} / {:.2} s",
                s.walls.min().as_secs_f64(),
                s.walls.median().as_secs_f64()
            ),
            "< 2 s",
            Some(s.walls.median().as_secs_f64() < TARGET_SUITE_S),
        );
    }
    match &ltp {
        Some(p) => {
            let ours = Samples::new(p.pairs.iter().map(|(o, _)| *o).collect()).median();
            let theirs = Samples::new(p.pairs.iter().map(|(_, t)| *t).collect()).median();
            let r = ours.as_secs_f64() / theirs.as_secs_f64().max(1e-9);
            row(
                "whole suite / LTP's family, medians",
                format!(
                    "{:.2} / {:.2} s = {r:.2}",
                    ours.as_secs_f64(),
                    theirs.as_secs_f64()
                ),
                "<= 0.25",
                Some(r <= TARGET_LTP_RATIO),
            );
        }
        None => row(
            "whole suite / LTP's family",
            "not measured".into(),
            "<= 0.25",
            None,
        ),
    }
}
