//! Compiling a case's steps: calls, arguments and `$names` checked against the vocabulary,
//! forks paired with their waits.

use super::diag::offset_in_string;
use super::expr::{self, Context, Expr};
use super::load::{Loader, Names};
use super::plan::*;
use super::schema::{StepSpec, Value};
use super::vocab::{self, Call, Kind};
use crate::names::{self, Family};
use std::collections::BTreeMap;
use std::ops::Range as Span;
use toml::Spanned;

impl Loader<'_> {
    pub(super) fn list(
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
            self.times_against_stat(spec, &expect, plan, &field);
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
    /// `mtime` and `ctime` compare with what an earlier `stat` step saw: their `$name` must be
    /// one.
    fn times_against_stat(
        &mut self,
        spec: &StepSpec,
        expect: &[Expectation],
        plan: &Plan,
        field: &str,
    ) {
        for e in expect {
            for c in &e.checks {
                let (Check::Mtime(cmp, slot) | Check::Ctime(cmp, slot)) = c else {
                    continue;
                };
                let by_stat = plan
                    .steps
                    .iter()
                    .any(|s| s.slot == Some(*slot) && s.call == Call::Stat);
                if !by_stat {
                    let span = spec
                        .expect
                        .as_ref()
                        .map(|x| x.span())
                        .or_else(|| spec.expect_if.first().map(|x| x.span()))
                        .unwrap_or_else(|| spec.call.span());
                    self.error(
                        span,
                        &format!("{field} expect"),
                        format!(
                            "`{}` names no `stat` step: times compare with an earlier `stat` \
                             step's",
                            cmp.text.trim_start_matches(['<', '>', '=', '!'])
                        ),
                    );
                }
            }
        }
    }

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

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Arguments that are strings with a fixed set of values.
fn check_text(call: Call, arg: &str, value: &str) -> Result<(), String> {
    match (call, arg) {
        (Call::File, "pattern") if value != "page-number" && value != "ret" => Err(format!(
            "unknown pattern `{value}`; the patterns are \"page-number\" and \"ret\""
        )),
        (Call::Store | Call::Write, "code") if value != "ret" => Err(format!(
            "unknown code `{value}`; the code a case can store is \"ret\" (this architecture's \
             return instruction)"
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

pub(super) struct ConstScope;

impl expr::Scope for ConstScope {
    fn page(&self) -> u64 {
        crate::sys::page_size()
    }
    fn slot(&self, _: usize) -> Option<u64> {
        None
    }
}

pub(super) fn no_refs(name: &str) -> Result<usize, String> {
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
