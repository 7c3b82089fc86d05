//! The commands that run the suite in other environments: `matrix` and `stability`.

use crate::exit::{bad_input, Exit};
use crate::paths::{cases_and_repo, load_or_report};
use mmcheck::render;
use std::path::PathBuf;

/// What `matrix` and `stability` start from: the cases (checked), the environments file and
/// where it is, and the options for running environments.
pub fn environments(
    cases: Option<PathBuf>,
    env_file: Option<PathBuf>,
    static_mmcheck: Option<PathBuf>,
    jobs: usize,
    bless: bool,
) -> Result<(mmcheck::matrix::EnvFile, PathBuf, mmcheck::matrix::Options), Exit> {
    let (cases, repo) = cases_and_repo(cases);
    load_or_report(&cases)?;
    let envs_file = env_file.unwrap_or_else(|| repo.join("ci/environments.toml"));
    let spec = mmcheck::matrix::load(&envs_file).map_err(bad_input)?;
    let mmcheck = std::env::current_exe()
        .map_err(|e| bad_input(format!("cannot find my own executable: {e}")))?;
    let opts = mmcheck::matrix::Options {
        mmcheck,
        static_mmcheck: static_mmcheck
            .unwrap_or_else(|| repo.join("target/x86_64-unknown-linux-gnu/release/mmcheck")),
        work: repo.join("target/matrix"),
        cases,
        repo,
        jobs,
        bless,
    };
    Ok((spec, envs_file, opts))
}

pub fn matrix(
    only: Vec<String>,
    bless: bool,
    jobs: u16,
    envs: Option<PathBuf>,
    static_mmcheck: Option<PathBuf>,
    cases: Option<PathBuf>,
) -> Exit {
    let (spec, envs_file, opts) =
        match environments(cases, envs, static_mmcheck, usize::from(jobs), bless) {
            Ok(found) => found,
            Err(exit) => return exit,
        };
    let selected: Vec<_> = spec
        .envs
        .into_iter()
        .filter(|e| only.is_empty() || only.contains(&e.name))
        .collect();
    if let Some(unknown) = only
        .iter()
        .find(|n| !selected.iter().any(|e| &e.name == *n))
    {
        return bad_input(format!(
            "no environment `{unknown}` in {}",
            envs_file.display()
        ));
    }
    // A line per environment per tenth of the way: readable in a terminal and in a CI log.
    let shown = std::sync::Mutex::new(std::collections::HashMap::<String, usize>::new());
    let status = |env: &str, what: &str| {
        let tenth = what.split_once('/').and_then(|(d, t)| {
            Some(d.parse::<usize>().ok()? * 10 / t.parse::<usize>().ok()?.max(1))
        });
        let mut shown = shown.lock().expect("lock");
        let last = shown.insert(env.to_string(), tenth.unwrap_or(usize::MAX));
        if tenth.is_none() || last != tenth {
            render::matrix_status(&mut std::io::stderr(), env, what);
        }
    };
    mmcheck::sys::catch_interrupts();
    let outcomes = mmcheck::matrix::run(&selected, &opts, &status);
    render::matrix_summary(&mut std::io::stdout().lock(), &outcomes, bless);
    if mmcheck::sys::interrupted() {
        render::error(
            &mut std::io::stderr(),
            "interrupted; every environment was stopped (SIGTERM, then SIGKILL after 10 s) and \
             the environments that had finished are summarised above",
        );
        return Exit::Interrupted;
    }
    let failed = outcomes.iter().any(|o| {
        o.result.as_ref().map_or(true, |r| {
            !bless
                && o.unstable.is_none()
                && r.snapshots
                    .iter()
                    .any(|(_, c)| matches!(c, mmcheck::snapshot::Compared::Changed { .. }))
        })
    });
    Exit::failed_if(failed)
}

pub fn stability(
    envs: Vec<String>,
    seeds: u64,
    first_seed: u64,
    env_file: Option<PathBuf>,
    static_mmcheck: Option<PathBuf>,
    cases: Option<PathBuf>,
) -> Exit {
    let (spec, envs_file, opts) = match environments(cases, env_file, static_mmcheck, 1, false) {
        Ok(found) => found,
        Err(exit) => return exit,
    };
    let wanted = if envs.is_empty() {
        vec!["host".to_string()]
    } else {
        envs
    };
    let mut plan = Vec::new();
    for item in &wanted {
        let (name, count) = match item.split_once(':') {
            Some((n, c)) => match c.parse::<u64>() {
                Ok(c) if c >= 1 => (n, c),
                _ => {
                    return bad_input(format!(
                        "--env {item}: expected NAME:SEEDS with SEEDS a number from 1"
                    ));
                }
            },
            None => (item.as_str(), seeds),
        };
        let Some(env) = spec.envs.iter().find(|e| e.name == name) else {
            let known: Vec<&str> = spec.envs.iter().map(|e| e.name.as_str()).collect();
            let why = format!(
                "no environment `{name}` in {} (it has: {})",
                envs_file.display(),
                known.join(", ")
            );
            return bad_input(why);
        };
        let seeds: Vec<u64> = (0..count).map(|i| first_seed.saturating_add(i)).collect();
        plan.push((env.clone(), seeds));
    }
    mmcheck::sys::catch_interrupts();
    let status = |env: &str, what: &str| render::matrix_status(&mut std::io::stderr(), env, what);
    let mut outcomes = Vec::new();
    for (env, seeds) in &plan {
        let outcome = mmcheck::matrix::with_interrupt_stop(|| {
            mmcheck::stability::run(env, &opts, seeds, &status)
        });
        outcomes.push((env.name.clone(), outcome));
    }
    render::stability(&mut std::io::stdout().lock(), &outcomes);
    if mmcheck::sys::interrupted() {
        return Exit::Interrupted;
    }
    let bad = outcomes
        .iter()
        .any(|(_, o)| o.as_ref().map_or(true, |o| !o.changed.is_empty()));
    Exit::failed_if(bad)
}
