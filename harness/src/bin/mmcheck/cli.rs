//! The command line: every subcommand and option, as clap reads them.

use clap::{Parser, Subcommand, ValueEnum};
use mmcheck::explain;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "mmcheck",
    version,
    about = "Conformance suite for the Linux memory-mapping system calls"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        /// A symbol (MAP_FIXED, EINVAL, SIGBUS, SEGV_ACCERR, mmap), a number (22, 0x22, -22), or
        /// with --flags the flags as names (MAP_SHARED|MAP_FIXED).
        #[arg(value_parser = symbol_parser(), hide_possible_values = true, allow_negative_numbers = true,
              required_unless_present_any = ["list", "call"])]
        symbol: Option<String>,
        /// Decode the number as this call's flags (mmap, mprotect, madvise, ...) or `prot`.
        #[arg(long, value_name = "CALL", value_parser = flags_of_parser(), hide_possible_values = true)]
        flags: Option<String>,
        /// Run a call and name the documented causes its arguments meet:
        /// 'mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:/tmp/f:O_RDONLY, 100)'.
        #[arg(long, value_name = "CALL", value_hint = clap::ValueHint::Other)]
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
        #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        cases: Option<PathBuf>,
    },
    /// Write the compatibility report across environments (report.md, index.html, report.json,
    /// and each environment's results as ktap/<env>.ktap and junit/<env>.xml) from the committed
    /// snapshots' results.
    Report {
        /// Where to write the files.
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
    /// Trace every rule of the family's installed man pages to the cases whose refs name it:
    /// a table per page, then the rules no case covers, quoted from the installed pages.
    Coverage {
        /// Only these pages (`mmap`, `madvise(2)`); all of the family without.
        pages: Vec<String>,
        /// Output format; `markdown` names rules by id only (it is committed as docs/coverage.md).
        #[arg(long, value_enum, default_value_t = CoverageFormat::Text)]
        format: CoverageFormat,
        /// List every rule with its cases or its reason, not only the uncovered ones.
        #[arg(long)]
        all: bool,
        /// Exit with status 1 when less than this percentage of the rules is covered or marked
        /// untestable.
        #[arg(long, value_name = "PERCENT")]
        min: Option<f64>,
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
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
pub enum Format {
    Table,
    Json,
    /// KTAP as the kernel's selftests print it, with kselftest's exit codes.
    Ktap,
    /// JUnit XML, one testsuite per call.
    Junit,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CoverageFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExplainFormat {
    Text,
    Markdown,
    Json,
}

/// Accepts any text, but offers `values` to shell completion: explain's symbols for SYMBOL
/// (numbers and unknown symbols are accepted too: explain answers them with suggestions), the
/// calls with flags, `prot` and `seals` for `--flags` (explain names the calls it knows when the
/// text is none of them).
#[derive(Clone)]
pub struct Completing {
    values: fn() -> Vec<&'static str>,
}

impl clap::builder::TypedValueParser for Completing {
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
            (self.values)()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

pub fn symbol_parser() -> Completing {
    Completing {
        values: explain::symbols,
    }
}

pub fn flags_of_parser() -> Completing {
    Completing {
        values: explain::flag_families,
    }
}
