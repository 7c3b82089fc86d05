//! The `mmcheck` command: clap glue over the library. Exit codes: 0 all passed or skipped,
//! 1 a case failed, 2 bad input (case files or arguments).

use clap::{Parser, Subcommand, ValueEnum};
use mmcheck::case::load;
use mmcheck::{child, explain, mutant, render, runner, worker};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mmcheck",
    version,
    about = "Conformance suite for the Linux memory-mapping system calls"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the cases and print what the kernel did against what the man pages say.
    Run {
        /// Run only cases whose id contains one of these texts (`mprotect/`, `sigbus`).
        filter: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// How many cases run at once (default: the number of CPUs).
        #[arg(short, long, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: Option<u16>,
        /// Directory of case files (default: the repository's `cases/`).
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
        /// Print `mmcheck: progress N/M ID` on stderr as cases finish.
        #[arg(long)]
        progress: bool,
        /// Move every case's mappings with the layout fuzzer's pads for this seed first
        /// (default: $MMCHECK_LAYOUT_SEED, else none). The verdicts and renderings must not change.
        #[arg(long, value_name = "N")]
        layout_seed: Option<u64>,
    },
    /// Run each case against mutant kernels that ignore one call it names in `symbols`; a case
    /// that still passes does not observe that call's effect.
    Mutants {
        /// Run only cases whose id contains one of these texts.
        filter: Vec<String>,
        #[arg(short, long, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: Option<u16>,
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
    },
    /// Run the suite in every environment of ci/environments.toml (this kernel, Linux 6.1 and
    /// 6.12 under QEMU, gVisor) and compare each one's snapshots.
    Matrix {
        /// Only these environments (by name).
        #[arg(long = "only", value_name = "NAME")]
        only: Vec<String>,
        /// Accept the new snapshots instead of failing on a change.
        #[arg(long)]
        bless: bool,
        /// Environments run at once (default 2: each VM takes one core).
        #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
        jobs: u16,
        /// The environments file.
        #[arg(long, value_name = "FILE")]
        envs: Option<PathBuf>,
        /// A statically linked mmcheck, for environments without this machine's libraries.
        #[arg(long = "static", value_name = "FILE")]
        static_mmcheck: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
    },
    /// Run the suite in environments of ci/environments.toml once unseeded and then under many
    /// layout seeds, and report every case whose rendering differs from the committed
    /// snapshots (a rendering that depends on where the kernel placed things).
    Stability {
        /// An environment and how many seeds to run it under: `host:30`, `gvisor:10`
        /// (default: host with --seeds).
        #[arg(long = "env", value_name = "NAME[:SEEDS]")]
        envs: Vec<String>,
        /// Seeds for an environment named without a count.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=10000))]
        seeds: u64,
        /// The first seed (seeds run from here up).
        #[arg(long, default_value_t = 1)]
        first_seed: u64,
        /// The environments file.
        #[arg(long, value_name = "FILE")]
        env_file: Option<PathBuf>,
        #[arg(long = "static", value_name = "FILE")]
        static_mmcheck: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
    },
    /// Explain a flag, errno, signal or call of the mmap family: in mmcheck's words, in the
    /// installed man page's, and by the cases that prove it, with what each kernel did.
    Explain {
        /// A symbol (MAP_FIXED, EINVAL, SIGBUS, SEGV_ACCERR, mmap) or a number (22, 0x22).
        #[arg(value_parser = symbol_parser(), hide_possible_values = true,
              required_unless_present_any = ["list", "call"])]
        symbol: Option<String>,
        /// Decode the number as this call's flags (mmap, mprotect, madvise, ...) or `prot`.
        #[arg(long, value_name = "CALL")]
        flags: Option<String>,
        /// Run a call and name the documented causes its arguments meet:
        /// 'mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:/tmp/f:O_RDONLY, 100)'.
        #[arg(long, value_name = "CALL")]
        call: Option<String>,
        /// Every symbol explain knows.
        #[arg(long)]
        list: bool,
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
        /// Print straight to the terminal, without a pager.
        #[arg(long)]
        no_pager: bool,
        /// The cases directory whose cases and snapshots give the evidence.
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
    },
    /// Write the compatibility report across environments (report.md, index.html, report.json)
    /// from the committed snapshots' results.
    Report {
        /// Where to write the three files.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Run the suite on this kernel first, and report its fresh results in place of the
        /// committed ones for this environment.
        #[arg(long)]
        run: bool,
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
    },
    /// Print a shell completion script (completes subcommands, options and symbol names).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write mmcheck's man pages (mmcheck.1, mmcheck-run.1, ...) into a directory.
    Manpage {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// List the cases with their rules, without running them.
    List {
        /// List only cases whose id contains one of these texts.
        filter: Vec<String>,
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
    },
    /// (internal) Serve case requests from stdin; used by `run` and `cargo test`.
    #[command(name = "__worker", hide = true)]
    Worker,
    /// (internal) Mount scratch filesystems under DIR, and remove them when stdin closes.
    #[command(name = "__scratch", hide = true)]
    Scratch {
        base: PathBuf,
        filesystems: Vec<String>,
    },
    /// (internal) Continue a case in a new image after its `exec` step.
    #[command(name = "__resume", hide = true)]
    Resume {
        file: PathBuf,
        file_id: String,
        step: usize,
        record_fd: i32,
        scratch: PathBuf,
        slots: String,
        #[arg(long)]
        mutate: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    /// KTAP as the kernel's selftests print it, with kselftest's exit codes.
    Ktap,
    /// JUnit XML, one testsuite per call.
    Junit,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ExplainFormat {
    Text,
    Markdown,
    Json,
}

/// Accepts any text (numbers, and unknown symbols, which explain answers with suggestions), but
/// offers the known symbols to shell completion.
#[derive(Clone)]
struct SymbolParser;

impl clap::builder::TypedValueParser for SymbolParser {
    type Value = String;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        Ok(value.to_string_lossy().into_owned())
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            explain::symbols()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

fn symbol_parser() -> SymbolParser {
    SymbolParser
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Worker => ExitCode::from(worker::serve() as u8),
        Command::Scratch { base, filesystems } => {
            ExitCode::from(mmcheck::scratch::janitor(&base, &filesystems) as u8)
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
        Command::List { filter, cases } => list(filter, cases),
        Command::Explain {
            symbol,
            flags,
            call,
            list,
            format,
            no_pager,
            cases,
        } => explain_cmd(symbol, flags, call, list, format, no_pager, cases),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "mmcheck", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Manpage { dir } => manpage(&dir),
        Command::Report { out, run, cases } => report(&out, run, cases),
        Command::Matrix {
            only,
            bless,
            jobs,
            envs,
            static_mmcheck,
            cases,
        } => matrix(only, bless, jobs, envs, static_mmcheck, cases),
        Command::Mutants {
            filter,
            jobs,
            cases,
        } => mutants(filter, jobs, cases),
        Command::Stability {
            envs,
            seeds,
            first_seed,
            env_file,
            static_mmcheck,
            cases,
        } => stability(envs, seeds, first_seed, env_file, static_mmcheck, cases),
        Command::Run {
            filter,
            format,
            jobs,
            cases,
            progress,
            layout_seed,
        } => run(filter, format, jobs, cases, progress, layout_seed),
    }
}

/// `--cases`, else `MMCHECK_CASES`, else `cases/` here or above, else the source tree's.
fn cases_dir(arg: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = arg.or_else(|| std::env::var_os("MMCHECK_CASES").map(PathBuf::from)) {
        return dir;
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let candidate = dir.join("cases");
            if candidate.is_dir() && dir.join("harness").is_dir() {
                return candidate;
            }
        }
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../cases"))
}

/// The cases directory, and the repository around it (its parent: where snapshots/ and ci/ are).
fn cases_and_repo(arg: Option<PathBuf>) -> (PathBuf, PathBuf) {
    let cases = cases_dir(arg);
    let cases = cases.canonicalize().unwrap_or(cases);
    let repo = cases
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    (cases, repo)
}

fn load_or_report(dir: &std::path::Path) -> Result<Vec<mmcheck::case::plan::Case>, ExitCode> {
    let (cases, diags) = load::load_dir(dir);
    if diags.is_empty() {
        Ok(cases)
    } else {
        render::diagnostics(&mut std::io::stderr(), &diags);
        Err(ExitCode::from(2))
    }
}

fn list(filter: Vec<String>, cases: Option<PathBuf>) -> ExitCode {
    let cases = match load_or_report(&cases_dir(cases)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    for c in runner::select(&cases, &filter) {
        let _ = writeln!(out, "{}\t{}", c.id, c.summary);
    }
    ExitCode::SUCCESS
}

fn run(
    filter: Vec<String>,
    format: Format,
    jobs: Option<u16>,
    cases: Option<PathBuf>,
    progress: bool,
    layout_seed: Option<u64>,
) -> ExitCode {
    let layout_seed = match layout_seed
        .map(Some)
        .map_or_else(mmcheck::layout::seed_from_env, Ok)
    {
        Ok(seed) => seed,
        Err(e) => {
            render::error(&mut std::io::stderr(), &e);
            return ExitCode::from(2);
        }
    };
    let dir = cases_dir(cases);
    let cases = match load_or_report(&dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let selected = runner::select(&cases, &filter);
    if selected.is_empty() {
        render::error(
            &mut std::io::stderr(),
            &format!(
                "no case id contains `{}` ({} cases in {})",
                filter.join("` or `"),
                cases.len(),
                dir.display()
            ),
        );
        return ExitCode::from(2);
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            let why = format!("cannot find my own executable: {e}");
            render::error(&mut std::io::stderr(), &why);
            return ExitCode::from(2);
        }
    };
    mmcheck::sys::catch_interrupts();
    let (host, _mounts) = runner::prepare_host(&selected, &exe);
    render::swept(&host);
    let jobs = jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let start = std::time::Instant::now();
    let work: Vec<_> = selected.iter().map(|c| (*c, None)).collect();
    let report = |done: usize, total: usize, run: &mmcheck::outcome::CaseRun| {
        if progress {
            render::progress(&mut std::io::stderr(), done, total, &run.id);
        }
    };
    let runs = runner::run_all(&work, &host, &exe, jobs, layout_seed, &report);
    let seconds = start.elapsed().as_secs_f64();
    let interrupted = mmcheck::sys::interrupted();
    // After an interrupt, the verdicts gathered so far are printed all the same: only the cases
    // that were running (stopped, no verdict) and those not yet started are missing.
    let ran: Vec<_> = selected
        .iter()
        .copied()
        .filter(|c| runs.iter().any(|r| r.id == c.id))
        .collect();
    let mut out = std::io::stdout().lock();
    let mut code = None;
    match format {
        Format::Table => {
            render::table(&mut out, &runs);
            render::not_compared(&mut out, &runs);
            render::summary(&mut out, render::Totals::of(&runs), seconds);
        }
        Format::Json => render::json(&mut out, &host, &ran, &runs),
        Format::Ktap => {
            let _ = out.write_all(render::formats::ktap(&host, &runs).as_bytes());
            code = Some(ExitCode::from(render::formats::ksft_exit(&runs)));
        }
        Format::Junit => {
            let _ = out.write_all(render::formats::junit(&host, &ran, &runs).as_bytes());
        }
    }
    drop(out);
    if interrupted {
        render::error(
            &mut std::io::stderr(),
            &format!(
                "interrupted after {} of {} cases; the running cases were stopped and their \
                 scratch files removed",
                runs.len(),
                selected.len()
            ),
        );
        return ExitCode::from(130);
    }
    if let Some(code) = code {
        return code;
    }
    let t = render::Totals::of(&runs);
    if t.failed + t.broken > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn mutants(filter: Vec<String>, jobs: Option<u16>, cases: Option<PathBuf>) -> ExitCode {
    let cases = match load_or_report(&cases_dir(cases)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let selected = runner::select(&cases, &filter);
    let work: Vec<_> = selected
        .iter()
        .flat_map(|c| {
            mutant::applicable(c)
                .into_iter()
                .map(move |m| (*c, Some(m)))
        })
        .collect();
    let exe = std::env::current_exe().expect("the running executable has a path");
    mmcheck::sys::catch_interrupts();
    let (host, _mounts) = runner::prepare_host(&selected, &exe);
    render::swept(&host);
    let jobs = jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runs = runner::run_all(&work, &host, &exe, jobs, None, &|_, _, _| {});
    if mmcheck::sys::interrupted() {
        return ExitCode::from(130);
    }
    let verdicts: Vec<render::MutantVerdict> = work
        .iter()
        .zip(&runs)
        .map(|((case, m), run)| render::MutantVerdict::of(case, m.unwrap_or_default(), run))
        .collect();
    render::mutants(&mut std::io::stdout().lock(), &verdicts);
    if verdicts.iter().any(|v| v.is_unexplained_survivor()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// What `matrix` and `stability` start from: the cases (checked), the environments file and
/// where it is, and the options for running environments.
fn environments(
    cases: Option<PathBuf>,
    env_file: Option<PathBuf>,
    static_mmcheck: Option<PathBuf>,
    jobs: usize,
    bless: bool,
) -> Result<(mmcheck::matrix::EnvFile, PathBuf, mmcheck::matrix::Options), ExitCode> {
    let (cases, repo) = cases_and_repo(cases);
    load_or_report(&cases)?;
    let envs_file = env_file.unwrap_or_else(|| repo.join("ci/environments.toml"));
    let spec = mmcheck::matrix::load(&envs_file).map_err(|e| {
        render::error(&mut std::io::stderr(), &e);
        ExitCode::from(2)
    })?;
    let opts = mmcheck::matrix::Options {
        mmcheck: std::env::current_exe().expect("the running executable has a path"),
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

fn matrix(
    only: Vec<String>,
    bless: bool,
    jobs: u16,
    envs: Option<PathBuf>,
    static_mmcheck: Option<PathBuf>,
    cases: Option<PathBuf>,
) -> ExitCode {
    let (spec, envs_file, opts) =
        match environments(cases, envs, static_mmcheck, usize::from(jobs), bless) {
            Ok(found) => found,
            Err(code) => return code,
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
        render::error(
            &mut std::io::stderr(),
            &format!("no environment `{unknown}` in {}", envs_file.display()),
        );
        return ExitCode::from(2);
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
        return ExitCode::from(130);
    }
    let failed = outcomes.iter().any(|o| {
        o.result.as_ref().map_or(true, |r| {
            !bless
                && r.snapshots
                    .iter()
                    .any(|(_, c)| matches!(c, mmcheck::snapshot::Compared::Changed { .. }))
        })
    });
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn explain_cmd(
    symbol: Option<String>,
    flags: Option<String>,
    call: Option<String>,
    list: bool,
    format: ExplainFormat,
    no_pager: bool,
    cases: Option<PathBuf>,
) -> ExitCode {
    use render::explain::{self as show, Style};
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let style = match format {
        ExplainFormat::Markdown => Style::Markdown,
        _ if tty && std::env::var_os("NO_COLOR").is_none() => Style::Color,
        _ => Style::Plain,
    };
    let json = format == ExplainFormat::Json;
    let fail = |e: explain::ExplainError| {
        render::error(&mut std::io::stderr(), &e.to_string());
        ExitCode::from(2)
    };
    let text = if list {
        let kb = explain::kb::get();
        let mut syms: Vec<(&str, &str)> = kb
            .symbols
            .iter()
            .map(|s| (s.name.as_str(), s.kind.as_str()))
            .collect();
        syms.sort();
        if json {
            serde_json::to_string_pretty(&syms).expect("serializes")
        } else {
            show::list(&syms, style)
        }
    } else if let Some(call) = call {
        let exe = std::env::current_exe().expect("the running executable has a path");
        let scratch = std::env::temp_dir();
        match explain::call::run(&call, &exe, &scratch) {
            Ok(r) if json => serde_json::to_string_pretty(&r).expect("serializes"),
            Ok(r) => show::call_report(&r, style),
            Err(e) => return fail(e),
        }
    } else {
        let symbol = symbol.unwrap_or_default();
        let is_number = symbol.starts_with(|c: char| c.is_ascii_digit());
        if is_number || flags.is_some() {
            match explain::decode(&symbol, flags.as_deref()) {
                Ok(d) if json => serde_json::to_string_pretty(&d).expect("serializes"),
                Ok(d) => show::decoded(&d, style),
                Err(e) => return fail(e),
            }
        } else {
            let (_, repo) = cases_and_repo(cases);
            match explain::explain_at(&symbol, Some(&repo)) {
                Ok(e) if json => serde_json::to_string_pretty(&e).expect("serializes"),
                Ok(e) => show::explanation(&e, style),
                Err(e) => return fail(e),
            }
        }
    };
    render::page(&text, tty && !no_pager && !json);
    ExitCode::SUCCESS
}

fn report(out: &std::path::Path, run: bool, cases: Option<PathBuf>) -> ExitCode {
    let (cases, repo) = cases_and_repo(cases);
    let snapshots = repo.join("snapshots");
    let mut docs = match mmcheck::report::load(&snapshots) {
        Ok(d) => d,
        Err(e) if !run => {
            render::error(&mut std::io::stderr(), &e);
            return ExitCode::from(2);
        }
        Err(_) => Vec::new(),
    };
    if run {
        let loaded = match load_or_report(&cases) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let selected = runner::select(&loaded, &[]);
        let exe = std::env::current_exe().expect("the running executable has a path");
        mmcheck::sys::catch_interrupts();
        let (host, _mounts) = runner::prepare_host(&selected, &exe);
        render::swept(&host);
        let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
        let work: Vec<_> = selected.iter().map(|c| (*c, None)).collect();
        let runs = runner::run_all(&work, &host, &exe, jobs, None, &|_, _, _| {});
        let mut doc = Vec::new();
        render::json(&mut doc, &host, &selected, &runs);
        let doc: serde_json::Value = serde_json::from_slice(&doc).expect("our own JSON");
        let fresh = mmcheck::snapshot::stable_results(&doc, &runs, None);
        docs.retain(|d| d["env"]["key"] != fresh["env"]["key"]);
        docs.insert(0, fresh);
    }
    let report = mmcheck::report::build(&docs);
    let written = std::fs::create_dir_all(out)
        .and_then(|_| std::fs::write(out.join("report.md"), render::report::markdown(&report)))
        .and_then(|_| std::fs::write(out.join("index.html"), render::report::html(&report)))
        .and_then(|_| {
            std::fs::write(
                out.join("report.json"),
                serde_json::to_string_pretty(&report).expect("serializes") + "\n",
            )
        });
    match written {
        Ok(()) => {
            println!(
                "wrote report.md, index.html and report.json to {} ({} environments, {} cases)",
                out.display(),
                report.envs.len(),
                report.cases.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            render::error(&mut std::io::stderr(), &format!("{}: {e}", out.display()));
            ExitCode::from(2)
        }
    }
}

fn manpage(dir: &std::path::Path) -> ExitCode {
    let cmd = <Cli as clap::CommandFactory>::command();
    if let Err(e) = std::fs::create_dir_all(dir) {
        render::error(&mut std::io::stderr(), &format!("{}: {e}", dir.display()));
        return ExitCode::from(2);
    }
    let mut pages = vec![("mmcheck".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push((format!("mmcheck-{}", sub.get_name()), sub.clone()));
    }
    for (name, c) in pages {
        let mut out = Vec::new();
        if clap_mangen::Man::new(c)
            .title(name.to_uppercase())
            .render(&mut out)
            .is_err()
            || std::fs::write(dir.join(format!("{name}.1")), out).is_err()
        {
            render::error(&mut std::io::stderr(), &format!("cannot write {name}.1"));
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn resume(
    file: PathBuf,
    file_id: &str,
    step: usize,
    record_fd: i32,
    scratch: PathBuf,
    slots: &str,
    mutate: Option<String>,
) -> ExitCode {
    let case = match load::load_one(&file, file_id) {
        Ok(cases) => cases.into_iter().next(),
        Err(_) => None,
    };
    let Some(case) = case else {
        render::error(&mut std::io::stderr(), "cannot reload the case after exec");
        return ExitCode::from(70);
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

fn stability(
    envs: Vec<String>,
    seeds: u64,
    first_seed: u64,
    env_file: Option<PathBuf>,
    static_mmcheck: Option<PathBuf>,
    cases: Option<PathBuf>,
) -> ExitCode {
    let (spec, envs_file, opts) = match environments(cases, env_file, static_mmcheck, 1, false) {
        Ok(found) => found,
        Err(code) => return code,
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
                    let why =
                        format!("--env {item}: expected NAME:SEEDS with SEEDS a number from 1");
                    render::error(&mut std::io::stderr(), &why);
                    return ExitCode::from(2);
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
            render::error(&mut std::io::stderr(), &why);
            return ExitCode::from(2);
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
        return ExitCode::from(130);
    }
    let bad = outcomes
        .iter()
        .any(|(_, o)| o.as_ref().map_or(true, |o| !o.changed.is_empty()));
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
