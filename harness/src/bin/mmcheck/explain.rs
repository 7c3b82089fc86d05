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
    let fail = bad_input;
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
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => return bad_input(format!("cannot find my own executable: {e}")),
        };
        let scratch = std::env::temp_dir();
        match explain::call::run(&call, &exe, &scratch) {
            Ok(r) if json => serde_json::to_string_pretty(&r).expect("serializes"),
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
    Exit::Success
}

pub fn manpage(dir: &Path) -> Exit {
    let cmd = <Cli as clap::CommandFactory>::command();
    if let Err(e) = std::fs::create_dir_all(dir) {
        return bad_input(format!("{}: {e}", dir.display()));
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
            return bad_input(format!("cannot write {name}.1"));
        }
    }
    Exit::Success
}
