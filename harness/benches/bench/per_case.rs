//! The per-case figures: the fork floor, one case through the worker, the pool and `mmcheck run`.

use super::*;

/// The filesystem a directory is on, by name when it is one mmcheck knows.
pub(crate) fn fs_name(dir: &Path) -> String {
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
pub(crate) fn write_cases(dir: &Path, n: usize) {
    let sub = dir.join("bench");
    std::fs::create_dir_all(&sub).expect("bench case directory");
    for i in 0..n {
        std::fs::write(sub.join(format!("touch-{i:04}.toml")), TRIVIAL).expect("bench case");
    }
}

/// One floor sample: fork, map a page, store to it, _exit; the parent waits.
pub(crate) fn floor_once(page: u64) -> Duration {
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

pub(crate) struct PerCase {
    pub(crate) floor: Samples,
    pub(crate) run_case: Samples,
    pub(crate) pool: Samples,
    /// Through the pool, with a spare child in each worker (MMCHECK_SPARE=1).
    pub(crate) spare: Samples,
    /// Pieces of the path that can be timed from outside the child.
    pub(crate) parts: Vec<(String, Duration)>,
    pub(crate) not_passed: usize,
}

/// The floor, the worker's own code and the pool; the floor is interleaved with the other two so
/// that a drift of the machine (another process, frequency) touches them alike.
pub(crate) fn per_case(
    case: &Case,
    host: &HostEnv,
    scratch: &Path,
    exe: &Path,
    n: usize,
) -> PerCase {
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
    // `n` timed runs of `one` after 20 to warm up, each right after a floor sample (kept in
    // `floor`), so that a drift of the machine touches both alike.
    let mut floor = Vec::new();
    let mut interleaved = |one: &mut dyn FnMut() -> Option<mmcheck::outcome::CaseRun>| {
        let mut timed = Vec::new();
        for i in 0..n + 20 {
            let f = floor_once(page);
            let t = Instant::now();
            let run = one();
            let d = t.elapsed();
            let (s, why) = run.map_or((Status::Broken, String::new()), |r| (r.status, r.reason));
            check(s, &why);
            if i >= 20 {
                floor.push(f);
                timed.push(d);
            }
        }
        timed
    };
    // The worker's code runs in this process first, while it has no other child: a worker may
    // reap every child of its process after a case, and the pool's worker is one.
    let in_process = interleaved(&mut || worker::run_case(case, scratch, None, None));
    // Then through the pool, as the tests and `mmcheck run` do; the first run starts the worker.
    let pool = Pool::new(exe);
    let pooled = interleaved(&mut || Some(runner::run_one(case, host, &pool, false, None, None)));
    drop(pool);
    // The same with each worker keeping the next case's child forked (MMCHECK_SPARE=1, read by
    // the workers this pool starts). The bench is single-threaded, so setting it is safe.
    std::env::set_var("MMCHECK_SPARE", "1");
    let pool = Pool::new(exe);
    let spared = interleaved(&mut || Some(runner::run_one(case, host, &pool, false, None, None)));
    drop(pool);
    std::env::remove_var("MMCHECK_SPARE");

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
        spare: Samples::new(spared),
        parts,
        not_passed,
    }
}

pub(crate) struct Cli {
    pub(crate) startup: Duration,
    pub(crate) total: Duration,
    pub(crate) per_case: Duration,
}

/// Best of three wall times of `mmcheck run -j 1` over 1 and over `n` copies of the trivial
/// case; the difference over n - 1 is the runner's cost per case, start-up excluded.
pub(crate) fn cli_per_case(exe: &Path, base: &Path, n: usize) -> Option<Cli> {
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
