//! The `mmcheck` command: clap glue over the library. Exit statuses are named in `exit.rs`:
//! 0 all passed or skipped, 1 a case failed, 2 bad input (case files or arguments), 130
//! interrupted.

mod cli;
mod coverage;
mod envs;
mod exit;
mod explain;
mod paths;
mod suite;

use clap::Parser;
use cli::{Cli, Command};
use exit::Exit;
use mmcheck::case::load;
use mmcheck::{child, render, worker};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Worker => Exit::Code(worker::serve() as u8),
        Command::Scratch { base, filesystems } => {
            Exit::Code(mmcheck::scratch::janitor(&base, &filesystems) as u8)
        }
        Command::Resume {
            file,
            file_id,
            step,
            record_fd,
            scratch,
            slots,
            mutate,
        } => resume(file, &file_id, step, record_fd, scratch, &slots, mutate),
        Command::List { filter, cases } => suite::list(filter, cases),
        Command::Coverage {
            pages,
            format,
            all,
            min,
            cases,
        } => coverage::coverage(pages, format, all, min, cases),
        Command::Explain {
            symbol,
            flags,
            call,
            list,
            format,
            no_pager,
            cases,
        } => explain::explain_cmd(symbol, flags, call, list, format, no_pager, cases),
        Command::Completions { shell } => explain::completions(shell),
        Command::Manpage { dir } => explain::manpage(&dir),
        Command::Report { out, run, cases } => suite::report(&out, run, cases),
        Command::Matrix {
            only,
            bless,
            jobs,
            envs,
            static_mmcheck,
            cases,
        } => envs::matrix(only, bless, jobs, envs, static_mmcheck, cases),
        Command::Mutants {
            filter,
            jobs,
            cases,
        } => suite::mutants(filter, jobs, cases),
        Command::Stability {
            envs,
            seeds,
            first_seed,
            env_file,
            static_mmcheck,
            cases,
        } => envs::stability(envs, seeds, first_seed, env_file, static_mmcheck, cases),
        Command::Run {
            filter,
            format,
            jobs,
            cases,
            progress,
            layout_seed,
        } => suite::run(filter, format, jobs, cases, progress, layout_seed),
    };
    exit.into()
}

fn resume(
    file: PathBuf,
    file_id: &str,
    step: usize,
    record_fd: i32,
    scratch: PathBuf,
    slots: &str,
    mutate: Option<String>,
) -> Exit {
    let case = match load::load_one(&file, file_id) {
        Ok(cases) => cases.into_iter().next(),
        Err(_) => None,
    };
    let Some(case) = case else {
        render::error(&mut std::io::stderr(), "cannot reload the case after exec");
        return Exit::Internal;
    };
    let slots = slots
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u64>().ok())
        .collect();
    let setup = child::Setup {
        record_fd,
        stderr_fd: -1,
        scratch,
        mutate,
        layout_seed: None,
    };
    child::resume(&case, &setup, step, slots)
}
