//! Timing whole commands: `mmcheck explain` per symbol, and the suite's wall time with the
//! machine's other load measured beside it.

use super::*;

pub(crate) fn explain_times(exe: &Path, repo: &Path, symbol: &str, runs: usize) -> Vec<Duration> {
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

pub(crate) struct Suite {
    pub(crate) walls: Samples,
    /// Per run, in run order: wall, CPU of mmcheck and its processes, CPU of everything else.
    pub(crate) runs: Vec<(Duration, f64, f64)>,
    pub(crate) list: Duration,
    pub(crate) cases: usize,
    pub(crate) passed: usize,
    pub(crate) skipped: usize,
    pub(crate) case_ms_sum: u64,
    /// The `vm.max_map_count` cases (ids with `map-count`): how many, and their summed time.
    pub(crate) map_count: (usize, u64),
    pub(crate) slowest: Vec<(u64, String)>,
}

/// CPU seconds all processes of the machine spent busy so far (/proc/stat, all CPUs).
pub(crate) fn busy_seconds() -> f64 {
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
pub(crate) fn children_cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| {
        let (a, b) = (u.user_time(), u.system_time());
        a.tv_sec() as f64 + b.tv_sec() as f64 + (a.tv_usec() + b.tv_usec()) as f64 / 1e6
    })
}

/// A run during which the rest of the machine kept half a CPU busy. A quiet machine shows about
/// 0.15 CPU here: kernel threads working for the run (loop devices, journals, mkfs's writes).
pub(crate) fn contended(wall: Duration, others: f64) -> bool {
    others > 0.5 * wall.as_secs_f64()
}

pub(crate) fn whole_suite(exe: &Path, repo: &Path, runs: usize) -> Option<Suite> {
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
    let map_count = by_time
        .iter()
        .filter(|(_, id)| id.contains("map-count"))
        .fold((0, 0), |(n, sum), (m, _)| (n + 1, sum + m));
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
        map_count,
        slowest: by_time,
    })
}
