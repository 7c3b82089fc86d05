//! `cargo test`: every case of `cases/` is one libtest-mimic trial named by its id, so that
//! `cargo test -- mprotect/` filters and `--list`, `--ignored`, `--test-threads` work as usual.
//! Trials run on threads; each hands its case to a single-threaded worker process that forks.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use mmcheck::case::load;
use mmcheck::env::HostEnv;
use mmcheck::outcome::Status;
use mmcheck::pool::Pool;
use mmcheck::{render, requires, runner};
use std::path::Path;
use std::sync::Arc;

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    let (cases, diags) = load::load_dir(&root);
    if !diags.is_empty() {
        render::diagnostics(&mut std::io::stderr(), &diags);
        std::process::exit(2);
    }
    let host = Arc::new(HostEnv::detect());
    let pool = Arc::new(Pool::new(Path::new(env!("CARGO_BIN_EXE_mmcheck"))));
    // With --ignored (or --include-ignored) the cases whose requirements are unmet are marked
    // ignored and run anyway, so a kernel developer can see what they do; otherwise they report
    // "ignored" at run time, with the reason.
    let force = args.ignored || args.include_ignored;
    let trials = cases
        .into_iter()
        .map(|case| {
            let unmet = requires::check(&case, &host).is_err();
            let (host, pool) = (Arc::clone(&host), Arc::clone(&pool));
            Trial::ignorable_test(case.id.clone(), move || {
                let run = runner::run_one(&case, &host, &pool, force);
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
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
