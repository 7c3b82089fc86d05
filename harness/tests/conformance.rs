//! `cargo test`: every case of `cases/` is one libtest-mimic trial named by its id, so that
//! `cargo test -- mprotect/` filters and `--list`, `--ignored`, `--test-threads` work as usual.
//! Trials run on threads; each hands its case to a single-threaded worker process that forks.
//!
//! Two more kinds of trial ride along:
//! - `mprotect/x (kernel ignores mprotect)`: the case against a mutant kernel that ignores a call
//!   it names in `symbols`; it fails if the case still passes.
//! - `snapshot linux-6.18-x86_64/mprotect`: what this kernel did in every case of a group,
//!   compared with the committed snapshot of this environment. The verdicts above judge the
//!   documented contract; the snapshot records the kernel's behaviour, so that kernels diff.
//!   The group then runs again under three layout seeds (`layout.rs`: pads that move every
//!   mapping the case makes), and must read the same each time: a snapshot that depends on
//!   where the kernel placed things would change by itself. `MMCHECK_LAYOUT_SEED=N` picks the
//!   first of the three seeds (default 1).
//!
//! Cases skipped for the machine's setup (a missing mkfs tool, no huge pages) are not compared;
//! the run ends with a line per cause on stderr.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use mmcheck::case::load;
use mmcheck::case::plan::Case;
use mmcheck::env::HostEnv;
use mmcheck::outcome::{CaseRun, Status};
use mmcheck::pool::Pool;
use mmcheck::{mutant, render, requires, runner, snapshot};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

struct Shared {
    host: HostEnv,
    pool: Pool,
    /// Verdicts of cases run against the real kernel, by id: a snapshot trial takes the ones
    /// its case trials already produced instead of running the cases again.
    runs: Mutex<HashMap<String, CaseRun>>,
}

impl Shared {
    /// Runs a case against the real kernel, once per test process.
    fn run(&self, case: &Case) -> CaseRun {
        if let Some(run) = self.runs.lock().expect("runs lock").get(&case.id) {
            return run.clone();
        }
        let run = runner::run_one(case, &self.host, &self.pool, false, None, None);
        self.runs
            .lock()
            .expect("runs lock")
            .insert(case.id.clone(), run.clone());
        run
    }
}

fn main() {
    let args = Arguments::from_args();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // MMCHECK_CASES runs a directory of your own cases the same way (without snapshots).
    let own_cases = std::env::var_os("MMCHECK_CASES").map(PathBuf::from);
    let root = own_cases.clone().unwrap_or_else(|| repo.join("cases"));
    let (cases, diags) = load::load_dir(&root);
    if !diags.is_empty() {
        render::diagnostics(&mut std::io::stderr(), &diags);
        std::process::exit(2);
    }
    let exe = Path::new(env!("CARGO_BIN_EXE_mmcheck"));
    // As root, fresh tmpfs, ext4, xfs and btrfs scratch mounts, removed when `mounts` drops.
    let (host, mounts) = runner::prepare_host(&cases.iter().collect::<Vec<_>>(), exe);
    render::swept(&host);
    let shared = Arc::new(Shared {
        host,
        pool: Pool::new(exe),
        runs: Mutex::new(HashMap::new()),
    });
    // With --ignored (or --include-ignored) the cases whose requirements are unmet are marked
    // ignored and run anyway, so a kernel developer can see what they do; otherwise they report
    // "ignored" at run time, with the reason.
    let force = args.ignored || args.include_ignored;

    let mut trials = case_trials(&cases, &shared, force);
    trials.extend(mutant_trials(&cases, &shared));
    if own_cases.is_none() {
        trials.extend(snapshot_trials(&cases, &shared, &repo));
        trials.push(no_selftest_trial(&cases));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // What this machine's setup kept from running was not compared with the snapshots; say so,
    // with what to install, so that a green run never hides it.
    let runs: Vec<CaseRun> = shared
        .runs
        .lock()
        .expect("runs lock")
        .values()
        .cloned()
        .collect();
    render::not_compared(&mut std::io::stderr(), &runs);
    // Unmount before exiting: exit() would skip the drops.
    drop(shared);
    drop(mounts);
    conclusion.exit();
}

fn case_trials(cases: &[Case], shared: &Arc<Shared>, force: bool) -> Vec<Trial> {
    cases
        .iter()
        .map(|case| {
            let unmet = requires::check(case, &shared.host).is_err();
            let (case, shared) = (case.clone(), Arc::clone(shared));
            Trial::ignorable_test(case.id.clone(), move || {
                // --ignored runs cases whatever their requirements: not the verdict to share.
                let run = if force {
                    runner::run_one(&case, &shared.host, &shared.pool, true, None, None)
                } else {
                    shared.run(&case)
                };
                match run.status {
                    Status::Pass => Ok(Completion::Completed),
                    Status::Skip => Ok(Completion::ignored_with(run.reason)),
                    Status::Fail | Status::Broken => {
                        Err(Failed::from(render::failure(&run, &case)))
                    }
                }
            })
            .with_ignored_flag(force && unmet)
        })
        .collect()
}

/// `selftest` steps misbehave on purpose; they belong to the runner's fixtures, never to the suite.
fn no_selftest_trial(cases: &[Case]) -> Trial {
    use mmcheck::case::vocab::Call;
    let offenders: Vec<String> = cases
        .iter()
        .flat_map(|c| {
            c.plan
                .steps
                .iter()
                .filter(|s| s.call == Call::Selftest)
                .map(move |s| format!("{}:{}", c.path.display(), s.line))
        })
        .collect();
    Trial::test("cases/ uses no selftest step", move || {
        if offenders.is_empty() {
            Ok(())
        } else {
            Err(Failed::from(format!(
                "selftest steps belong to harness/tests/fixtures/hostile, not to the suite: {}",
                offenders.join(", ")
            )))
        }
    })
}

fn mutant_trials(cases: &[Case], shared: &Arc<Shared>) -> Vec<Trial> {
    cases
        .iter()
        .flat_map(|case| mutant::applicable(case).into_iter().map(move |m| (case, m)))
        .map(|(case, m)| {
            let (case, shared) = (case.clone(), Arc::clone(shared));
            let name = format!("{} (kernel ignores {m})", case.id);
            Trial::ignorable_test(name, move || {
                let run = runner::run_one(&case, &shared.host, &shared.pool, false, Some(m), None);
                let verdict = mmcheck::mutant::MutantVerdict::of(&case, m, &run);
                match run.status {
                    Status::Skip => Ok(Completion::ignored_with(run.reason)),
                    _ if verdict.is_unexplained_survivor() => {
                        Err(Failed::from(render::describe(&verdict)))
                    }
                    _ => Ok(Completion::Completed),
                }
            })
        })
        .collect()
}

/// One trial per case group. With committed snapshots for this environment, a change fails
/// (insta shows the diff); without any, the trial writes pending snapshots and says so.
fn snapshot_trials(cases: &[Case], shared: &Arc<Shared>, repo: &Path) -> Vec<Trial> {
    let key = shared.host.env_key.clone();
    let dir = snapshot::dir(repo, &key);
    let committed = snapshot::exists(&dir);
    let bless = std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always");
    let mut groups: Vec<&str> = cases.iter().map(|c| snapshot::group_of(&c.id)).collect();
    groups.dedup();
    groups
        .into_iter()
        .map(|group| {
            let members: Vec<Case> = cases
                .iter()
                .filter(|c| snapshot::group_of(&c.id) == group)
                .cloned()
                .collect();
            let (shared, dir, key, group) = (
                Arc::clone(shared),
                dir.clone(),
                key.clone(),
                group.to_string(),
            );
            Trial::ignorable_test(format!("snapshot {key}/{group}"), move || {
                let runs: Vec<_> = members.iter().map(|c| shared.run(c)).collect();
                let snap = snapshot::read(&dir.join(format!("{group}.snap")));
                let text = snapshot::render_group(&group, &runs, snap.as_deref());
                let done = check_snapshot(&dir, &key, &group, &text, committed, bless)?;
                // Blessed or new, this run's rendering is the one the seeds must reproduce.
                let expected = match &snap {
                    Some(snap) if !bless => snap,
                    _ => &text,
                };
                check_layouts(&shared, &members, &group, expected)?;
                Ok(done)
            })
        })
        .collect()
}

/// The seeds the snapshot trials run under: three, from `MMCHECK_LAYOUT_SEED` (default 1).
fn layout_seeds() -> Vec<u64> {
    let first = match mmcheck::layout::seed_from_env() {
        Ok(seed) => seed.unwrap_or(1),
        Err(e) => panic!("{e}"),
    };
    (0..3).map(|i| first.wrapping_add(i)).collect()
}

/// Runs a group under each layout seed and fails, naming the seed and the cases, if any
/// rendering differs from `expected` (the committed snapshot, or this run's when there is none).
fn check_layouts(
    shared: &Shared,
    members: &[Case],
    group: &str,
    expected: &str,
) -> Result<(), Failed> {
    for seed in layout_seeds() {
        let runs: Vec<CaseRun> = members
            .iter()
            .map(|c| runner::run_one(c, &shared.host, &shared.pool, false, None, Some(seed)))
            .collect();
        let seeded = snapshot::render_group(group, &runs, Some(expected));
        if seeded.trim_end() == expected.trim_end() {
            continue;
        }
        let mut msg = format!(
            "under MMCHECK_LAYOUT_SEED={seed} (pads that move the cases' mappings) the {group} \
             cases read differently: a rendering that depends on where the kernel placed things, \
             which is a bug of the harness or of the case, not a kernel change.\n"
        );
        for (id, before, after) in snapshot::changed_blocks(expected, &seeded) {
            let before = if before.is_empty() {
                "(nothing)".into()
            } else {
                before
            };
            msg.push_str(&format!(
                "\n{id}\n  expected:\n    {}\n  under seed {seed}:\n    {}\n",
                before.replace('\n', "\n    "),
                after.replace('\n', "\n    ")
            ));
        }
        return Err(Failed::from(msg));
    }
    Ok(())
}

fn check_snapshot(
    dir: &Path,
    key: &str,
    group: &str,
    text: &str,
    committed: bool,
    bless: bool,
) -> Result<Completion, Failed> {
    if bless || !committed {
        let outcome = snapshot::compare(dir, key, group, text, bless)
            .map_err(|e| Failed::from(format!("cannot write the snapshot: {e}")))?;
        return Ok(match outcome {
            snapshot::Compared::New => Completion::ignored_with(format!(
                "no committed snapshots for {key} yet: wrote {group}.snap.new in {}; review with \
                 `cargo insta review`, or accept with `make bless`",
                dir.display()
            )),
            _ => Completion::Completed,
        });
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("{group} cases observed in {key}"));
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(group, text));
    }));
    checked.map(|_| Completion::Completed).map_err(|_| {
        Failed::from(format!(
            "what this kernel ({key}) did in the {group} cases changed (the diff is above). \
             If the change is expected, accept it with `make bless` or `cargo insta review`."
        ))
    })
}
