//! The commands that run cases on this kernel: `list`, `run`, `mutants` and `report`.

use crate::cli::Format;
use crate::exit::{bad_input, Exit};
use crate::paths::{cases_and_repo, cases_dir, load_or_report};
use mmcheck::outcome::{CaseRun, Status};
use mmcheck::results::ResultsDoc;
use mmcheck::runner::{self, Suite};
use mmcheck::{render, report as compat};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How many cases run at once: `--jobs`, else one per CPU.
fn jobs_or_cpus(jobs: Option<u16>) -> usize {
    jobs.map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

pub fn list(filter: Vec<String>, cases: Option<PathBuf>) -> Exit {
    let cases = match load_or_report(&cases_dir(cases)) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let mut out = std::io::stdout().lock();
    for c in runner::select(&cases, &filter) {
        let _ = writeln!(out, "{}\t{}", c.id, c.summary);
    }
    Exit::Success
}

pub fn run(
    filter: Vec<String>,
    format: Format,
    jobs: Option<u16>,
    cases: Option<PathBuf>,
    progress: bool,
    layout_seed: Option<u64>,
) -> Exit {
    let layout_seed = match layout_seed
        .map(Some)
        .map_or_else(mmcheck::layout::seed_from_env, Ok)
    {
        Ok(seed) => seed,
        Err(e) => return bad_input(e),
    };
    let dir = cases_dir(cases);
    let cases = match load_or_report(&dir) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let selected = runner::select(&cases, &filter);
    if selected.is_empty() {
        return bad_input(format!(
            "no case id contains `{}` ({} cases in {})",
            filter.join("` or `"),
            cases.len(),
            dir.display()
        ));
    }
    let suite = match Suite::prepare(selected) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    render::swept(&suite.host);
    let start = std::time::Instant::now();
    let report = |done: usize, total: usize, run: &CaseRun| {
        if progress {
            render::progress(&mut std::io::stderr(), done, total, &run.id);
        }
    };
    let runs = suite.run(jobs_or_cpus(jobs), layout_seed, &report);
    let seconds = start.elapsed().as_secs_f64();
    // After an interrupt, the verdicts gathered so far are printed all the same: only the cases
    // that were running (stopped, no verdict) and those not yet started are missing.
    let ran: Vec<_> = suite
        .cases
        .iter()
        .copied()
        .filter(|c| runs.iter().any(|r| r.id == c.id))
        .collect();
    let mut out = std::io::stdout().lock();
    let mut exit = None;
    match format {
        Format::Table => {
            render::table(&mut out, &runs);
            render::not_compared(&mut out, &runs);
            render::summary(&mut out, render::Totals::of(&runs), seconds);
        }
        Format::Json => {
            let doc = ResultsDoc::of_run(suite.host.info(), &ran, &runs);
            render::json(&mut out, &doc);
        }
        Format::Ktap => {
            let doc = ResultsDoc::of_run(suite.host.info(), &ran, &runs);
            let _ = out.write_all(render::formats::ktap(&doc).as_bytes());
            exit = Some(Exit::Code(render::formats::ksft_exit(&runs)));
        }
        Format::Junit => {
            let doc = ResultsDoc::of_run(suite.host.info(), &ran, &runs);
            let _ = out.write_all(render::formats::junit(&doc).as_bytes());
        }
    }
    drop(out);
    if mmcheck::sys::interrupted() {
        render::error(
            &mut std::io::stderr(),
            &format!(
                "interrupted after {} of {} cases; the running cases were stopped and their \
                 scratch files removed",
                runs.len(),
                suite.cases.len()
            ),
        );
        return Exit::Interrupted;
    }
    exit.unwrap_or_else(|| {
        Exit::failed_if(
            runs.iter()
                .any(|r| matches!(r.status, Status::Fail | Status::Broken)),
        )
    })
}

pub fn mutants(filter: Vec<String>, jobs: Option<u16>, cases: Option<PathBuf>) -> Exit {
    let cases = match load_or_report(&cases_dir(cases)) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let suite = match Suite::prepare(runner::select(&cases, &filter)) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    render::swept(&suite.host);
    let runs = suite.run_mutants(jobs_or_cpus(jobs));
    if mmcheck::sys::interrupted() {
        return Exit::Interrupted;
    }
    let verdicts: Vec<mmcheck::mutant::MutantVerdict> = runs
        .iter()
        .map(|(job, run)| {
            mmcheck::mutant::MutantVerdict::of(job.case, job.mutant.unwrap_or_default(), run)
        })
        .collect();
    render::mutants(&mut std::io::stdout().lock(), &verdicts);
    Exit::failed_if(verdicts.iter().any(|v| v.is_unexplained_survivor()))
}

pub fn report(out: &Path, run: bool, cases: Option<PathBuf>) -> Exit {
    let (cases, repo) = cases_and_repo(cases);
    let snapshots = repo.join("snapshots");
    let mut docs = match compat::load(&snapshots) {
        Ok(d) => d,
        Err(e) if !run => return bad_input(e),
        Err(_) => Vec::new(),
    };
    if run {
        let loaded = match load_or_report(&cases) {
            Ok(c) => c,
            Err(exit) => return exit,
        };
        let suite = match Suite::prepare(runner::select(&loaded, &[])) {
            Ok(s) => s,
            Err(e) => return bad_input(e),
        };
        render::swept(&suite.host);
        let runs = suite.run(jobs_or_cpus(None), None, &|_, _, _| {});
        let doc = ResultsDoc::of_run(suite.host.info(), &suite.cases, &runs);
        let fresh = mmcheck::snapshot::stable_results(&doc, None);
        docs.retain(|d| d.env.key != fresh.env.key);
        docs.insert(0, fresh);
    }
    // The case files name the flags a failing step passed; without them causes say less.
    let (plans, _) = mmcheck::case::load::load_dir(&cases);
    let report = compat::build(&docs, &plans);
    let written = std::fs::create_dir_all(out)
        .and_then(|_| std::fs::write(out.join("report.md"), render::report::markdown(&report)))
        .and_then(|_| std::fs::write(out.join("index.html"), render::report_html::html(&report)))
        .and_then(|_| {
            std::fs::write(
                out.join("report.json"),
                serde_json::to_string_pretty(&report).expect("serializes") + "\n",
            )
        })
        .and_then(|_| write_machine_formats(out, &docs));
    match written {
        Ok(()) => {
            println!(
                "wrote report.md, index.html, report.json, ktap/<env>.ktap and junit/<env>.xml \
                 to {} ({} environments, {} cases)",
                out.display(),
                report.envs.len(),
                report.cases.len()
            );
            Exit::Success
        }
        Err(e) => bad_input(format!("{}: {e}", out.display())),
    }
}

/// Each environment's results as KTAP and JUnit XML, for CI systems that read those:
/// `<out>/ktap/<env>.ktap` and `<out>/junit/<env>.xml`. Rendered from the committed (stable)
/// documents, so two renderings of the same results are the same bytes. A file of an
/// environment that has no results any more is removed.
fn write_machine_formats(out: &Path, docs: &[ResultsDoc]) -> std::io::Result<()> {
    let (ktap, junit) = (out.join("ktap"), out.join("junit"));
    for (dir, ext) in [(&ktap, "ktap"), (&junit, "xml")] {
        std::fs::create_dir_all(dir)?;
        for entry in std::fs::read_dir(dir)?.flatten() {
            let path = entry.path();
            let stale = path.extension().is_some_and(|e| e == ext)
                && !docs
                    .iter()
                    .any(|d| path.file_stem().is_some_and(|s| *s == *d.env.key));
            if stale {
                std::fs::remove_file(&path)?;
            }
        }
    }
    for doc in docs {
        let key = &doc.env.key;
        std::fs::write(ktap.join(format!("{key}.ktap")), render::formats::ktap(doc))?;
        std::fs::write(
            junit.join(format!("{key}.xml")),
            render::formats::junit(doc),
        )?;
    }
    Ok(())
}
