//! Compiling a step's contract (`expect`, `expect-if`): the outcome it must have and the data
//! checks its call allows, every problem reported with its line like the rest of the loader.

use super::diag::unknown;
use super::expr::{Expr, Op};
use super::load::{Loader, Names};
use super::plan::*;
use super::schema::{ExpectSpec, OneOrMany, StepSpec, Value};
use super::steps::resolve_name;
use super::vocab::{self, Call};
use crate::names;
use crate::version::Range;
use std::ops::Range as Span;
use toml::Spanned;

impl Loader<'_> {
    pub(super) fn expectations(
        &mut self,
        spec: &StepSpec,
        call: &'static vocab::CallSpec,
        field: &str,
        names: &Names,
    ) -> Vec<Expectation> {
        let mut out = Vec::new();
        for e in &spec.expect_if {
            let f = format!("{field} expect-if");
            match &e.get_ref().kernel {
                Some(_) => out.extend(self.expectation(e, call, &f, names)),
                None => self.error(
                    e.span(),
                    &f,
                    "every `expect-if` needs `kernel`, the range it applies to".into(),
                ),
            }
        }
        match &spec.expect {
            Some(e) => {
                if let Some(k) = &e.get_ref().kernel {
                    self.error(
                        k.span(),
                        &format!("{field} expect.kernel"),
                        "`kernel` belongs in `[[step.expect-if]]`; `expect` is the contract for every other kernel"
                            .into(),
                    );
                }
                out.extend(self.expectation(e, call, &format!("{field} expect"), names));
            }
            None => out.push(Expectation {
                kernel: None,
                outcome: if call.call == Call::Wait {
                    Outcome::Exit(0)
                } else {
                    Outcome::Success(None)
                },
                checks: Vec::new(),
                explicit: false,
                text: if call.call == Call::Wait {
                    "exit 0"
                } else {
                    "ok"
                }
                .into(),
            }),
        }
        out
    }

    fn expectation(
        &mut self,
        spanned: &Spanned<ExpectSpec>,
        call: &'static vocab::CallSpec,
        field: &str,
        names: &Names,
    ) -> Option<Expectation> {
        let e = spanned.get_ref();
        let resolve = |name: &str| resolve_name(names, name);
        let before = self.diags.len();
        let kernel = e
            .kernel
            .as_ref()
            .and_then(|k| match Range::parse(k.get_ref()) {
                Ok(r) => Some(r),
                Err(msg) => {
                    self.error(k.span(), &format!("{field}.kernel"), msg);
                    None
                }
            });

        let is_wait = call.call == Call::Wait;
        let outcomes = [
            e.ok.is_some() || e.ret.is_some(),
            e.errno.is_some(),
            e.signal.is_some(),
            e.exit.is_some(),
        ];
        if outcomes.iter().filter(|b| **b).count() > 1 {
            self.error(
                spanned.span(),
                field,
                "give one outcome: `ok`/`ret`, `errno`, `signal` or `exit`".into(),
            );
        }
        if let (Some(exit), false) = (&e.exit, is_wait) {
            self.error(
                exit.span(),
                &format!("{field}.exit"),
                "`exit` is the outcome of a `wait`".into(),
            );
        }
        if let Some(exit) = e.exit.as_ref().filter(|x| !(0..=255).contains(x.get_ref())) {
            self.error(
                exit.span(),
                &format!("{field}.exit"),
                format!(
                    "`exit = {}` can never be seen: an exit status is 0 to 255",
                    exit.get_ref()
                ),
            );
        }
        if let Some(why) = &e.why {
            if !matches!(
                e.errno.as_ref().map(|x| x.get_ref()),
                Some(OneOrMany::Many(_))
            ) {
                self.error(
                    why.span(),
                    &format!("{field}.why"),
                    "`why` explains an `errno` list; a single errno needs none".into(),
                );
            }
        }
        if let Some(ok) = &e.ok {
            if !ok.get_ref() {
                self.error(
                    ok.span(),
                    &format!("{field}.ok"),
                    "`ok = false` says too little: name the failure with `errno = \"...\"`".into(),
                );
            }
        }
        if is_wait && (e.si_code.is_some() || e.addr.is_some()) {
            self.error(
                spanned.span(),
                field,
                "a `wait` checks how the child ended: `exit` or `signal`, without si-code or addr"
                    .into(),
            );
        }
        if e.signal.is_none() && (e.si_code.is_some() || e.addr.is_some()) {
            self.error(
                spanned.span(),
                field,
                "`si-code` and `addr` describe a `signal`; add `signal = \"SIGSEGV\"` (or SIGBUS)"
                    .into(),
            );
        }

        let signal = e
            .signal
            .as_ref()
            .and_then(|s| match names::signal_value(s.get_ref()) {
                Some(v) => Some(v),
                None => {
                    let near = names::nearest(s.get_ref(), names::SIGNALS.iter().map(|(n, _)| *n));
                    self.error(
                        s.span(),
                        &format!("{field}.signal"),
                        unknown("signal", s.get_ref(), &near),
                    );
                    None
                }
            });
        let outcome = if let Some(errno) = &e.errno {
            let list: Vec<&String> = match errno.get_ref() {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v.iter().collect(),
            };
            if list.len() > 1 && e.why.is_none() {
                self.error(
                    errno.span(),
                    &format!("{field}.errno"),
                    "several errnos need `why`: say which cause gives which".into(),
                );
            }
            let mut values = Vec::new();
            for name in list {
                match names::errno_value(name) {
                    Some(v) => values.push(v),
                    None => {
                        let near = names::nearest(name, names::ERRNOS.iter().map(|(n, _)| *n));
                        self.error(
                            errno.span(),
                            &format!("{field}.errno"),
                            unknown("errno", name, &near),
                        );
                    }
                }
            }
            Outcome::Errno(values)
        } else if let Some(signo) = signal {
            if is_wait {
                Outcome::Killed(signo)
            } else {
                let code =
                    e.si_code
                        .as_ref()
                        .and_then(|c| match names::si_code_value(c.get_ref()) {
                            Some((sig, v)) if sig.is_none_or(|s| s == signo) => Some(v),
                            Some(_) => {
                                self.error(
                                    c.span(),
                                    &format!("{field}.si-code"),
                                    format!(
                                        "`{}` is not a code of {}",
                                        c.get_ref(),
                                        names::signal_name(signo)
                                    ),
                                );
                                None
                            }
                            None => {
                                let near = names::nearest(
                                    c.get_ref(),
                                    names::SI_CODES.iter().map(|(n, _, _)| *n),
                                );
                                self.error(
                                    c.span(),
                                    &format!("{field}.si-code"),
                                    unknown("si_code", c.get_ref(), &near),
                                );
                                None
                            }
                        });
                let addr = e
                    .addr
                    .as_ref()
                    .and_then(|a| self.value_expr(a, &[], &format!("{field}.addr"), &resolve));
                Outcome::Signal { signo, code, addr }
            }
        } else if let Some(exit) = &e.exit {
            Outcome::Exit(*exit.get_ref() as i32)
        } else if let Some(ret) = &e.ret {
            Outcome::Success(self.compare(ret, &format!("{field}.ret"), &resolve))
        } else if is_wait {
            Outcome::Exit(0)
        } else {
            Outcome::Success(None)
        };

        let mut checks = Vec::new();
        let allow = |this: &mut Self, name: &str, span: Span<usize>| -> bool {
            if call.checks.contains(&name) {
                true
            } else {
                let what = if call.checks.is_empty() {
                    "only its outcome".to_string()
                } else {
                    call.checks.join(", ")
                };
                this.error(
                    span,
                    &format!("{field}.{name}"),
                    format!(
                        "`{}` does not observe `{name}`; its expect may check {what}",
                        call.name
                    ),
                );
                false
            }
        };
        if let Some(t) = &e.text {
            if allow(self, "text", t.span()) {
                checks.push(Check::Bytes(t.get_ref().as_bytes().to_vec()));
            }
        }
        if let Some(h) = &e.hex {
            if allow(self, "hex", h.span()) {
                match parse_hex(h.get_ref()) {
                    Ok(bytes) => checks.push(Check::Bytes(bytes)),
                    Err(msg) => self.error(h.span(), &format!("{field}.hex"), msg),
                }
            }
        }
        if let Some(b) = &e.byte {
            if allow(self, "byte", b.span()) {
                if let Some(x) = self.value_expr(b, &[], &format!("{field}.byte"), &resolve) {
                    checks.push(Check::EveryByte(x));
                }
            }
        }
        type MakeCheck = fn(Compare) -> Check;
        let compares: [(&str, &Option<Spanned<Value>>, MakeCheck); 4] = [
            ("size", &e.size, Check::Size),
            ("blocks", &e.blocks, Check::Blocks),
            ("minflt", &e.minflt, Check::Minflt),
            ("majflt", &e.majflt, Check::Majflt),
        ];
        for (name, value, make) in compares {
            if let Some(v) = value {
                if allow(self, name, v.span()) {
                    if let Some(c) = self.compare(v, &format!("{field}.{name}"), &resolve) {
                        checks.push(make(c));
                    }
                }
            }
        }
        if let Some(r) = &e.resident {
            if allow(self, "resident", r.span()) {
                let bits: Option<Vec<bool>> = r
                    .get_ref()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .map(|c| match c {
                        '1' => Some(true),
                        '0' => Some(false),
                        _ => None,
                    })
                    .collect();
                match bits {
                    Some(b) => checks.push(Check::Resident(b)),
                    None => self.error(
                        r.span(),
                        &format!("{field}.resident"),
                        "`resident` is one `1` or `0` per page, like \"1101\"".into(),
                    ),
                }
            }
        }
        if let Some(q) = &e.equal {
            if allow(self, "equal", q.span()) {
                checks.push(Check::Equal(*q.get_ref()));
            }
        }
        if let Some(flags) = &e.vmflags {
            if allow(self, "vmflags", flags.span()) {
                let mut parsed = Vec::new();
                for token in flags.get_ref().split_whitespace() {
                    let sign = match token.chars().next() {
                        Some('+') => Some(true),
                        Some('-') => Some(false),
                        _ => None,
                    };
                    let name = token.get(1..).unwrap_or("");
                    let well_formed = name.len() == 2
                        && name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
                    if let (Some(present), true) = (sign, well_formed) {
                        parsed.push((name.to_string(), present));
                    } else {
                        self.error(
                            flags.span(),
                            &format!("{field}.vmflags"),
                            format!("`{token}` is not +XX or -XX with a two-letter smaps VmFlags name, like +lo or -dc"),
                        );
                    }
                }
                checks.push(Check::VmFlags(parsed));
            }
        }
        let byte_counts: [(&str, &Option<Spanned<Value>>, MakeCheck); 7] = [
            ("rss", &e.rss, Check::Rss),
            ("locked", &e.locked, Check::Locked),
            ("anon-huge", &e.anon_huge, Check::AnonHuge),
            (
                "kernel-page-size",
                &e.kernel_page_size,
                Check::KernelPageSize,
            ),
            ("mmu-page-size", &e.mmu_page_size, Check::MmuPageSize),
            ("pkey", &e.pkey, Check::Pkey),
            ("iterations", &e.iterations, Check::Iterations),
        ];
        for (name, value, make) in byte_counts {
            if let Some(v) = value {
                if name == "iterations" || allow(self, name, v.span()) {
                    if let Some(c) = self.compare(v, &format!("{field}.{name}"), &resolve) {
                        checks.push(make(c));
                    }
                }
            }
        }
        if let Some(pm) = &e.pagemap {
            if allow(self, "pagemap", pm.span()) {
                let f = format!("{field}.pagemap");
                match pm.get_ref() {
                    OneOrMany::One(text) => {
                        if let Some(flags) = self.pagemap_flags(text, pm.span(), &f) {
                            checks.push(Check::Pagemap(PagemapWant::Every(flags)));
                        }
                    }
                    OneOrMany::Many(pages) => {
                        let parsed: Vec<_> = pages
                            .iter()
                            .map(|t| self.pagemap_flags(t, pm.span(), &f))
                            .collect();
                        if let Some(pages) = parsed.into_iter().collect::<Option<Vec<_>>>() {
                            checks.push(Check::Pagemap(PagemapWant::Pages(pages)));
                        }
                    }
                }
            }
        }
        if let Some(ev) = &e.event {
            if allow(self, "event", ev.span()) {
                match names::constant(ev.get_ref()).filter(|k| k.family == names::Family::UffdEvent)
                {
                    Some(k) => checks.push(Check::UffdEvent(k.value)),
                    None => {
                        let near = names::nearest(
                            ev.get_ref(),
                            names::CONSTANTS
                                .iter()
                                .filter(|k| k.family == names::Family::UffdEvent)
                                .map(|k| k.name),
                        );
                        self.error(
                            ev.span(),
                            &format!("{field}.event"),
                            unknown("userfaultfd event", ev.get_ref(), &near),
                        );
                    }
                }
            }
        }
        if let Some(ff) = &e.fault_flags {
            if allow(self, "fault-flags", ff.span()) {
                if let Some(x) = self.value_expr(
                    ff,
                    &[names::Family::UffdFault],
                    &format!("{field}.fault-flags"),
                    &resolve,
                ) {
                    checks.push(Check::FaultFlags(x));
                }
            }
        }
        if let Some(v) = &e.seals {
            if allow(self, "seals", v.span()) {
                let f = format!("{field}.seals");
                if let Some(x) = self.value_expr(v, &[names::Family::Seal], &f, &resolve) {
                    checks.push(Check::Seals(x));
                }
            }
        }
        type MakeTimeCheck = fn(Compare, usize) -> Check;
        let times: [(&str, &Option<Spanned<Value>>, MakeTimeCheck); 2] = [
            ("mtime", &e.mtime, Check::Mtime),
            ("ctime", &e.ctime, Check::Ctime),
        ];
        for (name, value, make) in times {
            let Some(v) = value else { continue };
            if !allow(self, name, v.span()) {
                continue;
            }
            let f = format!("{field}.{name}");
            if let Some(c) = self.compare(v, &f, &resolve) {
                match c.rhs {
                    Expr::Ref(_, slot) => checks.push(make(c, slot)),
                    _ => self.error(
                        v.span(),
                        &f,
                        format!(
                            "`{name}` compares with an earlier `stat` step, by its name alone: \
                             `{name} = \">$before\"` (later), `\"$before\"` (the same); a time \
                             itself differs every run"
                        ),
                    ),
                }
            }
        }
        if let Some(maps) = &e.maps {
            if allow(self, "maps", maps.span()) {
                let mut lines = Vec::new();
                for (i, m) in maps.get_ref().iter().enumerate() {
                    let f = format!("{field}.maps[{i}]");
                    let m = m.get_ref();
                    let perms = m.perms.get_ref();
                    let valid = perms.len() == 4
                        && perms
                            .chars()
                            .zip(["r-", "w-", "x-", "ps"])
                            .all(|(c, ok)| ok.contains(c));
                    if !valid {
                        self.error(
                            m.perms.span(),
                            &format!("{f}.perms"),
                            format!("`{perms}` is not a maps permission field like \"rw-p\" or \"r--s\""),
                        );
                    }
                    let start = self.value_expr(&m.start, &[], &format!("{f}.start"), &resolve);
                    let end = self.value_expr(&m.end, &[], &format!("{f}.end"), &resolve);
                    let offset = m
                        .offset
                        .as_ref()
                        .and_then(|o| self.value_expr(o, &[], &format!("{f}.offset"), &resolve));
                    if let (Some(start), Some(end)) = (start, end) {
                        lines.push(MapsLine {
                            start,
                            end,
                            perms: perms.clone(),
                            offset,
                            path: m.path.as_ref().map(|p| p.get_ref().clone()),
                        });
                    }
                }
                checks.push(Check::Maps(lines));
            }
        }
        if self.diags.len() > before {
            return None;
        }
        Some(Expectation {
            kernel,
            outcome,
            checks,
            text: contract_text(&self.text[spanned.span()]),
            explicit: true,
        })
    }

    /// `"+present -exclusive"`: each pagemap flag by name, set (+) or clear (-).
    fn pagemap_flags(
        &mut self,
        text: &str,
        span: Span<usize>,
        field: &str,
    ) -> Option<Vec<(u64, bool)>> {
        let mut out = Vec::new();
        let before = self.diags.len();
        for token in text.split_whitespace() {
            let signed = match (token.strip_prefix('+'), token.strip_prefix('-')) {
                (Some(name), _) => Some((true, name)),
                (_, Some(name)) => Some((false, name)),
                _ => None,
            };
            let (set, name) = signed.unwrap_or((false, token));
            match names::pagemap_flag(name).filter(|_| signed.is_some()) {
                Some(bit) => out.push((bit, set)),
                None if names::pagemap_flag(name).is_some() => self.error(
                    span.clone(),
                    field,
                    format!("`{name}` needs a sign: +{name} (set) or -{name} (clear)"),
                ),
                None => {
                    let near = names::nearest(name, names::PAGEMAP_FLAGS.iter().map(|(n, _)| *n));
                    let mut msg = format!(
                        "`{token}` is not +NAME or -NAME with a pagemap flag ({})",
                        names::PAGEMAP_FLAGS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    if let Some(n) = near.first() {
                        msg.push_str(&format!("; did you mean `{n}`?"));
                    }
                    self.error(span.clone(), field, msg);
                }
            }
        }
        if out.is_empty() && self.diags.len() == before {
            self.error(
                span,
                field,
                "name at least one flag, like \"+present\"".into(),
            );
        }
        (self.diags.len() == before).then_some(out)
    }

    fn compare(
        &mut self,
        v: &Spanned<Value>,
        field: &str,
        resolve: &dyn Fn(&str) -> Result<usize, String>,
    ) -> Option<Compare> {
        let (op, rest, skip) = match v.get_ref() {
            Value::Str(s) => {
                let t = s.trim_start();
                let lead = s.len() - t.len();
                let (op, len) = [
                    (">=", Op::Ge),
                    ("<=", Op::Le),
                    ("!=", Op::Ne),
                    (">", Op::Gt),
                    ("<", Op::Lt),
                    ("=", Op::Eq),
                ]
                .iter()
                .find(|(p, _)| t.starts_with(p))
                .map_or((Op::Eq, 0), |(p, op)| (*op, p.len()));
                (op, s[lead + len..].to_string(), lead + len)
            }
            Value::Int(i) => (Op::Eq, i.to_string(), usize::MAX),
            Value::Bool(_) => {
                self.error(
                    v.span(),
                    field,
                    "expected a number or a comparison like \">0\"".into(),
                );
                return None;
            }
        };
        let text = match v.get_ref() {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(_) => unreachable!(),
        };
        let rhs = if skip == usize::MAX {
            Some(Expr::Num(text.parse::<i64>().unwrap_or(0) as u64))
        } else {
            self.expr_at(&rest, v.span(), skip, &[], field, resolve)
        }?;
        Some(Compare { op, rhs, text })
    }
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err("`hex` needs two digits per byte, like \"41 42 00\"".into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let byte: String = pair.iter().collect();
            // Two hex digits and nothing else: from_str_radix alone would take `+f`.
            match pair.iter().all(char::is_ascii_hexdigit) {
                true => Ok(u8::from_str_radix(&byte, 16).expect("two hex digits")),
                false => Err(format!("`{byte}` is not a hex byte")),
            }
        })
        .collect()
}

/// `{ errno = "EINVAL" }` as `errno = "EINVAL"`, for messages.
fn contract_text(source: &str) -> String {
    let s = source.trim();
    let s = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(s);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
