//! `cargo test`: every case of `cases/` is one libtest-mimic trial named by its id, so that
//! `cargo test -- mprotect/` filters and `--list`, `--ignored`, `--test-threads` work as usual.
//! Trials run on threads; each hands its case to a single-threaded worker process that forks.
//! Each case also runs against the mutant kernels that ignore a call it names in `symbols`
//! (`mprotect/x (kernel ignores mprotect)`): that trial fails if the case still passes.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use mmcheck::case::load;
use mmcheck::outcome::Status;
use mmcheck::pool::Pool;
use mmcheck::{mutant, render, requires, runner};
use std::path::Path;
use std::sync::Arc;

fn main() {
    let args = Arguments::from_args();
    // MMCHECK_CASES runs a directory of your own cases the same way.
    let root = std::env::var_os("MMCHECK_CASES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases"));
    let (cases, diags) = load::load_dir(&root);
    if !diags.is_empty() {
        render::diagnostics(&mut std::io::stderr(), &diags);
        std::process::exit(2);
    }
    let exe = Path::new(env!("CARGO_BIN_EXE_mmcheck"));
    // As root, fresh tmpfs, ext4, xfs and btrfs scratch mounts, removed when `_mounts` drops.
    let (host, _mounts) = runner::prepare_host(&cases.iter().collect::<Vec<_>>(), exe);
    let host = Arc::new(host);
    let pool = Arc::new(Pool::new(exe));
    // With --ignored (or --include-ignored) the cases whose requirements are unmet are marked
    // ignored and run anyway, so a kernel developer can see what they do; otherwise they report
    // "ignored" at run time, with the reason.
    let force = args.ignored || args.include_ignored;
    let mut trials: Vec<Trial> = cases
        .iter()
        .flat_map(|case| {
            mutant::applicable(case)
                .into_iter()
                .map(move |m| (case.clone(), m))
        })
        .map(|(case, m)| {
            let (host, pool) = (Arc::clone(&host), Arc::clone(&pool));
            let name = format!("{} (kernel ignores {m})", case.id);
            Trial::ignorable_test(name, move || {
                let run = runner::run_one(&case, &host, &pool, false, Some(m));
                let verdict = render::MutantVerdict::of(&case, m, &run);
                match run.status {
                    Status::Skip => Ok(Completion::ignored_with(run.reason)),
                    _ if verdict.is_unexplained_survivor() => Err(Failed::from(verdict.describe())),
                    _ => Ok(Completion::Completed),
                }
            })
        })
        .collect();
    let real = cases.into_iter().map(|case| {
        let unmet = requires::check(&case, &host).is_err();
        let (host, pool) = (Arc::clone(&host), Arc::clone(&pool));
        Trial::ignorable_test(case.id.clone(), move || {
            let run = runner::run_one(&case, &host, &pool, force, None);
            match run.status {
                Status::Pass => Ok(Completion::Completed),
                Status::Skip => Ok(Completion::ignored_with(run.reason)),
                Status::Fail | Status::Broken => Err(Failed::from(render::failure(&run, &case))),
            }
        })
        .with_ignored_flag(force && unmet)
    });
    trials.splice(0..0, real);
    let conclusion = libtest_mimic::run(&args, trials);
    // Unmount before exiting: exit() would skip the drops.
    drop(pool);
    drop(_mounts);
    conclusion.exit();
}
