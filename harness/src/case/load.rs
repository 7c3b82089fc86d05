//! Finds case files, parses and validates them, and compiles them into plans. Every problem in
//! every file is collected, each with its file, line and field, before anything runs.

use super::expr::{self, Context, Expr};
use super::plan::*;
use super::schema::{self, CaseFile, StepSpec, Value};
use super::vocab::{self, Call, Kind};
use crate::names::{self, Family};
use crate::version::Range;
use std::collections::{BTreeMap, HashSet};
use std::ops::Range as Span;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use toml::Spanned;

/// A problem in a case file, pointing at the line it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    /// Where in the case: `step 2 (mprotect) args.prot`.
    pub field: String,
    pub message: String,
    /// The text of the line, for the snippet.
    pub source_line: String,
}

/// Filesystems a case may ask to run on.
pub const FILESYSTEMS: &[&str] = &["tmpfs", "ext4", "xfs", "btrfs"];

/// Default seconds a case may run.
pub const DEFAULT_TIMEOUT: u64 = 10;

/// The longest `timeout`, in seconds. Far more than any case needs; a larger one is a typo, and
/// a deadline that far away would not even fit in a clock reading.
pub const MAX_TIMEOUT: u64 = 3600;

/// Loads every `*.toml` under `root`, sorted by id. Returns the cases that compiled and the problems
/// of the ones that did not; callers must refuse to run when the second list is not empty.
pub fn load_dir(root: &Path) -> (Vec<Case>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    if let Err(e) = collect(root, &mut files) {
        diags.push(file_diag(
            root,
            format!("cannot read the cases directory: {e}"),
        ));
    }
    if files.is_empty() && diags.is_empty() {
        diags.push(file_diag(root, "no case files (*.toml) here".into()));
    }
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        match load_file(root, &file) {
            Ok(mut c) => cases.append(&mut c),
            Err(mut d) => diags.append(&mut d),
        }
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    (cases, diags)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

fn file_diag(file: &Path, message: String) -> Diagnostic {
    Diagnostic {
        file: file.to_path_buf(),
        line: 0,
        col: 0,
        field: String::new(),
        message,
        source_line: String::new(),
    }
}

/// The case id of a file: its path below the root, without `.toml`, with `/` separators.
pub fn case_id(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Loads one file; a case that runs on several filesystems gives one `Case` per filesystem.
pub fn load_file(root: &Path, file: &Path) -> Result<Vec<Case>, Vec<Diagnostic>> {
    load_one(file, &case_id(root, file))
}

/// Loads one file under a known id (a worker reloading the case its runner named).
pub fn load_one(file: &Path, id: &str) -> Result<Vec<Case>, Vec<Diagnostic>> {
    let bytes =
        std::fs::read(file).map_err(|e| vec![file_diag(file, format!("cannot read: {e}"))])?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            // Point at the first byte that is not UTF-8; up to it, the lossy text is the file.
            let at = e.utf8_error().valid_up_to();
            let bad = e.as_bytes()[at];
            let text = String::from_utf8_lossy(e.as_bytes());
            let mut cx = Loader {
                file,
                text: &text,
                diags: Vec::new(),
            };
            cx.error(
                at..at,
                "",
                format!("byte 0x{bad:02x} is not UTF-8 text; case files are UTF-8"),
            );
            return Err(cx.diags);
        }
    };
    let id = id.to_string();
    let mut cx = Loader {
        file,
        text: &text,
        diags: Vec::new(),
    };
    if id.contains('@') || id.contains(char::is_whitespace) {
        cx.diags.push(file_diag(
            file,
            format!("case id `{id}` may not contain `@` or spaces (the file name is the id)"),
        ));
    }
    let parsed: CaseFile = match toml::from_str(&text) {
        Ok(p) => p,
        Err(e) => {
            let span = e.span().unwrap_or_else(|| {
                let at = first_failing_line(&text, e.message());
                at..at
            });
            cx.error(span, "", with_suggestion(e.message().trim()));
            return Err(cx.diags);
        }
    };
    let compiled = cx.case(&id, parsed);
    if !cx.diags.is_empty() {
        return Err(cx.diags);
    }
    let (base, fs) = compiled.expect("no diagnostics means the case compiled");
    Ok(if fs.is_empty() {
        vec![base]
    } else {
        fs.into_iter()
            .map(|f| Case {
                id: format!("{}@{f}", base.id),
                fs: Some(f),
                ..base.clone()
            })
            .collect()
    })
}

pub(super) struct Loader<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) diags: Vec<Diagnostic>,
}

/// Names visible at a point of the plan, and bookkeeping shared by all lists.
pub(super) struct Names {
    visible: Vec<(String, usize)>,
    all: HashSet<String>,
    forks: HashSet<usize>,
}

impl<'a> Loader<'a> {
    pub(super) fn error(&mut self, span: Span<usize>, field: &str, message: String) {
        let offset = char_floor(self.text, span.start);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        let source_line = shown_line(self.text[line_start..].split('\n').next().unwrap_or(""));
        self.diags.push(Diagnostic {
            file: self.file.to_path_buf(),
            line,
            col,
            field: printable(field),
            message: printable(&message),
            source_line,
        });
    }

    fn line_of(&self, span: &Span<usize>) -> usize {
        self.text[..char_floor(self.text, span.start)]
            .matches('\n')
            .count()
            + 1
    }

    fn case(&mut self, id: &str, f: CaseFile) -> Option<(Case, Vec<String>)> {
        for (name, list) in [("symbols", &f.symbols), ("refs", &f.refs)] {
            if list.get_ref().is_empty() {
                self.error(
                    list.span(),
                    name,
                    format!("`{name}` may not be empty: name what this case verifies"),
                );
            }
        }
        if f.summary.get_ref().trim().is_empty() {
            self.error(
                f.summary.span(),
                "summary",
                "`summary` may not be empty".into(),
            );
        }
        let (requires, fs) = match &f.requires {
            Some(r) => self.requires(r),
            None => (Requirements::default(), Vec::new()),
        };
        let timeout = f.timeout.as_ref().map_or(DEFAULT_TIMEOUT, |t| *t.get_ref());
        if timeout == 0 || timeout > MAX_TIMEOUT {
            let span = f.timeout.as_ref().map(|t| t.span()).unwrap_or(0..0);
            self.error(
                span,
                "timeout",
                format!("`timeout` is in seconds, from 1 to {MAX_TIMEOUT}"),
            );
        }
        let mut plan = Plan {
            steps: Vec::new(),
            lists: vec![Vec::new()],
            slots: Vec::new(),
        };
        let mut names = Names {
            visible: Vec::new(),
            all: HashSet::new(),
            forks: HashSet::new(),
        };
        if f.steps.get_ref().is_empty() {
            self.error(
                f.steps.span(),
                "step",
                "a case needs at least one `[[step]]`".into(),
            );
        }
        self.list(f.steps.get_ref(), 0, "", &mut plan, &mut names);
        let mut survives = Vec::new();
        for (mutant, why) in &f.survives {
            let field = format!("survives.{}", mutant.get_ref());
            if !vocab::mutants().any(|m| m == mutant.get_ref()) {
                let near = names::nearest(mutant.get_ref(), vocab::mutants());
                self.error(
                    mutant.span(),
                    &field,
                    unknown("mutant", mutant.get_ref(), &near),
                );
            } else if why.get_ref().trim().is_empty() {
                self.error(
                    why.span(),
                    &field,
                    "say why the case cannot tell this call from a no-op".into(),
                );
            } else {
                survives.push((mutant.get_ref().clone(), why.get_ref().clone()));
            }
        }
        let case = Case {
            id: id.to_string(),
            path: self.file.to_path_buf(),
            file_id: id.to_string(),
            summary: f.summary.into_inner(),
            symbols: f
                .symbols
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            refs: f
                .refs
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            note: f.note,
            requires,
            fs: None,
            timeout: Duration::from_secs(timeout),
            survives,
            plan,
        };
        Some((case, fs))
    }

    fn requires(&mut self, r: &Spanned<schema::Requires>) -> (Requirements, Vec<String>) {
        let r = r.get_ref();
        let mut out = Requirements {
            root: r.root.unwrap_or(false),
            hugepages: r.hugepages.as_ref().map_or(0, |h| *h.get_ref()),
            ..Default::default()
        };
        for a in &r.arch {
            const ARCHES: &[&str] = &["x86_64", "aarch64", "riscv64", "s390x", "ppc64le", "i686"];
            if ARCHES.contains(&a.get_ref().as_str()) {
                out.arch.push(a.get_ref().clone());
            } else {
                let near = names::nearest(a.get_ref(), ARCHES.iter().copied());
                self.error(
                    a.span(),
                    "requires.arch",
                    unknown("architecture", a.get_ref(), &near),
                );
            }
        }
        for (field, map, list) in [
            (
                "requires.file-contains",
                &r.file_contains,
                &mut out.file_contains,
            ),
            ("requires.file-lacks", &r.file_lacks, &mut out.file_lacks),
        ] {
            for (path, text) in map {
                if path.get_ref().starts_with('/') {
                    list.push((path.get_ref().clone(), text.get_ref().clone()));
                } else {
                    self.error(
                        path.span(),
                        field,
                        format!("`{}` must be an absolute path", path.get_ref()),
                    );
                }
            }
        }
        for p in &r.exists {
            if p.get_ref().starts_with('/') {
                out.exists.push(p.get_ref().clone());
            } else {
                self.error(
                    p.span(),
                    "requires.exists",
                    format!("`{}` must be an absolute path", p.get_ref()),
                );
            }
        }
        for (field, list, target) in [
            ("requires.caps", &r.caps, &mut out.caps),
            (
                "requires.caps-dropped",
                &r.caps_dropped,
                &mut out.caps_dropped,
            ),
        ] {
            for name in list {
                match caps::Capability::from_str(name.get_ref()) {
                    Ok(cap) => target.push(cap),
                    Err(_) => {
                        let all: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
                        let near = names::nearest(name.get_ref(), all.iter().map(String::as_str));
                        let hint = near
                            .first()
                            .map(|n| format!("; did you mean `{n}`?"))
                            .unwrap_or_default();
                        self.error(
                            name.span(),
                            field,
                            format!("unknown capability `{}`{hint}", name.get_ref()),
                        );
                    }
                }
            }
        }
        if let Some(k) = &r.kernel {
            match Range::parse(k.get_ref()) {
                Ok(range) => out.kernel = Some(range),
                Err(e) => self.error(k.span(), "requires.kernel", e),
            }
        }
        let mut fs = Vec::new();
        for f in &r.fs {
            if FILESYSTEMS.contains(&f.get_ref().as_str()) {
                fs.push(f.get_ref().clone());
            } else {
                self.error(
                    f.span(),
                    "requires.fs",
                    format!(
                        "unknown filesystem `{}`; mmcheck runs cases on {}",
                        f.get_ref(),
                        FILESYSTEMS.join(", ")
                    ),
                );
            }
        }
        for (name, value) in &r.rlimits {
            let field = format!("requires.rlimits.{}", name.get_ref());
            let resource = match expr::resolve_symbol(name.get_ref(), &[Family::Rlimit]) {
                Ok(k) => k.value as u32,
                Err(e) => {
                    self.error(name.span(), &field, e);
                    continue;
                }
            };
            if let Some(e) = self.value_expr(value, &[], &field, &no_refs) {
                match e.eval(&ConstScope) {
                    Ok(v) => out.rlimits.push((resource, v, v)),
                    Err(err) => self.error(value.span(), &field, err.to_string()),
                }
            }
        }
        (out, fs)
    }

    fn list(
        &mut self,
        steps: &[StepSpec],
        list: usize,
        prefix: &str,
        plan: &mut Plan,
        names: &mut Names,
    ) {
        // Forks not yet waited for: slot, label and where the fork is written.
        let mut pending_forks: Vec<(usize, String, Span<usize>)> = Vec::new();
        for (pos, spec) in steps.iter().enumerate() {
            let label = format!("{prefix}step {}", pos + 1);
            let index = plan.steps.len();
            plan.lists[list].push(index);
            let call_span = spec.call.span();
            let call_name = spec.call.get_ref().as_str();
            let Some(call) = vocab::lookup(call_name) else {
                let near = names::nearest(call_name, vocab::CALLS.iter().map(|c| c.name));
                let hint = near
                    .first()
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                self.error(
                    call_span,
                    &format!("{label} call"),
                    format!("unknown call `{call_name}`{hint}"),
                );
                // Keep the step's name visible so that one typo gives one error, not a cascade.
                if let Some(id) = &spec.id {
                    names.visible.push((id.get_ref().clone(), usize::MAX));
                }
                continue;
            };
            let field = format!("{label} ({})", call.name);
            // A repeated step sees `$i`, its iteration, in its own arguments only.
            let repeat = spec.repeat.as_ref().map(|r| {
                let slot = plan.slots.len();
                plan.slots.push("i".into());
                if *r.get_ref() == 0 {
                    self.error(
                        r.span(),
                        &format!("{field} repeat"),
                        "`repeat` must be at least 1".into(),
                    );
                }
                (*r.get_ref(), slot)
            });
            if let Some((_, slot)) = repeat {
                names.visible.push(("i".into(), slot));
            }
            let args = self.args(spec, call, &field, names);
            if repeat.is_some() {
                names.visible.pop();
            }
            let expect = self.expectations(spec, call, &field, names);
            if repeat.is_none() {
                if let Some(e) = spec
                    .expect
                    .iter()
                    .chain(&spec.expect_if)
                    .find(|e| e.get_ref().iterations.is_some())
                {
                    self.error(
                        e.span(),
                        &format!("{field} expect.iterations"),
                        "`iterations` counts the runs of a step with `repeat`".into(),
                    );
                }
            }
            let step = Step {
                index,
                list,
                pos,
                label: label.clone(),
                line: self.line_of(&call_span),
                call: call.call,
                spec: call,
                slot: None,
                args,
                expect,
                child_list: None,
                repeat,
            };
            plan.steps.push(step);

            // Fork children see what was defined before the fork; their own names stay inside.
            if call.call == Call::Fork {
                if spec.child.is_empty() {
                    self.error(
                        call_span.clone(),
                        &field,
                        "a `fork` needs `[[step.child]]` steps for the child to run".into(),
                    );
                }
                let child_list = plan.lists.len();
                plan.lists.push(Vec::new());
                plan.steps[index].child_list = Some(child_list);
                let saved = names.visible.clone();
                self.list(
                    &spec.child,
                    child_list,
                    &format!("{label} > child "),
                    plan,
                    names,
                );
                names.visible = saved;
            } else if !spec.child.is_empty() {
                self.error(
                    call_span.clone(),
                    &field,
                    format!("only `fork` has child steps, not `{}`", call.name),
                );
            }
            if call.call == Call::Exec && !pending_forks.is_empty() {
                self.error(
                    call_span.clone(),
                    &field,
                    format!(
                        "`exec` while the fork at {} has not been waited for",
                        pending_forks[0].1
                    ),
                );
            }
            if call.call == Call::Wait {
                let mut refs = Vec::new();
                if let Some(pid) = plan.steps[index].num("pid") {
                    pid.refs(&mut refs);
                }
                let before = pending_forks.len();
                pending_forks.retain(|(slot, _, _)| !refs.contains(slot));
                if before == pending_forks.len() && !refs.contains(&usize::MAX) {
                    self.error(
                        call_span.clone(),
                        &field,
                        "`wait` needs `pid` naming a `fork` step of this list that is not yet waited for"
                            .into(),
                    );
                }
            }

            if let Some(id) = &spec.id {
                let name = id.get_ref();
                if !is_identifier(name) {
                    self.error(
                        id.span(),
                        &format!("{field} id"),
                        format!(
                            "id `{name}` must be letters, digits and `_`, starting with a letter"
                        ),
                    );
                } else if !names.all.insert(name.clone()) {
                    self.error(
                        id.span(),
                        &format!("{field} id"),
                        format!("duplicate id `{name}`: every step id in a case must be different"),
                    );
                } else {
                    let slot = plan.slots.len();
                    plan.slots.push(name.clone());
                    plan.steps[index].slot = Some(slot);
                    names.visible.push((name.clone(), slot));
                    if call.call == Call::Fork {
                        names.forks.insert(slot);
                        pending_forks.push((slot, label.clone(), call_span.clone()));
                    }
                }
            } else if call.call == Call::Fork {
                self.error(
                    call_span,
                    &field,
                    "a `fork` needs an `id`, so that a `wait` can name it".into(),
                );
            }
        }
        for (_, label, span) in pending_forks {
            self.error(
                span,
                &label,
                format!("the fork at {label} has no `wait` later in the same list"),
            );
        }
    }

    fn args(
        &mut self,
        spec: &StepSpec,
        call: &'static vocab::CallSpec,
        field: &str,
        names: &Names,
    ) -> Vec<(&'static str, ArgValue)> {
        let empty = BTreeMap::new();
        let given = spec.args.as_ref().map_or(&empty, |a| a.get_ref());
        let resolve = |name: &str| resolve_name(names, name);
        for (key, value) in given {
            if !call.args.iter().any(|a| a.name == key.get_ref()) {
                let near = names::nearest(key.get_ref(), call.args.iter().map(|a| a.name));
                let takes = if call.args.is_empty() {
                    "no arguments".to_string()
                } else {
                    call.args
                        .iter()
                        .map(|a| a.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let hint = near
                    .first()
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                self.error(
                    value.span(),
                    &format!("{field} args.{}", key.get_ref()),
                    format!(
                        "`{}` takes no argument `{}`; {hint}it takes {takes}",
                        call.name,
                        key.get_ref()
                    ),
                );
            }
        }
        for group in call.one_of {
            let n = group.iter().filter(|g| given.contains_key(**g)).count();
            if n != 1 {
                self.error(
                    spec.call.span(),
                    &format!("{field} args"),
                    format!("`{}` needs exactly one of {}", call.name, group.join(", ")),
                );
            }
        }
        let mut out = Vec::new();
        for arg in call.args {
            let arg_field = format!("{field} args.{}", arg.name);
            let families: &[Family] = match arg.kind {
                Kind::Num(f) => f,
                Kind::Text => &[],
            };
            match (given.get(arg.name), arg.default) {
                (Some(v), _) => match arg.kind {
                    Kind::Num(_) => {
                        if let Some(e) = self.value_expr(v, families, &arg_field, &resolve) {
                            out.push((arg.name, ArgValue::Num(e)));
                        }
                    }
                    Kind::Text => match v.get_ref() {
                        Value::Str(s) => {
                            if let Err(e) = check_text(call.call, arg.name, s) {
                                self.error(v.span(), &arg_field, e);
                            }
                            out.push((arg.name, ArgValue::Text(s.clone())));
                        }
                        _ => {
                            self.error(v.span(), &arg_field, format!("`{}` is a string", arg.name))
                        }
                    },
                },
                (None, None) => self.error(
                    spec.call.span(),
                    &arg_field,
                    format!("`{}` needs the argument `{}`", call.name, arg.name),
                ),
                (None, Some("")) => {}
                (None, Some(default)) => out.push((
                    arg.name,
                    match arg.kind {
                        Kind::Num(_) => ArgValue::Num(
                            expr::parse(
                                default,
                                &Context {
                                    families,
                                    resolve: &no_refs,
                                },
                            )
                            .expect("vocabulary defaults parse"),
                        ),
                        Kind::Text => ArgValue::Text(default.to_string()),
                    },
                )),
            }
        }
        out
    }

    /// Parses a scalar as an expression; strings and integers are both accepted.
    pub(super) fn value_expr(
        &mut self,
        v: &Spanned<Value>,
        families: &[Family],
        field: &str,
        resolve: &dyn Fn(&str) -> Result<usize, String>,
    ) -> Option<Expr> {
        match v.get_ref() {
            Value::Int(i) => Some(Expr::Num(*i as u64)),
            Value::Bool(_) => {
                self.error(
                    v.span(),
                    field,
                    "expected a number or an expression, not a boolean".into(),
                );
                None
            }
            Value::Str(s) => self.expr_at(s, v.span(), 0, families, field, resolve),
        }
    }

    /// Parses `s`, which starts at byte `base` of the string value at `span` (quotes included),
    /// and points an error at the offending word in the file.
    pub(super) fn expr_at(
        &mut self,
        s: &str,
        span: Span<usize>,
        base: usize,
        families: &[Family],
        field: &str,
        resolve: &dyn Fn(&str) -> Result<usize, String>,
    ) -> Option<Expr> {
        match expr::parse(s, &Context { families, resolve }) {
            Ok(e) => Some(e),
            Err(e) => {
                let source = self.text.get(span.clone()).unwrap_or("");
                let at = span.start + offset_in_string(source, base + e.at);
                self.error(at..at, field, e.message);
                None
            }
        }
    }
}

/// Where byte `at` of a string's value is in its TOML source `raw` (quotes included). They differ
/// by the quotes, by escapes (`\t`, `\u00e9`), by the newline that may open a multi-line string
/// and by a line-ending backslash, which swallows the whitespace after it.
fn offset_in_string(raw: &str, at: usize) -> usize {
    let (quote, literal) = match raw {
        r if r.starts_with("\"\"\"") => ("\"\"\"", false),
        r if r.starts_with("'''") => ("'''", true),
        r if r.starts_with('"') => ("\"", false),
        r if r.starts_with('\'') => ("'", true),
        _ => return 0,
    };
    let mut i = quote.len();
    if quote.len() == 3 {
        i += ["\n", "\r\n"]
            .iter()
            .find(|nl| raw[i..].starts_with(*nl))
            .map_or(0, |nl| nl.len());
    }
    let mut decoded = 0;
    // Past the end, or inside a character only after an escape TOML would have refused.
    while let Some(c) = raw.get(i..).and_then(|rest| rest.chars().next()) {
        let rest = &raw[i..];
        let (source_len, value_len) = match rest.strip_prefix('\\') {
            Some(escape) if !literal => {
                let hex = |digits: usize| {
                    escape
                        .get(1..1 + digits)
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32)
                        .map_or(1, char::len_utf8)
                };
                match escape.chars().next() {
                    Some('x') => (4, hex(2)),
                    Some('u') => (6, hex(4)),
                    Some('U') => (10, hex(8)),
                    Some(' ' | '\t' | '\r' | '\n') => {
                        let kept = escape.trim_start_matches([' ', '\t', '\r', '\n']).len();
                        (1 + escape.len() - kept, 0)
                    }
                    Some(other) => (1 + other.len_utf8(), 1),
                    None => (1, 0),
                }
            }
            _ => (c.len_utf8(), c.len_utf8()),
        };
        // Stop at the byte, but not before a line-ending backslash, which stands for nothing.
        if decoded >= at && value_len > 0 {
            break;
        }
        i += source_len;
        decoded += value_len;
    }
    char_floor(raw, i)
}

/// `s` with its control characters escaped (`\u{1b}`): messages and fields quote what the case
/// says, and they are printed on a terminal.
/// Compiles the text of one case file, for unit tests that need a `Case` (the file lives only
/// as long as the call: nothing in such a test re-reads it).
#[cfg(test)]
pub(crate) fn case_from_toml(text: &str) -> Case {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("t.toml");
    std::fs::write(&file, text).expect("the case file is written");
    load_one(&file, "t")
        .unwrap_or_else(|d| panic!("the test case does not compile: {d:?}"))
        .remove(0)
}

/// A line of a case file as a diagnostic shows it on a terminal: without its carriage return,
/// and with control characters (an escape would garble the message) as U+FFFD.
pub fn shown_line(raw: &str) -> String {
    raw.strip_suffix('\r')
        .unwrap_or(raw)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `offset` within `text`, moved back to the start of the character it falls in.
fn char_floor(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

struct ConstScope;

impl expr::Scope for ConstScope {
    fn page(&self) -> u64 {
        crate::sys::page_size()
    }
    fn slot(&self, _: usize) -> Option<u64> {
        None
    }
}

fn no_refs(name: &str) -> Result<usize, String> {
    Err(format!("`${name}`: no step results can be used here"))
}

pub(super) fn resolve_name(names: &Names, name: &str) -> Result<usize, String> {
    if let Some((_, slot)) = names.visible.iter().rev().find(|(n, _)| n == name) {
        return Ok(*slot);
    }
    let near = names::nearest(name, names.visible.iter().map(|(n, _)| n.as_str()));
    let hint = near
        .first()
        .map(|n| format!("; did you mean `${n}`?"))
        .unwrap_or_default();
    if names.all.contains(name) {
        Err(format!(
            "`${name}` is defined in another list (a fork's child or its parent) and is not visible here"
        ))
    } else {
        Err(format!("`${name}` is not defined by an earlier step{hint}"))
    }
}

/// Where a TOML error that comes without a place (a key of more than 80 parts, say) is: the start
/// of the first line by which the file, read up to there, fails the same way. The start of the
/// file when no prefix does.
fn first_failing_line(text: &str, message: &str) -> usize {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let end_of = |line: usize| starts.get(line + 1).copied().unwrap_or(text.len());
    let fails = |line: usize| {
        text[..end_of(line)]
            .parse::<toml::Table>()
            .is_err_and(|e| e.message() == message)
    };
    let (mut lo, mut hi) = (0, starts.len() - 1);
    if !fails(hi) {
        return 0;
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    starts[hi]
}

/// Adds the nearest field to serde's "unknown field `expct`, expected one of `id`, ..." message.
fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match names::nearest(field, known.iter().copied()).first() {
        Some(best) => format!(
            "unknown field `{field}`; did you mean `{best}`? (known: {})",
            known.join(", ")
        ),
        None => message.to_string(),
    }
}

pub(super) fn unknown(what: &str, name: &str, near: &[&str]) -> String {
    match near.first() {
        Some(n) => format!("unknown {what} `{name}`; did you mean `{n}`?"),
        None => format!("unknown {what} `{name}`"),
    }
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Arguments that are strings with a fixed set of values.
fn check_text(call: Call, arg: &str, value: &str) -> Result<(), String> {
    match (call, arg) {
        (Call::File, "pattern") if value != "page-number" => Err(format!(
            "unknown pattern `{value}`; the pattern is \"page-number\""
        )),
        (Call::Pipe, "end") if value != "read" && value != "write" => {
            Err(format!("`end` is \"read\" or \"write\", not `{value}`"))
        }
        (Call::File, "name") | (Call::Open, "path") if value.is_empty() => {
            Err("may not be empty".into())
        }
        (Call::Locate, "what") => one_of_words("what", value, super::vocab::LOCATE_WHAT),
        (Call::Selftest, "act") => one_of_words("act", value, super::vocab::SELFTEST_ACTS),
        _ => Ok(()),
    }
}

fn one_of_words(arg: &str, value: &str, known: &[&str]) -> Result<(), String> {
    if known.contains(&value) {
        return Ok(());
    }
    let near = crate::names::nearest(value, known.iter().copied());
    let hint = near
        .first()
        .map(|n| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    Err(format!(
        "unknown {arg} `{value}`; {hint}`{arg}` is one of {}",
        known.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Case>, Vec<Diagnostic>> {
        load_bytes(text.as_bytes())
    }

    fn load_bytes(bytes: &[u8]) -> Result<Vec<Case>, Vec<Diagnostic>> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mmap").join("t.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, bytes).unwrap();
        load_file(dir.path(), &file)
    }

    fn errors(text: &str) -> Vec<String> {
        errors_of_bytes(text.as_bytes())
    }

    fn errors_of_bytes(bytes: &[u8]) -> Vec<String> {
        load_bytes(bytes)
            .expect_err("the case should not load")
            .into_iter()
            .map(|d| format!("{}:{} {}: {}", d.line, d.col, d.field, d.message))
            .collect()
    }

    const HEAD: &str = "summary = \"s\"\nsymbols = [\"mmap\"]\nrefs = [\"mmap(2)\"]\n";

    #[test]
    fn a_good_case_compiles() {
        let cases = load(&format!(
            "{HEAD}[[step]]\nid = \"m\"\ncall = \"mmap\"\nargs = {{ len = \"2*PAGE\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }}\n\
             [[step]]\ncall = \"mprotect\"\nargs = {{ addr = \"$m+1\", len = \"PAGE\", prot = \"PROT_NONE\" }}\nexpect = {{ errno = \"EINVAL\" }}\n"
        ))
        .unwrap();
        assert_eq!(cases.len(), 1);
        let c = &cases[0];
        assert_eq!(c.id, "mmap/t");
        assert_eq!(c.plan.steps.len(), 2);
        assert_eq!(c.plan.steps[1].line, 9);
        assert!(matches!(c.plan.steps[1].expect[0].outcome, Outcome::Errno(ref v) if v == &[22]));
        assert_eq!(c.plan.steps[1].expect[0].text, "errno = \"EINVAL\"");
    }

    #[test]
    fn filesystems_make_variants() {
        let cases = load(&format!(
            "{HEAD}requires = {{ fs = [\"tmpfs\", \"ext4\"] }}\n[[step]]\ncall = \"dir\"\n"
        ))
        .unwrap();
        let ids: Vec<_> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["mmap/t@tmpfs", "mmap/t@ext4"]);
    }

    #[test]
    fn unknown_flag_suggests() {
        assert_eq!(
            errors(&format!(
                "{HEAD}[[step]]\ncall = \"mmap\"\nargs = {{ len = 1, prot = \"PROT_RAED\", flags = \"MAP_PRIVATE\" }}\n"
            )),
            ["6:27 step 1 (mmap) args.prot: unknown name `PROT_RAED`; did you mean `PROT_READ`?"]
        );
    }

    #[test]
    fn every_error_is_reported() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"mmapp\"\n[[step]]\ncall = \"munmap\"\nargs = {{ addr = \"$nope\", length = 1 }}\nexpect = {{ errno = \"EINVAL2\" }}\n"
        ));
        assert_eq!(errs.len(), 5, "{errs:#?}");
        assert!(errs[0].contains("unknown call `mmapp`; did you mean `mmap`?"));
        assert!(errs
            .iter()
            .any(|e| e.contains("takes no argument `length`; did you mean `len`?")));
        assert!(errs.iter().any(|e| e.contains("`$nope` is not defined")));
        assert!(errs
            .iter()
            .any(|e| e.contains("unknown errno `EINVAL2`; did you mean `EINVAL`?")));
    }

    #[test]
    fn duplicate_ids_and_missing_waits() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\nid = \"a\"\ncall = \"dir\"\n[[step]]\nid = \"a\"\ncall = \"dir\"\n\
             [[step]]\nid = \"p\"\ncall = \"fork\"\n[[step.child]]\ncall = \"dir\"\n"
        ));
        assert!(
            errs.iter()
                .any(|e| e.starts_with("8:6 step 2 (dir) id: duplicate id `a`")),
            "{errs:#?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("has no `wait`")),
            "{errs:#?}"
        );
    }

    #[test]
    fn toml_errors_keep_their_place() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"dir\"\nexpct = {{ ok = true }}\n"
        ));
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("6:1 : unknown field `expct`; did you mean `expect`?"),
            "{errs:#?}"
        );
    }

    #[test]
    fn checks_must_fit_the_call() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"dir\"\nexpect = {{ text = \"x\" }}\n"
        ));
        assert!(
            errs[0].contains("`dir` does not observe `text`"),
            "{errs:#?}"
        );
    }

    // What tests/fuzz_loader.rs found: each was a panic, a stack overflow or a diagnostic
    // without its place.

    #[test]
    fn a_file_that_is_not_utf8_names_the_byte() {
        let mut bytes = HEAD.as_bytes().to_vec();
        bytes.extend(b"note = \"caf\xe9\"\n");
        let errs = errors_of_bytes(&bytes);
        assert_eq!(
            errs,
            ["4:12 : byte 0xe9 is not UTF-8 text; case files are UTF-8"]
        );
    }

    #[test]
    fn a_toml_error_without_a_place_gets_its_line() {
        // TOML refuses keys of more than 80 parts, and does not say where.
        let key = vec!["a"; 100].join(".");
        let errs = errors(&format!("{HEAD}\n[{key}]\nx = 1\n"));
        assert_eq!(errs, ["5:1 : recursion limit"], "{errs:#?}");
    }

    #[test]
    fn the_line_shown_has_no_carriage_return_or_control_characters() {
        let diags = load(&format!("{HEAD}timeout = 0\r\nnote = \"a\u{1b}[31m\"\r\n"))
            .expect_err("the case should not load");
        assert_eq!(diags[0].source_line, "note = \"a\u{fffd}[31m\"");
        assert_eq!((diags[0].line, diags[0].col), (5, 10));
        let diags = load(&format!(
            "{HEAD}timeout = 0\r\n[[step]]\r\ncall = \"dir\"\r\n"
        ))
        .expect_err("the case should not load");
        assert_eq!(diags[0].source_line, "timeout = 0");
        // A message quoting the case escapes what it quotes.
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"let\"\nid = \"x\"\nargs = {{ value = \"1+\\u001b[2J\" }}\n"
        ));
        assert_eq!(
            errs,
            ["7:21 step 1 (let) args.value: expected a value, found `\\u{1b}[2J`"]
        );
    }

    #[test]
    fn hex_that_is_not_ascii_is_an_error() {
        for (hex, bad) in [
            ("é1", "é1"),
            ("41 +f", "+f"),
            ("\u{feff}==(1)", "\u{feff}="),
        ] {
            let errs = errors(&format!(
                "{HEAD}[[step]]\nid = \"f\"\ncall = \"file\"\nargs = {{ size = 1 }}\n\
                 [[step]]\ncall = \"read\"\nargs = {{ fd = \"$f\", len = 1 }}\nexpect = {{ hex = \"{hex}\" }}\n"
            ));
            assert_eq!(errs.len(), 1, "{errs:#?}");
            assert!(
                errs[0].ends_with(&format!("`{bad}` is not a hex byte")),
                "{errs:#?}"
            );
        }
    }

    #[test]
    fn expression_errors_point_into_escaped_and_multiline_strings() {
        let step = |args: &str, expect: &str| {
            format!(
                "{HEAD}[[step]]\ncall = \"mmap\"\nargs = {{ {args} }}\nexpect = {{ {expect} }}\n"
            )
        };
        let ok_args = "len = 1, prot = 0, flags = 0";
        // An escape before the error makes the value shorter than its source.
        let errs = errors(&step(
            r#"len = "\u0031\u0031+ PAGE_", prot = 0, flags = 0"#,
            "ok = true",
        ));
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].starts_with("6:31 "), "{errs:#?}");
        // Unicode whitespace before a comparison, after an escape: this one panicked.
        let errs = errors(&step(ok_args, "ret = \"\\t\u{3000}é\""));
        assert!(errs[0].starts_with("7:22 "), "{errs:#?}");
        assert!(
            errs[0].ends_with("expected a value, found `é`"),
            "{errs:#?}"
        );
        // A multi-line string with a line-ending backslash: the error is on the next line.
        let errs = errors(&step(
            "len = 1, prot = \"\"\"\nPROT_READ|\\\n    PROT_RAED\"\"\", flags = 0",
            "ok = true",
        ));
        assert!(
            errs[0].starts_with("8:5 step 1 (mmap) args.prot: unknown name `PROT_RAED`"),
            "{errs:#?}"
        );
        // A literal string is its source.
        let errs = errors(&step("len = 'PAGE+é', prot = 0, flags = 0", "ok = true"));
        assert!(errs[0].starts_with("6:22 "), "{errs:#?}");
    }

    #[test]
    fn a_deeply_nested_expression_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"let\"\nid = \"x\"\nargs = {{ value = \"{deep}\" }}\n"
        ));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].contains("nests more than 64"), "{errs:#?}");
        let long = format!("1{}", "+1".repeat(10_000));
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"let\"\nid = \"x\"\nargs = {{ value = \"{long}\" }}\n"
        ));
        assert!(errs[0].contains("more than 256 operators"), "{errs:#?}");
    }

    #[test]
    fn timeouts_and_exit_statuses_are_in_range() {
        let errs = errors(&format!(
            "{HEAD}timeout = 18446744073709551615\n[[step]]\ncall = \"dir\"\n"
        ));
        assert_eq!(
            errs,
            ["4:11 timeout: `timeout` is in seconds, from 1 to 3600"]
        );
        let errs = errors(&format!(
            "{HEAD}[[step]]\nid = \"p\"\ncall = \"fork\"\n[[step.child]]\ncall = \"dir\"\n\
             [[step]]\ncall = \"wait\"\nargs = {{ pid = \"$p\" }}\nexpect = {{ exit = 256 }}\n"
        ));
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(
            errs[0].ends_with("`exit = 256` can never be seen: an exit status is 0 to 255"),
            "{errs:#?}"
        );
    }

    #[test]
    fn a_fork_without_wait_is_reported_at_the_fork() {
        let errs = errors(&format!(
            "{HEAD}[[step]]\ncall = \"dir\"\n[[step]]\nid = \"p\"\ncall = \"fork\"\n[[step.child]]\ncall = \"dir\"\n"
        ));
        assert_eq!(
            errs,
            ["8:8 step 2: the fork at step 2 has no `wait` later in the same list"]
        );
    }
}
