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
//!
//! Knobs (environment): BENCH_RUNS (whole-suite runs, 5), BENCH_CASES (per-case samples, 2000),
//! BENCH_EXPLAIN (runs per explained symbol, 20), BENCH_SKIP_SUITE=1 (skip the whole suite).

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
        }
        println!();
        s
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
    if let Some(c) = &cli {
        row(
            "per case via `mmcheck run -j 1`",
            format!("{:.3} ms = {:.1}x", ms(c.per_case), ratio(c.per_case)),
            "<= 1.5x",
            Some(ratio(c.per_case) <= TARGET_RATIO),
        );
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
}

/// The filesystem a directory is on, by name when it is one mmcheck knows.
fn fs_name(dir: &Path) -> String {
    match sys::fs_magic(dir) {
        Some(0x0102_1994) => "tmpfs".into(),
        Some(0xEF53) => "ext4".into(),
        Some(0x5846_5342) => "xfs".into(),
        Some(0x9123_683E) => "btrfs".into(),
        Some(m) => format!("filesystem 0x{m:x}"),
        None => "filesystem unknown".into(),
    }
}

/// Writes `n` copies of the trivial case under `dir/bench/`.
fn write_cases(dir: &Path, n: usize) {
    let sub = dir.join("bench");
    std::fs::create_dir_all(&sub).expect("bench case directory");
    for i in 0..n {
        std::fs::write(sub.join(format!("touch-{i:04}.toml")), TRIVIAL).expect("bench case");
    }
}

/// One floor sample: fork, map a page, store to it, _exit; the parent waits.
fn floor_once(page: u64) -> Duration {
    let start = Instant::now();
    match sys::fork() {
        Ok(Forked::Child) => {
            let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
            let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
            let byte = 1u8;
            let ok = match sys::raw(sys::nr::MMAP, [0, page, prot, flags, u64::MAX, 0]) {
                // The same `rep movsb` a case's `store` step uses.
                Ok(addr) => probe::copy(addr, &byte as *const u8 as u64, 1).is_ok(),
                Err(_) => false,
            };
            sys::exit_now(if ok { 0 } else { 1 })
        }
        Ok(Forked::Parent(pid)) => {
            let ended = sys::wait(pid, true);
            assert_eq!(ended, Ok(Some(Ended::Exited(0))), "the floor's child");
        }
        Err(e) => panic!("fork: errno {e}"),
    }
    start.elapsed()
}

struct PerCase {
    floor: Samples,
    run_case: Samples,
    pool: Samples,
    /// Pieces of the path that can be timed from outside the child.
    parts: Vec<(String, Duration)>,
    not_passed: usize,
}

/// The floor, the worker's own code and the pool; the floor is interleaved with the other two so
/// that a drift of the machine (another process, frequency) touches them alike.
fn per_case(case: &Case, host: &HostEnv, scratch: &Path, exe: &Path, n: usize) -> PerCase {
    let page = sys::page_size();
    let mut not_passed = 0;
    let mut check = |s: Status, reason: &str| {
        if s != Status::Pass {
            if not_passed == 0 {
                eprintln!("bench: the trivial case did not pass: {s:?}: {reason}");
            }
            not_passed += 1;
        }
    };
    let status = |r: Option<mmcheck::outcome::CaseRun>| {
        r.map_or((Status::Broken, String::new()), |r| (r.status, r.reason))
    };
    let (mut floor, mut in_process, mut pooled) = (Vec::new(), Vec::new(), Vec::new());
    // The worker's code runs in this process first, while it has no other child: a worker may
    // reap every child of its process after a case, and the pool's worker is one.
    for i in 0..n + 20 {
        let f = floor_once(page);
        let t = Instant::now();
        let run = worker::run_case(case, scratch, None, None);
        let d = t.elapsed();
        let (s, why) = status(run);
        check(s, &why);
        if i >= 20 {
            floor.push(f);
            in_process.push(d);
        }
    }
    // Then through the pool, as the tests and `mmcheck run` do; the first run starts the worker.
    let pool = Pool::new(exe);
    for i in 0..n + 20 {
        let f = floor_once(page);
        let t = Instant::now();
        let run = runner::run_one(case, host, &pool, false, None, None);
        let d = t.elapsed();
        let (s, why) = status(Some(run));
        check(s, &why);
        if i >= 20 {
            floor.push(f);
            pooled.push(d);
        }
    }
    drop(pool);

    // What the runner does per case around the fork, each timed alone.
    let reps = n.min(500);
    let median_of = |f: &mut dyn FnMut()| {
        let v = (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect();
        Samples::new(v).median()
    };
    let mut parts = Vec::new();
    parts.push((
        "  reload the case file (load_one)".to_string(),
        median_of(&mut || {
            let _ = load::load_one(&case.path, &case.file_id);
        }),
    ));
    parts.push((
        format!(
            "  scratch dir, made and removed ({}; cases with files only)",
            scratch.display()
        ),
        median_of(&mut || {
            let d = tempfile::Builder::new()
                .prefix("mmcheck-")
                .tempdir_in(scratch)
                .expect("scratch");
            drop(d);
        }),
    ));
    let req = worker::Request {
        file: case.path.clone(),
        file_id: case.file_id.clone(),
        id: case.id.clone(),
        scratch: scratch.to_path_buf(),
        mutate: None,
        layout_seed: None,
    };
    let answer = worker::run_case(case, scratch, None, None).expect("a verdict");
    parts.push((
        "  request + answer JSON, both ends".to_string(),
        median_of(&mut || {
            let r = serde_json::to_vec(&req).expect("serializes");
            let _: worker::Request = serde_json::from_slice(&r).expect("parses");
            let a = serde_json::to_vec(&answer).expect("serializes");
            let _: mmcheck::outcome::CaseRun = serde_json::from_slice(&a).expect("parses");
        }),
    ));
    PerCase {
        floor: Samples::new(floor),
        run_case: Samples::new(in_process),
        pool: Samples::new(pooled),
        parts,
        not_passed,
    }
}

struct Cli {
    startup: Duration,
    total: Duration,
    per_case: Duration,
}

/// Best of three wall times of `mmcheck run -j 1` over 1 and over `n` copies of the trivial
/// case; the difference over n - 1 is the runner's cost per case, start-up excluded.
fn cli_per_case(exe: &Path, base: &Path, n: usize) -> Option<Cli> {
    let one = base.join("one");
    let many = base.join("many");
    write_cases(&many, n);
    let best = |dir: &Path| -> Option<Duration> {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let out = Command::new(exe)
                    .args(["run", "-j", "1", "--cases"])
                    .arg(dir)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .status();
                match out {
                    Ok(s) if s.success() => Some(t.elapsed()),
                    Ok(s) => {
                        eprintln!("bench: mmcheck run over {} ended {s}", dir.display());
                        None
                    }
                    Err(e) => {
                        eprintln!("bench: cannot run {}: {e}", exe.display());
                        None
                    }
                }
            })
            .collect::<Option<Vec<_>>>()
            .and_then(|v| v.into_iter().min())
    };
    let startup = best(&one)?;
    let total = best(&many)?;
    Some(Cli {
        startup,
        total,
        per_case: total.saturating_sub(startup) / (n as u32 - 1),
    })
}

fn explain_times(exe: &Path, repo: &Path, symbol: &str, runs: usize) -> Vec<Duration> {
    (0..runs)
        .filter_map(|_| {
            let t = Instant::now();
            // stdout is a pipe, so there is no pager either way; --no-pager says it anyway.
            let out = Command::new(exe)
                .args(["explain", symbol, "--no-pager"])
                .current_dir(repo)
                .env_remove("PAGER")
                .stdin(Stdio::null())
                .output()
                .ok()?;
            let d = t.elapsed();
            if !out.status.success() || out.stdout.is_empty() {
                eprintln!("bench: mmcheck explain {symbol} ended {}", out.status);
                return None;
            }
            Some(d)
        })
        .collect()
}

struct Suite {
    walls: Samples,
    /// Per run, in run order: wall, CPU of mmcheck and its processes, CPU of everything else.
    runs: Vec<(Duration, f64, f64)>,
    list: Duration,
    cases: usize,
    passed: usize,
    skipped: usize,
    case_ms_sum: u64,
    slowest: Vec<(u64, String)>,
}

/// CPU seconds all processes of the machine spent busy so far (/proc/stat, all CPUs).
fn busy_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait.
    let busy: f64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&h| h > 0)
        .unwrap_or(100);
    busy / hz as f64
}

/// User + system CPU seconds of this process's waited-for descendants so far.
fn children_cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| {
        let (a, b) = (u.user_time(), u.system_time());
        a.tv_sec() as f64 + b.tv_sec() as f64 + (a.tv_usec() + b.tv_usec()) as f64 / 1e6
    })
}

/// A run during which the rest of the machine kept half a CPU busy. A quiet machine shows about
/// 0.15 CPU here: kernel threads working for the run (loop devices, journals, mkfs's writes).
fn contended(wall: Duration, others: f64) -> bool {
    others > 0.5 * wall.as_secs_f64()
}

fn whole_suite(exe: &Path, repo: &Path, runs: usize) -> Option<Suite> {
    let t = Instant::now();
    let listed = Command::new(exe)
        .arg("list")
        .current_dir(repo)
        .stdout(Stdio::null())
        .status();
    let list = t.elapsed();
    if !matches!(listed, Ok(s) if s.success()) {
        eprintln!("bench: mmcheck list failed: {listed:?}");
        return None;
    }
    let mut walls = Vec::new();
    let mut per_run = Vec::new();
    let mut last = Vec::new();
    for _ in 0..runs {
        let (busy0, ours0) = (busy_seconds(), children_cpu_seconds());
        let t = Instant::now();
        // A failing case (exit 1) is still a timed run; the figure is the wall time.
        let out = Command::new(exe)
            .args(["run", "--format", "json"])
            .current_dir(repo)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output();
        let wall = t.elapsed();
        let ours = children_cpu_seconds() - ours0;
        let others = (busy_seconds() - busy0 - ours).max(0.0);
        walls.push(wall);
        per_run.push((wall, ours, others));
        match out {
            Ok(o) => last = o.stdout,
            Err(e) => {
                eprintln!("bench: cannot run {}: {e}", exe.display());
                return None;
            }
        }
    }
    let doc: serde_json::Value = serde_json::from_slice(&last).ok()?;
    let cases = doc["cases"].as_array()?;
    let count = |s: &str| cases.iter().filter(|c| c["status"] == s).count();
    let mut by_time: Vec<(u64, String)> = cases
        .iter()
        .map(|c| {
            (
                c["millis"].as_u64().unwrap_or(0),
                c["id"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let case_ms_sum = by_time.iter().map(|(m, _)| m).sum();
    by_time.sort_by(|a, b| b.cmp(a));
    by_time.truncate(5);
    Some(Suite {
        walls: Samples::new(walls),
        runs: per_run,
        list,
        cases: cases.len(),
        passed: count("pass"),
        skipped: count("skip"),
        case_ms_sum,
        slowest: by_time,
    })
}
