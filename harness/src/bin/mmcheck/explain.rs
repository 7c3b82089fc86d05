//! `explain`, and the man pages of mmcheck itself.

use crate::cli::{Cli, ExplainFormat};
use crate::exit::{bad_input, Exit};
use crate::paths::cases_and_repo;
use mmcheck::{explain, render};
use std::path::{Path, PathBuf};

pub fn explain_cmd(
    symbol: Option<String>,
    flags: Option<String>,
    call: Option<String>,
    list: bool,
    format: ExplainFormat,
    no_pager: bool,
    cases: Option<PathBuf>,
) -> Exit {
    use render::explain::{self as show, Style};
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let style = match format {
        ExplainFormat::Markdown => Style::Markdown,
        _ if tty && std::env::var_os("NO_COLOR").is_none() => Style::Color,
        _ => Style::Plain,
    };
    let json = format == ExplainFormat::Json;
    show::set_width(show::terminal_width());
    // With --format json an error is a JSON object too (on stdout; stderr has the plain line).
    let fail = |e: explain::ExplainError| {
        if json {
            print!("{}", to_json(&show::error_doc(&e)));
        }
        bad_input(e)
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
            to_json(&show::list_doc(&syms))
        } else {
            show::list(&syms, style)
        }
    } else if let Some(call) = call {
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                return fail(explain::ExplainError::BadCall(format!(
                    "cannot find my own executable: {e}"
                )))
            }
        };
        let scratch = std::env::temp_dir();
        match explain::call::run(&call, &exe, &scratch) {
            Ok(r) if json => to_json(&show::Doc::new(&r)),
            Ok(r) => show::call_report(&r, style),
            Err(e) => return fail(e),
        }
    } else {
        let symbol = symbol.unwrap_or_default();
        let is_number = symbol
            .trim_start_matches('-')
            .starts_with(|c: char| c.is_ascii_digit());
        if is_number || flags.is_some() {
            match explain::decode(&symbol, flags.as_deref()) {
                Ok(d) if json => to_json(&show::Doc::new(&d)),
                Ok(d) => show::decoded(&d, style),
                Err(e) => return fail(e),
            }
        } else {
            let (_, repo) = cases_and_repo(cases);
            match explain::explain_at(&symbol, Some(&repo)) {
                Ok(e) if json => to_json(&show::Doc::new(&e)),
                Ok(e) => show::explanation(&e, style),
                Err(e) => return fail(e),
            }
        }
    };
    render::page(&text, tty && !no_pager && !json);
    Exit::Success
}

fn to_json(doc: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(doc).expect("serializes");
    text.push('\n');
    text
}

/// Prints the completion script for `shell`: clap's, which offers explain's symbols for SYMBOL
/// (bash, zsh, ...) and the calls for `--flags`; fish's generator completes no positional
/// argument, so for fish the symbols are added here, one line per kind.
pub fn completions(shell: clap_complete::Shell) -> Exit {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mmcheck", &mut out);
    if shell == clap_complete::Shell::Fish {
        let kb = explain::kb::get();
        let mut kinds: Vec<&str> = kb.symbols.iter().map(|s| s.kind.as_str()).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let mut names: Vec<&str> = kb
                .symbols
                .iter()
                .filter(|s| s.kind == kind)
                .map(|s| s.name.as_str())
                .collect();
            names.sort();
            out.extend_from_slice(
                format!(
                    "complete -c mmcheck -n \"__fish_mmcheck_using_subcommand explain\" -f -a \"{}\" -d '{kind}'\n",
                    names.join(" ")
                )
                .as_bytes(),
            );
        }
    }
    let _ = std::io::Write::write_all(&mut std::io::stdout(), &out);
    Exit::Success
}

/// Writes mmcheck.1 and one page per visible subcommand (mmcheck-explain.1, ...) into `dir`:
/// clap's NAME, SYNOPSIS, DESCRIPTION and OPTIONS, then EXAMPLES and EXIT STATUS, then SEE ALSO.
pub fn manpage(dir: &Path) -> Exit {
    let cmd = <Cli as clap::CommandFactory>::command();
    if let Err(e) = std::fs::create_dir_all(dir) {
        return bad_input(format!("{}: {e}", dir.display()));
    }
    let mut pages = vec![("mmcheck".to_string(), "mmcheck".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("mmcheck-{}", sub.get_name());
        let bin = format!("mmcheck {}", sub.get_name());
        // NAME says mmcheck-explain, SYNOPSIS `mmcheck explain`: what a reader types.
        let c = sub.clone().display_name(name.clone()).bin_name(bin.clone());
        pages.push((name, bin, c));
    }
    let names: Vec<String> = pages.iter().map(|(n, _, _)| n.clone()).collect();
    for (name, bin, c) in pages {
        let page = render_manpage(&name, &bin, c, &names);
        if std::fs::write(dir.join(format!("{name}.1")), page).is_err() {
            return bad_input(format!("cannot write {name}.1"));
        }
    }
    Exit::Success
}

fn render_manpage(name: &str, bin: &str, c: clap::Command, all: &[String]) -> Vec<u8> {
    let has_args = c.get_arguments().any(|a| !a.is_hide_set());
    let has_subs = c.get_subcommands().any(|s| !s.is_hide_set());
    let has_version = c.get_version().is_some();
    let man = clap_mangen::Man::new(c)
        .title(name.to_uppercase())
        .manual("mmcheck manual")
        .source(format!("mmcheck {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    if has_args {
        let _ = man.render_options_section(&mut out);
    }
    if has_subs {
        let _ = man.render_subcommands_section(&mut out);
    }
    let mut extra = String::from(".SH EXAMPLES\n");
    for (command, what) in examples(bin) {
        let command = roff_text(command);
        extra.push_str(&format!(".TP\n.B {command}\n{}\n", roff_text(what)));
    }
    extra.push_str(".SH \"EXIT STATUS\"\n");
    for (code, what) in exit_statuses(bin) {
        extra.push_str(&format!(".TP\n.B {code}\n{}\n", roff_text(what)));
    }
    extra.push_str(".SH \"SEE ALSO\"\n");
    let see: Vec<String> = all
        .iter()
        .filter(|n| n.as_str() != name)
        .map(|n| format!(".BR \\%{} (1)", roff_text(n)))
        .collect();
    // Comma-separated: every reference but the last gets its comma as a third argument.
    for (i, r) in see.iter().enumerate() {
        extra.push_str(r);
        extra.push_str(if i + 1 < see.len() { " ,\n" } else { "\n" });
    }
    out.extend_from_slice(extra.as_bytes());
    if has_version {
        let _ = man.render_version_section(&mut out);
    }
    out
}

/// Text for a roff line: backslashes and hyphens escaped, no line starting with a control
/// character.
fn roff_text(s: &str) -> String {
    let t = s.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

/// Each page's examples: the command line, and what it does.
fn examples(bin: &str) -> Vec<(&'static str, &'static str)> {
    match bin {
        "mmcheck" => vec![
            ("mmcheck run", "Run every case on this kernel and print the table."),
            ("mmcheck run mprotect/ --format ktap", "Run the mprotect cases and print KTAP."),
            ("mmcheck explain MAP_FIXED", "Explain a flag, with the cases that prove it."),
            ("mmcheck completions fish > ~/.config/fish/completions/mmcheck.fish", "Install fish completions."),
        ],
        "mmcheck run" => vec![
            ("mmcheck run", "Run every case of the repository's cases/ directory."),
            ("mmcheck run mprotect/ sigbus -j 2", "Run the cases whose id contains mprotect/ or sigbus, two at a time."),
            ("mmcheck run --format json > results.json", "Every case's verdict and observations as JSON."),
            ("mmcheck run --cases ./my-cases --format junit", "Run your own case files and print JUnit XML."),
        ],
        "mmcheck explain" => vec![
            ("mmcheck explain MAP_FIXED", "A flag in mmcheck's words, the man page's text, and the cases that verify it with what each kernel did."),
            ("mmcheck explain EINVAL", "Every documented cause of EINVAL in the family, grouped by call, each with its cases."),
            ("mmcheck explain mmap --format markdown", "A call's synopsis, arguments, flags and errors, as Markdown."),
            ("mmcheck explain 22", "Decode a number: errno 22 is EINVAL; also read as a signal and an si_code."),
            ("mmcheck explain --flags mmap 0x22", "Decode mmap flags: MAP_PRIVATE|MAP_ANONYMOUS."),
            ("mmcheck explain --flags mmap 'MAP_SHARED|MAP_FIXED'", "Names to a number, and back as the kernel reads them."),
            ("mmcheck explain --call 'mmap(NULL, 4096, PROT_READ, MAP_SHARED, pipe, 0)'", "Run a call and name the documented causes its arguments meet."),
            ("COLUMNS=120 mmcheck explain SIGBUS --no-pager", "Text wrapped to 120 columns, without a pager."),
            ("mmcheck explain MAP_FIXED --format json | jq .cases", "The JSON document (schema in docs/explain/README.md)."),
        ],
        "mmcheck mutants" => vec![
            ("mmcheck mutants mprotect/", "Check that every mprotect case notices a kernel that ignores mprotect."),
        ],
        "mmcheck matrix" => vec![
            ("mmcheck matrix --only gvisor", "Run the suite under gVisor only and compare its snapshots."),
            ("mmcheck matrix --bless", "Run every environment and accept the new snapshots."),
        ],
        "mmcheck stability" => vec![
            ("mmcheck stability --env host:30", "Run the host suite under 30 layout seeds."),
        ],
        "mmcheck report" => vec![
            ("mmcheck report --out docs/compat", "Write the compatibility report from the committed snapshots."),
        ],
        "mmcheck completions" => vec![
            ("mmcheck completions bash > /etc/bash_completion.d/mmcheck", "Install bash completions."),
            ("mmcheck completions zsh > ~/.zfunc/_mmcheck", "Install zsh completions (with ~/.zfunc in fpath)."),
            ("mmcheck completions fish > ~/.config/fish/completions/mmcheck.fish", "Install fish completions."),
        ],
        "mmcheck manpage" => vec![
            ("mmcheck manpage target/man", "Write these pages into target/man."),
        ],
        "mmcheck coverage" => vec![
            ("mmcheck coverage mmap", "The rules of mmap(2) no case covers."),
            ("mmcheck coverage --all --min 80", "Every rule, and fail below 80% covered."),
        ],
        "mmcheck list" => vec![("mmcheck list madvise/", "List the madvise cases and their rules.")],
        _ => vec![],
    }
}

/// The exit statuses a page's command can end with (exit.rs names them).
fn exit_statuses(bin: &str) -> Vec<(&'static str, &'static str)> {
    let mut v = match bin {
        "mmcheck explain" => vec![
            ("0", "The symbol was explained, the number decoded or the call run (whatever the call returned)."),
            ("2", "Bad input: an unknown symbol (with suggestions), a malformed number, an unknown call for --flags, a --call that cannot be parsed or set up, or a bad option. With --format json the error is also printed on standard output as a JSON object."),
        ],
        "mmcheck completions" | "mmcheck manpage" | "mmcheck list" => vec![
            ("0", "Done."),
            ("2", "Bad input: a bad argument, a directory that cannot be written, a malformed case file."),
        ],
        "mmcheck run" => vec![
            ("0", "Every case passed or was skipped."),
            ("1", "A case failed or broke."),
            ("2", "Bad input: a malformed case file or a bad argument; nothing ran."),
            ("4", "With --format ktap, kselftest's status when every case was skipped (ktap uses kselftest's statuses: 0 pass, 1 fail, 4 skip)."),
        ],
        _ => vec![
            ("0", "Everything asked was done, and every case passed or was skipped."),
            ("1", "A case failed or broke, a snapshot changed, a mutant survived, or coverage is below --min."),
            ("2", "Bad input: a case file, an argument, an environments file; nothing ran."),
        ],
    };
    v.push((
        "70",
        "mmcheck itself failed where it could not go on (EX_SOFTWARE).",
    ));
    v.push((
        "130",
        "Interrupted by Ctrl-C or SIGTERM: what finished was reported, the rest stopped.",
    ));
    v
}
