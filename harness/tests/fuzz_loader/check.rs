//! The properties: every rejection names its file, line, column and field; what loads is usable.

use super::*;

// The properties.

/// Every diagnostic names this file, a line of it and a column in that line, and shows that
/// line; once the file is valid TOML, it names the field too. The rendering says `file:line:col`.
pub(crate) fn check_diagnostics(
    diags: &[Diagnostic],
    file: &Path,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    ensure!(!diags.is_empty(), "rejected without a diagnostic");
    let mut out = Vec::new();
    mmcheck::render::diagnostics(&mut out, diags);
    let rendered = String::from_utf8(out).expect("diagnostics render as UTF-8");
    let text = std::str::from_utf8(bytes).ok();
    let valid_toml = text.is_some_and(|t| toml::from_str::<CaseFile>(t).is_ok());
    if let (Some(t), false) = (text, valid_toml) {
        // The TOML error's place, or where TOML would have put it had it said.
        let e = toml::from_str::<CaseFile>(t).unwrap_err();
        let [d] = diags else {
            return Err(TestCaseError::fail(format!(
                "one TOML error, {} diagnostics",
                diags.len()
            )));
        };
        let line_at = |offset: usize| t[..offset.min(t.len())].matches('\n').count() + 1;
        match e.span() {
            Some(span) => ensure!(
                d.line == line_at(span.start),
                "TOML places `{}` on line {}, the diagnostic on {}",
                e.message(),
                line_at(span.start),
                d.line
            ),
            None => {
                // The first line by which the file already fails.
                let through = |line: usize| {
                    let end = t
                        .split_inclusive('\n')
                        .take(line)
                        .map(str::len)
                        .sum::<usize>();
                    t[..end]
                        .parse::<toml::Table>()
                        .is_err_and(|x| x.message() == e.message())
                };
                ensure!(
                    d.line == 1 || (through(d.line) && !through(d.line - 1)),
                    "`{}` has no place in TOML, and the diagnostic says line {}",
                    e.message(),
                    d.line
                );
            }
        }
    }
    let line_count = bytes.iter().filter(|b| **b == b'\n').count() + 1;
    for d in diags {
        ensure!(
            d.file == file,
            "diagnostic names {}: {d:?}",
            d.file.display()
        );
        ensure!(
            d.line >= 1 && d.col >= 1,
            "diagnostic without a place: {d:?}"
        );
        ensure!(
            d.line <= line_count,
            "line {} of {line_count}: {d:?}",
            d.line
        );
        let place = format!("{}:{}:{}", file.display(), d.line, d.col);
        ensure!(rendered.contains(&place), "`{place}` not in:\n{rendered}");
        ensure!(!d.message.trim().is_empty(), "empty message: {d:?}");
        ensure!(
            !d.message
                .chars()
                .chain(d.field.chars())
                .any(char::is_control),
            "a control character would reach the terminal: {d:?}"
        );
        if let Some(t) = text {
            let raw = t.split('\n').nth(d.line - 1).unwrap_or("");
            let line = load::shown_line(raw);
            ensure!(
                d.source_line == line,
                "the diagnostic shows {:?} for line {}, which is {line:?}: {d:?}",
                d.source_line,
                d.line
            );
            ensure!(
                d.col <= raw.chars().count() + 1,
                "column past the end of the line: {d:?}"
            );
        }
        if valid_toml {
            ensure!(!d.field.is_empty(), "diagnostic without a field: {d:?}");
        }
        // An expression's error points at the word it quotes (or at an escape that spells it).
        let quoted = [
            "unknown name `",
            "unexpected `",
            "expected a value, found `",
        ]
        .iter()
        .find_map(|p| d.message.strip_prefix(p))
        .or_else(|| d.message.strip_prefix('`').filter(|m| m.starts_with('$')));
        if let (Some(word), true) = (quoted.and_then(|w| w.chars().next()), valid_toml) {
            // The line shows a control character as U+FFFD, the message as an escape.
            let at = d.source_line.chars().nth(d.col - 1);
            ensure!(
                at == Some(word)
                    || matches!(at, Some('\\' | '"' | '\''))
                    || (word == '\\' && at == Some('\u{fffd}')),
                "the caret is on {at:?}, not on `{word}`: {d:?}"
            );
        }
    }
    Ok(())
}

/// A scope where every `$name` has `value` (or none).
pub(crate) struct Fixed {
    page: u64,
    value: Option<u64>,
}

impl Scope for Fixed {
    fn page(&self) -> u64 {
        self.page
    }
    fn slot(&self, _: usize) -> Option<u64> {
        self.value
    }
}

pub(crate) fn step_exprs(step: &Step) -> Vec<&Expr> {
    let mut out: Vec<&Expr> = step
        .args
        .iter()
        .filter_map(|(_, v)| match v {
            mmcheck::case::plan::ArgValue::Num(e) => Some(e),
            mmcheck::case::plan::ArgValue::Text(_) => None,
        })
        .collect();
    for e in &step.expect {
        match &e.outcome {
            Outcome::Success(Some(c)) => out.push(&c.rhs),
            Outcome::Signal { addr: Some(a), .. } => out.push(a),
            _ => {}
        }
        for c in &e.checks {
            match c {
                Check::EveryByte(x) | Check::Seals(x) => out.push(x),
                Check::Size(c)
                | Check::Mtime(c, _)
                | Check::Ctime(c, _)
                | Check::Blocks(c)
                | Check::Minflt(c)
                | Check::Majflt(c)
                | Check::Rss(c)
                | Check::Locked(c)
                | Check::AnonHuge(c)
                | Check::KernelPageSize(c)
                | Check::MmuPageSize(c)
                | Check::Pkey(c)
                | Check::Iterations(c) => out.push(&c.rhs),
                Check::FaultFlags(x) => out.push(x),
                Check::Maps(lines) => {
                    for l in lines {
                        out.push(&l.start);
                        out.push(&l.end);
                        out.extend(&l.offset);
                    }
                }
                Check::Bytes(_)
                | Check::Resident(_)
                | Check::Equal(_)
                | Check::VmFlags(_)
                | Check::Pagemap(_)
                | Check::UffdEvent(_) => {}
            }
        }
    }
    out
}

/// A loaded case is usable: its plan is consistent, its expressions evaluate, and a run in which
/// every step succeeds (or fails) classifies.
pub(crate) fn check_case(case: &Case) -> Result<(), TestCaseError> {
    let plan = &case.plan;
    ensure!(!plan.steps.is_empty(), "{}: a case without steps", case.id);
    for (i, step) in plan.steps.iter().enumerate() {
        ensure!(
            step.index == i,
            "{}: step {i} has index {}",
            case.id,
            step.index
        );
        ensure!(step.line >= 1, "{}: {} has no line", case.id, step.label);
        ensure!(
            step.slot.is_none_or(|s| s < plan.slots.len()),
            "{}: {} names slot {:?} of {}",
            case.id,
            step.label,
            step.slot,
            plan.slots.len()
        );
        ensure!(
            step.repeat
                .is_none_or(|(n, s)| n >= 1 && s < plan.slots.len()),
            "{}: {} repeats {:?}",
            case.id,
            step.label,
            step.repeat
        );
        ensure!(
            step.expect.last().is_some_and(|e| e.kernel.is_none()),
            "{}: {} has no default contract",
            case.id,
            step.label
        );
        for kernel in [
            None,
            Some((0, 0, 0)),
            Some((6, 1, 0)),
            Some((u32::MAX, 0, 0)),
        ] {
            let _ = mmcheck::render::contract(step.contract(kernel));
        }
        for e in step_exprs(step) {
            let mut refs = Vec::new();
            e.refs(&mut refs);
            ensure!(
                refs.iter().all(|r| *r < plan.slots.len()),
                "{}: {} reads slots {refs:?} of {}",
                case.id,
                step.label,
                plan.slots.len()
            );
            for page in [4096, 65536, 1] {
                for value in [
                    None,
                    Some(0),
                    Some(1),
                    Some(u64::MAX),
                    Some(0x7f12_3456_7000),
                ] {
                    let _ = e.eval(&Fixed { page, value });
                }
            }
        }
    }
    ensure!(
        Instant::now().checked_add(case.timeout).is_some(),
        "{}: a timeout of {:?} overflows a deadline",
        case.id,
        case.timeout
    );
    let order = outcome::execution_order(case);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    ensure!(
        sorted == (0..plan.steps.len()).collect::<Vec<_>>(),
        "{}: the steps run as {order:?}",
        case.id
    );
    let _ = mmcheck::mutant::applicable(case);
    for obs in [
        Obs::Ok {
            value: 0x7f12_3456_7000,
            data: None,
        },
        Obs::Ok {
            value: u64::MAX,
            data: None,
        },
        Obs::Err { errno: 22 },
        Obs::Fault {
            signo: 11,
            code: 2,
            addr: 0x7f12_3456_7000,
        },
    ] {
        let mut records: Vec<Result<Record, String>> = order
            .iter()
            .map(|&i| {
                Ok(Record::Step {
                    step: i,
                    obs: obs.clone(),
                    iterations: plan.steps[i].repeat.map(|_| 1),
                })
            })
            .collect();
        records.push(Ok(Record::Done));
        let seen = Seen {
            records,
            ended: None,
            timed_out: false,
            stderr: String::new(),
            millis: 1,
        };
        let _ = outcome::classify(case, seen, Some((6, 1, 0)), 4096);
    }
    Ok(())
}
