//! Compiling a parsed case file: its header, requirements, filesystems and survivors, checked
//! against the vocabulary; the steps are `steps.rs`'s.

use super::diag::unknown;
use super::expr;
use super::load::{Loader, Names, DEFAULT_TIMEOUT, FILESYSTEMS, MAX_TIMEOUT};
use super::plan::*;
use super::schema::{self, CaseFile};
use super::steps::{no_refs, ConstScope};
use super::vocab;
use crate::names::{self, Family};
use crate::version::Range;
use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;
use toml::Spanned;

impl Loader<'_> {
    pub(super) fn case(&mut self, id: &str, f: CaseFile) -> Option<(Case, Vec<String>)> {
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
            pkeys: r.pkeys.unwrap_or(false),
            hugepages: r.hugepages.as_ref().map_or(0, |h| *h.get_ref()),
            ..Default::default()
        };
        for a in &r.arch {
            const ARCHES: &[&str] = &[
                "x86_64", "aarch64", "riscv64", "s390x", "ppc64le", "i686", "um",
            ];
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
}
