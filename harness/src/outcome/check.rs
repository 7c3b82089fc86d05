//! One observation against its contract: what differs, worded in the case's symbols.

use super::regions::Regions;
use super::symbols;
use crate::case::plan::{Check, Expectation, Outcome, PagemapWant, Step};
use crate::names::{self, Family};
use crate::wire::{Bytes, Data, Obs};

/// Compares one observation with its contract; `Some` says what differs.
pub fn check(
    step: &Step,
    contract: &Expectation,
    obs: &Obs,
    iterations: Option<u64>,
    env: &Regions,
) -> Option<String> {
    if let Obs::NotRun { reason } = obs {
        return Some(format!("did not run: {reason}"));
    }
    let expected = || symbols::contract(contract);
    let observed = || symbols::obs(obs, env);
    let differ = || Some(format!("expected {}, observed {}", expected(), observed()));
    match (&contract.outcome, obs) {
        (Outcome::Success(want), Obs::Ok { value, .. }) => {
            if let Some(want) = want {
                match want.rhs.eval(env) {
                    Ok(w) if want.holds(*value, w) => {}
                    Ok(_) => return differ(),
                    Err(e) => return Some(format!("the contract cannot be evaluated: {e}")),
                }
            }
        }
        (Outcome::Errno(list), Obs::Err { errno }) if list.contains(errno) => {}
        (
            Outcome::Signal { signo, code, addr },
            Obs::Fault {
                signo: s,
                code: c,
                addr: a,
            },
        ) => {
            if signo != s || code.is_some_and(|code| code != *c) {
                return differ();
            }
            if let Some(addr) = addr {
                match addr.eval(env) {
                    Ok(want) if want == *a => {}
                    Ok(want) => {
                        return Some(format!(
                            "expected the fault at {}, observed it at {}",
                            symbols::address(want, env),
                            symbols::address(*a, env)
                        ))
                    }
                    Err(e) => return Some(format!("the contract cannot be evaluated: {e}")),
                }
            }
        }
        (
            Outcome::Exit(want),
            Obs::Ok {
                data: Some(Data::Exited(code)),
                ..
            },
        ) if want == code => {}
        (
            Outcome::Killed(want),
            Obs::Ok {
                data: Some(Data::Killed(sig)),
                ..
            },
        ) if want == sig => {}
        _ => return differ(),
    }
    let data = match obs {
        Obs::Ok { data, .. } => data.as_ref(),
        _ => None,
    };
    for c in &contract.checks {
        let m = match c {
            Check::Iterations(cmp) => compare("iterations", cmp, iterations.unwrap_or(1), env),
            _ => check_data(step, c, data, env),
        };
        if m.is_some() {
            return m;
        }
    }
    None
}

fn check_data(step: &Step, check: &Check, data: Option<&Data>, env: &Regions) -> Option<String> {
    let eval = |e: &crate::case::expr::Expr| {
        e.eval(env)
            .map_err(|e| format!("the contract cannot be evaluated: {e}"))
    };
    match (check, data) {
        (Check::Bytes(want), Some(Data::Bytes(got))) => (got.to_vec() != *want).then(|| {
            format!(
                "expected bytes {}, read {}",
                symbols::bytes(&Bytes::of(want)),
                symbols::bytes(got)
            )
        }),
        (Check::EveryByte(want), Some(Data::Bytes(got))) => {
            let want = match eval(want) {
                Ok(w) => w as u8,
                Err(e) => return Some(e),
            };
            match (0..got.len()).find(|&i| got.get(i) != Some(want)) {
                None if !got.is_empty() => None,
                None => Some("expected bytes, read none".into()),
                Some(i) => Some(format!(
                    "expected every byte to be {want:#04x}, but byte {i} is {:#04x} (read {})",
                    got.get(i).unwrap_or(0),
                    symbols::bytes(got)
                )),
            }
        }
        (Check::Maps(want), Some(Data::Maps(got))) => {
            let mut expected = Vec::new();
            for line in want {
                match (eval(&line.start), eval(&line.end)) {
                    (Ok(s), Ok(e)) => {
                        let offset = match line.offset.as_ref().map(eval) {
                            Some(Ok(o)) => Some(o),
                            Some(Err(e)) => return Some(e),
                            None => None,
                        };
                        expected.push((s, e, line.perms.clone(), offset, line.path.clone()));
                    }
                    (Err(e), _) | (_, Err(e)) => return Some(e),
                }
            }
            let same = expected.len() == got.len()
                && expected.iter().zip(got).all(|((s, e, p, o, path), g)| {
                    *s == g.start
                        && *e == g.end
                        && *p == g.perms
                        && o.is_none_or(|o| o == g.offset)
                        && path
                            .as_deref()
                            .is_none_or(|want| path_matches(want, &g.path))
                });
            (!same).then(|| {
                let paths = expected.iter().any(|x| x.4.is_some());
                let want: Vec<String> = expected
                    .iter()
                    .map(|(s, e, p, o, path)| {
                        let line = symbols::maps_line(*s, *e, p, *o, env);
                        match path {
                            Some(path) => format!("{line} {path:?}"),
                            None => line,
                        }
                    })
                    .collect();
                let observed = if paths {
                    got.iter()
                        .map(|g| {
                            let offset = g.path.starts_with('/').then_some(g.offset);
                            // Only the last component of a file's path: scratch
                            // directories differ from run to run.
                            let shown = match g.path.rsplit_once('/') {
                                Some((_, last)) if g.path.starts_with('/') => format!("…/{last}"),
                                _ => g.path.clone(),
                            };
                            format!(
                                "{} {shown:?}",
                                symbols::maps_line(g.start, g.end, &g.perms, offset, env)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                } else {
                    symbols::maps(got, env)
                };
                format!("expected maps [{}], observed [{observed}]", want.join(", "))
            })
        }
        (Check::Size(c), Some(Data::Stat { size, .. })) => compare("st_size", c, *size, env),
        (Check::Blocks(c), Some(Data::Stat { blocks, .. })) => {
            compare("st_blocks", c, *blocks, env)
        }
        (Check::Minflt(c), Some(Data::Faults { minflt, .. })) => {
            compare("minor faults", c, *minflt, env)
        }
        (Check::Majflt(c), Some(Data::Faults { majflt, .. })) => {
            compare("major faults", c, *majflt, env)
        }
        (Check::Resident(want), Some(Data::Resident(got))) => (want != got).then(|| {
            format!(
                "expected residency {}, observed {}",
                symbols::residency(want),
                symbols::residency(got)
            )
        }),
        (Check::VmFlags(want), Some(Data::Smaps(got))) => {
            if got.is_empty() {
                return Some("no mapping in the range to check VmFlags of".into());
            }
            for m in got {
                for (flag, present) in want {
                    if m.vmflags.contains(flag) != *present {
                        return Some(format!(
                            "expected VmFlags {}{flag} on [{}, {}), observed VmFlags: {}",
                            if *present { "+" } else { "-" },
                            symbols::address(m.start, env),
                            symbols::end_address(m.end, env),
                            m.vmflags.join(" ")
                        ));
                    }
                }
            }
            None
        }
        (Check::Rss(c), Some(Data::Smaps(got))) => {
            compare("Rss (bytes)", c, got.iter().map(|m| m.rss).sum(), env)
        }
        (Check::Locked(c), Some(Data::Status { vmlck })) => match vmlck {
            Some(v) => compare("VmLck (bytes)", c, *v, env),
            None => Some("no VmLck line in /proc/self/status".into()),
        },
        (Check::Locked(c), Some(Data::Smaps(got))) => {
            compare("Locked (bytes)", c, got.iter().map(|m| m.locked).sum(), env)
        }
        (Check::Pagemap(want), Some(Data::Pagemap(got))) => pagemap(step, want, got, env),
        (Check::UffdEvent(want), Some(Data::UffdMessage { event, .. })) => {
            (*want != u64::from(*event)).then(|| {
                format!(
                    "expected event {}, read {}",
                    names::describe_value(Family::UffdEvent, *want),
                    names::describe_value(Family::UffdEvent, u64::from(*event))
                )
            })
        }
        (Check::FaultFlags(want), Some(Data::UffdMessage { flags, .. })) => {
            let want = match eval(want) {
                Ok(w) => w,
                Err(e) => return Some(e),
            };
            (want != *flags).then(|| {
                format!(
                    "expected fault flags {}, read {}",
                    names::describe_value(Family::UffdFault, want),
                    names::describe_value(Family::UffdFault, *flags)
                )
            })
        }
        (Check::Seals(want), Some(Data::Seals(got))) => {
            let want = match eval(want) {
                Ok(w) => w,
                Err(e) => return Some(e),
            };
            (want != *got).then(|| {
                format!(
                    "expected seals {}, observed {}",
                    symbols::seals(want),
                    symbols::seals(*got)
                )
            })
        }
        (Check::Mtime(c, slot), Some(Data::Stat { mtime_ns, .. })) => {
            compare_time("st_mtime", c, *slot, *mtime_ns, |t| t.0, env)
        }
        (Check::Ctime(c, slot), Some(Data::Stat { ctime_ns, .. })) => {
            compare_time("st_ctime", c, *slot, *ctime_ns, |t| t.1, env)
        }
        (Check::AnonHuge(c), Some(Data::Smaps(got))) => compare(
            "AnonHugePages (bytes)",
            c,
            got.iter().map(|m| m.anon_huge).sum(),
            env,
        ),
        (Check::KernelPageSize(c), Some(Data::Smaps(got))) => {
            per_mapping("KernelPageSize", c, got, |m| m.kernel_page, env)
        }
        (Check::MmuPageSize(c), Some(Data::Smaps(got))) => {
            per_mapping("MMUPageSize", c, got, |m| m.mmu_page, env)
        }
        (Check::Pkey(c), Some(Data::Smaps(got))) => {
            per_mapping("ProtectionKey", c, got, |m| m.pkey, env)
        }
        (Check::Equal(want), Some(Data::Diff(diff))) => match (want, diff) {
            (true, None) | (false, Some(_)) => None,
            (true, Some(at)) => Some(format!("the mapping differs from the file at offset {at}")),
            (false, None) => {
                Some("expected the mapping to differ from the file, but they are equal".into())
            }
        },
        (_, _) => Some(format!(
            "`{}` produced no data to check (a harness bug)",
            step.spec.name
        )),
    }
}

/// Each page's pagemap flags against the contract: the same flags for every page, or a list a
/// page (which must then be as long as the range).
fn pagemap(step: &Step, want: &PagemapWant, got: &[u64], env: &Regions) -> Option<String> {
    let page = env.page_size();
    // The entries are of whole pages: the first is the page holding `addr`.
    let base = step.num("addr").and_then(|e| e.eval(env).ok()).unwrap_or(0) & !(page - 1);
    let at = |i: usize| symbols::address(base.wrapping_add(i as u64 * page), env);
    if let PagemapWant::Pages(pages) = want {
        if pages.len() != got.len() {
            return Some(format!(
                "expected pagemap flags for {} pages, the range has {}",
                pages.len(),
                got.len()
            ));
        }
    }
    for (i, entry) in got.iter().enumerate() {
        let flags = match want {
            PagemapWant::Every(f) => f,
            PagemapWant::Pages(p) => &p[i],
        };
        for (bit, set) in flags {
            if (entry & bit != 0) != *set {
                return Some(format!(
                    "expected page {} {}{}, observed pagemap flags: {}",
                    at(i),
                    if *set { "+" } else { "-" },
                    names::pagemap_flags(*bit),
                    names::pagemap_flags(*entry)
                ));
            }
        }
    }
    if got.is_empty() {
        return Some("no page in the range to check pagemap flags of".into());
    }
    None
}

/// A time against the one an earlier `stat` step saw. Only their order is compared, and only
/// the order is worded: the times themselves differ every run.
fn compare_time(
    what: &str,
    c: &crate::case::plan::Compare,
    slot: usize,
    got: i64,
    pick: fn((i64, i64)) -> i64,
    env: &Regions,
) -> Option<String> {
    let name = env.slot_name(slot);
    let Some(then) = env.stat_times(slot).map(pick) else {
        return Some(format!(
            "`${name}` observed no times to compare {what} with (its step failed)"
        ));
    };
    let order = got.cmp(&then) as i64 as u64;
    // -1, 0, 1 as the comparison's operands: `>$s` holds when the order is 1 against 0.
    if c.holds(order.wrapping_add(1), 1) {
        return None;
    }
    let observed = symbols::order_words(got.cmp(&then));
    Some(format!(
        "expected {what} {}, observed {what} {observed} ${name}'s",
        c.text
    ))
}

/// One smaps field of every mapping of the range against the contract (ProtectionKey,
/// KernelPageSize, MMUPageSize); a missing line fails.
fn per_mapping(
    what: &str,
    c: &crate::case::plan::Compare,
    got: &[crate::wire::SmapsEntry],
    pick: fn(&crate::wire::SmapsEntry) -> Option<u64>,
    env: &Regions,
) -> Option<String> {
    if got.is_empty() {
        return Some(format!("no mapping in the range to check the {what} of"));
    }
    got.iter().find_map(|m| {
        let at = format!(
            "[{}, {})",
            symbols::address(m.start, env),
            symbols::end_address(m.end, env)
        );
        match pick(m) {
            None => Some(format!("no {what} line in smaps for {at}")),
            Some(v) => compare(&format!("{what} of {at}"), c, v, env),
        }
    })
}

/// A maps pathname against its contract: exactly, or its end after a leading `*`.
fn path_matches(want: &str, got: &str) -> bool {
    match want.strip_prefix('*') {
        Some(end) => got.ends_with(end),
        None => want == got,
    }
}

fn compare(what: &str, c: &crate::case::plan::Compare, got: u64, env: &Regions) -> Option<String> {
    match c.rhs.eval(env) {
        Ok(want) if c.holds(got, want) => None,
        Ok(_) => Some(format!("expected {what} {}, observed {got}", c.text)),
        Err(e) => Some(format!("the contract cannot be evaluated: {e}")),
    }
}
