//! One run's records and its process's end, made into a verdict: the only place that decides
//! pass, fail, broken or skip from what a child did.

use super::check::check;
use super::regions::Regions;
use super::{symbols, CaseRun, Status, StepRun};
use crate::case::plan::{Case, Step};
use crate::case::vocab::{Call, Role};
use crate::sys::Ended;
use crate::version::Version;
use crate::wire::{Data, Obs, Record};

/// Everything the supervisor saw of one child.
pub struct Seen {
    pub records: Vec<Result<Record, String>>,
    pub ended: Option<Ended>,
    pub timed_out: bool,
    /// What the child wrote to stderr (a panic message, say), for broken verdicts.
    pub stderr: String,
    pub millis: u64,
}

/// The order in which the steps run: a fork's child steps run when the parent reaches its wait,
/// a thread's steps in parts, up to each `pause`, at each `resume` and at the `join`.
pub fn execution_order(case: &Case) -> Vec<usize> {
    /// Where each thread (by its step's index) resumes.
    type Resumes = std::collections::HashMap<usize, usize>;
    fn named<'a>(case: &'a Case, step: &Step, arg: &str, call: Call) -> Vec<&'a Step> {
        let mut refs = Vec::new();
        if let Some(e) = step.num(arg) {
            e.refs(&mut refs);
        }
        case.plan
            .steps
            .iter()
            .filter(|s| s.call == call && s.slot.is_some_and(|s| refs.contains(&s)))
            .collect()
    }
    fn walk(case: &Case, list: usize, out: &mut Vec<usize>, resumes: &mut Resumes) {
        for &i in &case.plan.lists[list] {
            let step = &case.plan.steps[i];
            if step.call == Call::Wait {
                for fork in named(case, step, "pid", Call::Fork) {
                    let child = fork.child_list.expect("forks have children");
                    walk(case, child, out, resumes);
                }
            }
            if matches!(step.call, Call::Resume | Call::Join) {
                for thread in named(case, step, "thread", Call::Thread) {
                    let steps = &case.plan.lists[thread.child_list.expect("threads have steps")];
                    let from = resumes.entry(thread.index).or_insert(0);
                    for &t in &steps[(*from).min(steps.len())..] {
                        out.push(t);
                        *from += 1;
                        if case.plan.steps[t].call == Call::Pause {
                            break;
                        }
                    }
                }
            }
            out.push(i);
        }
    }
    let mut out = Vec::new();
    walk(case, 0, &mut out, &mut Resumes::new());
    out
}

/// Classifies one run. This is the only function that decides a verdict from what a child did.
pub fn classify(case: &Case, seen: Seen, kernel: Option<Version>, page: u64) -> CaseRun {
    let mut env = Regions::new(case, page);
    let mut steps: Vec<Option<StepRun>> = vec![None; case.plan.steps.len()];
    // First problem of each kind, in the order they happened.
    let mut deviation: Option<String> = None;
    let mut broken: Option<String> = None;
    let mut crash: Option<String> = None;
    let mut done = false;
    let mut layout_dependent: Vec<String> = Vec::new();

    for record in &seen.records {
        match record {
            Err(garbled) => {
                broken.get_or_insert_with(|| {
                    format!("the child's record stream is garbled: {garbled}")
                });
            }
            Ok(Record::Done) => done = true,
            Ok(Record::Broken { reason }) => {
                broken.get_or_insert_with(|| {
                    format!("the child could not prepare the case: {reason}")
                });
            }
            Ok(Record::Crash {
                signo,
                code,
                addr,
                ip,
            }) => {
                crash.get_or_insert_with(|| {
                    format!(
                        "the harness itself was hit by {} outside any probe ({})",
                        symbols::signal(*signo, *code),
                        symbols::raw_fault(*addr, *ip, &env)
                    )
                });
            }
            Ok(Record::Step {
                step,
                obs,
                iterations,
            }) => {
                let Some(s) = case.plan.steps.get(*step) else {
                    broken.get_or_insert_with(|| {
                        format!("a record names step {step}, which the case does not have")
                    });
                    continue;
                };
                env.enter(s);
                let contract = s.contract(kernel);
                let mismatch = check(s, contract, obs, *iterations, &env);
                if let Some(m) = &mismatch {
                    let what = format!("{} ({}, line {}): {m}", s.label, s.spec.name, s.line);
                    match (obs, s.spec.role) {
                        // A step that could not run because an earlier one failed: the earlier
                        // failure is the verdict; alone, it is a mistake in the case.
                        (Obs::NotRun { .. }, _) if deviation.is_some() => {}
                        (Obs::NotRun { .. }, _) | (_, Role::Setup) => {
                            broken.get_or_insert(what);
                        }
                        (_, Role::Kernel) => {
                            deviation.get_or_insert(what);
                        }
                    }
                }
                // Learn first, so that an mmap's own result reads as `$m`, not as a number.
                env.learn(s, obs);
                let observed = match (s.call, obs, iterations) {
                    // A pid differs every run; that the child started is what matters.
                    (Call::Fork, Obs::Ok { .. }, _) => "child started".to_string(),
                    (Call::Thread, Obs::Ok { .. }, _) => "thread started".to_string(),
                    (_, _, Some(n)) => format!("{} (iteration {n})", symbols::obs(obs, &env)),
                    (_, _, None) => symbols::obs(obs, &env),
                };
                // The times a `stat` compares read as their order, never as times.
                let observed = observed + &symbols::time_order(contract, obs, &env);
                if let Obs::Ok {
                    data: Some(Data::Smaps(entries)),
                    ..
                } = obs
                {
                    for e in entries {
                        if let Some(merged) = merged_with_neighbour(e, &env) {
                            env.flag_layout_dependent(merged);
                        }
                    }
                }
                for shown in env.take_layout_dependent() {
                    let entry = format!("{} {}: {shown}", s.label, s.spec.name);
                    if !layout_dependent.contains(&entry) {
                        layout_dependent.push(entry);
                    }
                }
                steps[*step] = Some(StepRun {
                    observed,
                    obs: Some(obs.clone()),
                    mismatch,
                    ..StepRun::of(s, contract)
                });
            }
        }
    }

    let order = execution_order(case);
    let first_missing = order.iter().copied().find(|&i| steps[i].is_none());
    let during = first_missing
        .map(|i| {
            let s = &case.plan.steps[i];
            format!(" during {} ({}, line {})", s.label, s.spec.name, s.line)
        })
        .unwrap_or_default();
    let status_of_process = || match seen.ended {
        Some(Ended::Exited(0)) | None => None,
        Some(Ended::Exited(code)) => Some(format!("the child exited with status {code}{during}")),
        Some(Ended::Killed(sig)) => Some(format!(
            "the child was killed by {}{during}",
            symbols::signal_name(sig)
        )),
    };

    let (status, mut reason) = if seen.timed_out {
        let stuck = first_missing.map(|i| &case.plan.steps[i]);
        let what = match stuck {
            Some(s) => format!(
                "{} ({}, line {}) did not finish within {} s",
                s.label,
                s.spec.name,
                s.line,
                case.timeout.as_secs()
            ),
            None => format!("the child did not exit within {} s", case.timeout.as_secs()),
        };
        match (deviation, stuck.map(|s| s.spec.role)) {
            (Some(d), _) => (Status::Fail, format!("{d}; then {what}")),
            (None, Some(Role::Kernel)) => (Status::Fail, what),
            _ => (Status::Broken, what),
        }
    } else if let Some(b) = broken {
        (Status::Broken, b)
    } else if let Some(d) = deviation {
        let tail = crash
            .map(|c| format!("; afterwards {c}"))
            .unwrap_or_default();
        (Status::Fail, format!("{d}{tail}"))
    } else if let Some(c) = crash {
        (Status::Broken, c)
    } else if let Some(p) = status_of_process() {
        (Status::Broken, p)
    } else if !done || first_missing.is_some() {
        let what = match (first_missing, seen.ended) {
            (Some(_), Some(Ended::Exited(0))) => {
                format!("the child exited with status 0{during} without reporting it")
            }
            (Some(i), _) => format!("{} never reported", case.plan.steps[i].label),
            (None, Some(Ended::Exited(0))) => {
                "the child exited with status 0 after its last step without finishing the case"
                    .into()
            }
            (None, _) => "the child ended without finishing its steps".into(),
        };
        (Status::Broken, what)
    } else {
        (Status::Pass, String::new())
    };
    // What a dying child wrote may hold any bytes (qemu-user's corrupted guests write NULs):
    // control characters other than newline and tab are dropped, so that every report stays text.
    let stderr: String = seen
        .stderr
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    if status == Status::Broken && !stderr.trim().is_empty() {
        reason = format!("{reason}\nchild stderr:\n{}", stderr.trim_end());
    }
    let setup = (status == Status::Broken)
        .then(|| emulator_out_of_memory(&stderr))
        .flatten()
        .map(|cause| super::Setup::Other { cause, fix: None });

    let steps = order
        .iter()
        .map(|&i| {
            steps[i].take().unwrap_or_else(|| {
                let s = &case.plan.steps[i];
                StepRun::of(s, s.contract(kernel))
            })
        })
        .collect();
    CaseRun {
        id: case.id.clone(),
        status,
        reason,
        steps,
        fs: case.fs.clone(),
        millis: seen.millis,
        setup,
        layout_dependent,
    }
}

/// Whether the emulator running the case died of a failed allocation of its own, as GLib
/// reports one: `***MEMORY-ERROR***: qemu-aarch64-static[PID]: GSlice: failed to allocate ...`.
/// qemu-user passes a case's mlockall(MCL_FUTURE) on to its own process, so under the small
/// RLIMIT_MEMLOCK of such a case every page the emulator maps afterwards counts against the
/// limit, and whether the emulator needs one (to translate code the case reaches for the first
/// time, say) depends on its state, not on the case. Seen in one run of four of
/// mlockall/future-stack-growth-over-rlimit-sigsegv under qemu-user 7.2 (aarch64). Such a run
/// tells nothing about the kernel: it is the environment's, and not compared.
fn emulator_out_of_memory(stderr: &str) -> Option<String> {
    let emulator = stderr.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("***MEMORY-ERROR***: ")?;
        let program = rest.split(['[', ':']).next()?.trim();
        program.starts_with("qemu-").then_some(program)
    })?;
    Some(format!(
        "{emulator} ran out of memory of its own (it shares the case's mlockall and RLIMIT_MEMLOCK)"
    ))
}

/// smaps counts Rss and Locked for a whole mapping. When that mapping reaches past the case's
/// own region there, the kernel merged the region with a neighbour it happened to place next to
/// it, and the counts include the neighbour's pages: say so, as a layout-dependent observation.
fn merged_with_neighbour(e: &crate::wire::SmapsEntry, env: &Regions) -> Option<String> {
    let (start, end) = e.mapping?;
    let (own_start, own_end) = env.outermost(e.start)?;
    (start < own_start || end > own_end).then(|| {
        format!(
            "smaps [{}, {}) counts a mapping merged with a neighbour",
            symbols::address(e.start, env),
            symbols::end_address(e.end, env)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::load;
    use crate::wire::MapsEntry;

    const PAGE: u64 = 4096;
    const M: u64 = 0x7f00_0000_0000;

    fn case() -> Case {
        load::case_from_toml(
            r#"
summary = "s"
symbols = ["mprotect"]
refs = ["mprotect(2)"]

[[step]]
id = "f"
call = "file"
args = { size = "PAGE" }

[[step]]
id = "m"
call = "mmap"
args = { len = "2*PAGE", prot = "PROT_READ", flags = "MAP_PRIVATE|MAP_ANONYMOUS" }

[[step]]
call = "store"
args = { addr = "$m+PAGE", byte = 1 }
expect = { signal = "SIGSEGV", si-code = "SEGV_ACCERR", addr = "$m+PAGE" }

[[step]]
call = "maps"
args = { addr = "$m", len = "2*PAGE" }
expect = { maps = [{ start = "$m", end = "$m+2*PAGE", perms = "r--p" }] }
"#,
        )
    }

    fn step(step: usize, obs: Obs) -> Result<Record, String> {
        Ok(Record::Step {
            step,
            obs,
            iterations: None,
        })
    }

    fn ok(value: u64) -> Obs {
        Obs::Ok { value, data: None }
    }

    fn good() -> Vec<Result<Record, String>> {
        vec![
            step(0, ok(3)),
            step(1, ok(M)),
            step(
                2,
                Obs::Fault {
                    signo: 11,
                    code: 2,
                    addr: M + PAGE,
                },
            ),
            step(
                3,
                Obs::Ok {
                    value: 0,
                    data: Some(Data::Maps(vec![MapsEntry {
                        start: M,
                        end: M + 2 * PAGE,
                        perms: "r--p".into(),
                        offset: 0,
                        path: String::new(),
                    }])),
                },
            ),
            Ok(Record::Done),
        ]
    }

    fn run(records: Vec<Result<Record, String>>, ended: Option<Ended>, timed_out: bool) -> CaseRun {
        let seen = Seen {
            records,
            ended,
            timed_out,
            stderr: String::new(),
            millis: 1,
        };
        classify(&case(), seen, Some((6, 18, 0)), PAGE)
    }

    #[test]
    fn all_contracts_met_is_a_pass() {
        let r = run(good(), Some(Ended::Exited(0)), false);
        assert_eq!(r.status, Status::Pass, "{}", r.reason);
        assert_eq!(r.steps[2].observed, "SIGSEGV SEGV_ACCERR at $m+PAGE");
        assert_eq!(r.steps[1].observed, "= $m");
    }

    #[test]
    fn a_fault_elsewhere_is_a_deviation() {
        let mut records = good();
        records[2] = step(
            2,
            Obs::Fault {
                signo: 11,
                code: 2,
                addr: M + PAGE + 8,
            },
        );
        let r = run(records, Some(Ended::Exited(0)), false);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.reason
                .contains("expected the fault at $m+PAGE, observed it at $m+PAGE+8"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn an_ignored_mprotect_is_a_deviation() {
        let mut records = good();
        records[2] = step(2, ok(0));
        let r = run(records, Some(Ended::Exited(0)), false);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.reason.starts_with("step 3 (store, line 17)"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn wrong_maps_is_a_deviation() {
        let mut records = good();
        records[3] = step(
            3,
            Obs::Ok {
                value: 0,
                data: Some(Data::Maps(vec![])),
            },
        );
        let r = run(records, Some(Ended::Exited(0)), false);
        assert_eq!(r.status, Status::Fail);
        assert!(r.reason.contains("observed [no mapping]"), "{}", r.reason);
    }

    #[test]
    fn a_failed_setup_step_is_broken() {
        let mut records = good();
        records[0] = step(0, Obs::Err { errno: 28 });
        let r = run(records, Some(Ended::Exited(0)), false);
        assert_eq!(r.status, Status::Broken);
        assert!(r.reason.contains("ENOSPC"), "{}", r.reason);
    }

    #[test]
    fn steps_skipped_after_a_deviation_stay_a_deviation() {
        let records = vec![
            step(0, ok(3)),
            step(1, Obs::Err { errno: 12 }),
            step(
                2,
                Obs::NotRun {
                    reason: "`$m` is unavailable".into(),
                },
            ),
            step(
                3,
                Obs::NotRun {
                    reason: "`$m` is unavailable".into(),
                },
            ),
            Ok(Record::Done),
        ];
        let r = run(records, Some(Ended::Exited(0)), false);
        assert_eq!(r.status, Status::Fail);
        assert!(r.reason.contains("step 2 (mmap"), "{}", r.reason);
    }

    #[test]
    fn a_crash_outside_probes_is_broken() {
        let mut records = good();
        records.truncate(2);
        records.push(Ok(Record::Crash {
            signo: 11,
            code: 1,
            addr: 8,
            ip: 0x5555_0000,
        }));
        let r = run(records, Some(Ended::Exited(70)), false);
        assert_eq!(r.status, Status::Broken);
        assert!(
            r.reason.contains("SIGSEGV SEGV_MAPERR outside any probe"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_hang_in_a_kernel_call_is_a_deviation_and_elsewhere_broken() {
        let mut records = good();
        records.truncate(2);
        let r = run(records, None, true);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.reason.contains("step 3 (store, line 17) did not finish"),
            "{}",
            r.reason
        );
        let r = run(vec![], None, true);
        assert_eq!(
            r.status,
            Status::Broken,
            "a hang in `file` is the harness's"
        );
    }

    #[test]
    fn a_region_reaching_the_top_of_the_address_space_is_learned_without_overflow() {
        // Found by tests/fuzz_loader/: rounding a length within a page of 2^64 up to whole
        // pages overflowed (a panic in debug builds).
        let case = load::case_from_toml(
            "summary = \"s\"\nsymbols = [\"mmap\"]\nrefs = [\"mmap(2)\"]\n\n\
             [[step]]\nid = \"h\"\ncall = \"let\"\nargs = { value = \"0\", len = \"-1\" }\n",
        );
        let seen = Seen {
            records: vec![step(0, ok(0)), Ok(Record::Done)],
            ended: Some(Ended::Exited(0)),
            timed_out: false,
            stderr: String::new(),
            millis: 1,
        };
        assert_eq!(classify(&case, seen, None, PAGE).status, Status::Pass);
    }

    #[test]
    fn an_emulator_that_runs_out_of_its_own_memory_is_not_compared() {
        let mut records = good();
        records.truncate(2);
        let died = |stderr: &str| {
            let seen = Seen {
                records: records.clone(),
                ended: Some(Ended::Killed(6)),
                timed_out: false,
                stderr: stderr.into(),
                millis: 1,
            };
            classify(&case(), seen, Some((6, 18, 0)), PAGE)
        };
        let r = died(
            "\n***MEMORY-ERROR***: qemu-aarch64-static[2509]: GSlice: failed to allocate 496 \
             bytes (alignment: 512): Cannot allocate memory\n\n\
             qemu: uncaught target signal 6 (Aborted) - core dumped\n",
        );
        assert_eq!(r.status, Status::Broken);
        assert!(r.not_compared(), "{r:?}");
        assert!(r.reason.contains("GSlice"), "{}", r.reason);
        assert_eq!(
            r.setup,
            Some(super::super::Setup::Other {
                cause: "qemu-aarch64-static ran out of memory of its own (it shares the case's \
                        mlockall and RLIMIT_MEMLOCK)"
                    .into(),
                fix: None
            })
        );
        // Anything else that kills a child is the harness's or the kernel's, and compared.
        for other in [
            "",
            "thread 'main' panicked at harness/src/child/mod.rs:1:1:\nmemory allocation failed",
            "free(): invalid next size (normal)",
            "***MEMORY-ERROR***: mmcheck[1]: GSlice: failed to allocate 8 bytes",
        ] {
            let r = died(other);
            assert_eq!(r.status, Status::Broken);
            assert!(!r.not_compared(), "{other:?}: {r:?}");
        }
    }

    #[test]
    fn dying_without_done_is_broken() {
        let mut records = good();
        records.pop();
        let r = run(records.clone(), Some(Ended::Exited(0)), false);
        assert_eq!(r.status, Status::Broken);
        records.truncate(3);
        let r = run(records, Some(Ended::Killed(9)), false);
        assert_eq!(r.status, Status::Broken);
        assert!(
            r.reason.contains("killed by SIGKILL during step 4 (maps"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn garbled_streams_are_broken() {
        let mut records = good();
        records.insert(1, Err("undecodable record".into()));
        let r = run(records, Some(Ended::Exited(0)), false);
        assert_eq!(r.status, Status::Broken);
    }

    /// Times compare with an earlier `stat`'s and read as their order: no time is ever shown.
    #[test]
    fn stat_times_read_as_their_order() {
        let case = crate::case::load::case_from_toml(
            r#"summary = "s"
symbols = ["mmap"]
refs = ["mmap(2)"]

[[step]]
id = "f"
call = "memfd"

[[step]]
id = "before"
call = "stat"
args = { fd = "$f" }

[[step]]
call = "stat"
args = { fd = "$f" }
expect = { mtime = ">$before", ctime = "$before" }
"#,
        );
        let stat = |mtime_ns, ctime_ns| Obs::Ok {
            value: 0,
            data: Some(Data::Stat {
                size: 0,
                blocks: 0,
                mtime_ns,
                ctime_ns,
            }),
        };
        let judge = |later: Obs| {
            let seen = Seen {
                records: vec![
                    step(0, ok(3)),
                    step(1, stat(1_000_000_123, 2_000_000_456)),
                    step(2, later),
                    Ok(Record::Done),
                ],
                ended: Some(Ended::Exited(0)),
                timed_out: false,
                stderr: String::new(),
                millis: 1,
            };
            classify(&case, seen, Some((6, 18, 0)), PAGE)
        };
        let r = judge(stat(1_700_000_000_000_000_000, 2_000_000_456));
        assert_eq!(r.status, Status::Pass, "{}", r.reason);
        assert_eq!(
            r.steps[2].observed,
            "st_size 0, st_blocks 0, st_mtime later than $before's, st_ctime the same as $before's"
        );
        let r = judge(stat(1_000_000_123, 2_000_000_457));
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.reason
                .ends_with("expected st_mtime >$before, observed st_mtime the same as $before's"),
            "{}",
            r.reason
        );
        assert!(!r.reason.contains("1000000123"), "{}", r.reason);
    }

    #[test]
    fn a_thread_runs_in_parts_at_its_resume_and_join() {
        let case = load::case_from_toml(
            "summary = \"s\"\nsymbols = [\"mmap\"]\nrefs = [\"mmap(2)\"]\n\
             [[step]]\nid = \"m\"\ncall = \"mmap\"\n\
             args = { len = \"PAGE\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }\n\
             [[step]]\nid = \"t\"\ncall = \"thread\"\n\
             [[step.child]]\ncall = \"load\"\nargs = { addr = \"$m\" }\n\
             [[step.child]]\ncall = \"pause\"\n\
             [[step.child]]\ncall = \"maps\"\nargs = { addr = \"$m\", len = \"PAGE\" }\n\
             [[step]]\ncall = \"resume\"\nargs = { thread = \"$t\" }\n\
             [[step]]\ncall = \"munmap\"\nargs = { addr = \"$m\", len = \"PAGE\" }\n\
             [[step]]\ncall = \"join\"\nargs = { thread = \"$t\" }\n",
        );
        let calls: Vec<&str> = execution_order(&case)
            .into_iter()
            .map(|i| case.plan.steps[i].spec.name)
            .collect();
        assert_eq!(
            calls,
            ["mmap", "thread", "load", "pause", "resume", "munmap", "maps", "join"]
        );
    }
}
