//! How an observation reads, in symbols: errno, signal and si_code names, addresses named after
//! the case's regions (by the rule of `regions::Regions::name`), bytes, maps and smaps lines,
//! contracts. Verdicts and snapshots are made of these words, so they live beside the verdict,
//! below every layer that prints.

use crate::case::plan::{Expectation, Outcome};
use crate::names;
use crate::outcome::regions::{Name, Point, Regions};
use crate::wire::{Bytes, Data, MapsEntry, Obs};

pub fn signal_name(signo: i32) -> String {
    names::signal_name(signo)
}

/// `SIGSEGV SEGV_ACCERR`.
pub fn signal(signo: i32, code: i32) -> String {
    format!(
        "{} {}",
        names::signal_name(signo),
        names::si_code_name(signo, code)
    )
}

/// An address relative to a named region: `$m`, `$m+PAGE`, `$h-PAGE`, `$m+2*PAGE+5`, by the rule
/// of `regions::Regions::name`. A rendering only proximity could give is flagged in `env`.
pub fn address(addr: u64, env: &Regions) -> String {
    address_as(addr, Point::At, env)
}

/// The exclusive end of a range: named after the region that holds the byte before it.
pub fn end_address(addr: u64, env: &Regions) -> String {
    address_as(addr, Point::End, env)
}

/// The result of mmap or mremap: `$m`, or `<elsewhere>` for a new mapping outside every named
/// region and outside the range the call asked for.
pub fn placed_address(addr: u64, env: &Regions) -> String {
    address_as(addr, Point::Placed, env)
}

fn address_as(addr: u64, point: Point, env: &Regions) -> String {
    let (name, by_proximity) = env.name(addr, point);
    let shown = match name {
        Name::Relative { name, delta } => {
            let (sign, delta) = if delta >= 0 {
                ("+", delta)
            } else {
                ("-", -delta)
            };
            let delta = u64::try_from(delta).unwrap_or(u64::MAX);
            if delta == 0 {
                format!("${name}")
            } else {
                format!("${name}{sign}{}", offset(delta, env.page_size()))
            }
        }
        Name::Raw(n) if n < 0x10000 => n.to_string(),
        Name::Raw(n) => format!("{n:#x}"),
        Name::Elsewhere => "<elsewhere>".into(),
    };
    if by_proximity {
        env.flag_layout_dependent(shown.clone());
    }
    shown
}

/// `PAGE`, `3*PAGE`, `PAGE+5`, `17`, and near the end of a page `2*PAGE-1`.
fn offset(delta: u64, page: u64) -> String {
    let (pages, rest) = (delta / page, delta % page);
    if rest >= page - 64 {
        let below = page - rest;
        return match pages + 1 {
            1 => format!("PAGE-{below}"),
            n => format!("{n}*PAGE-{below}"),
        };
    }
    let pages = match pages {
        0 => String::new(),
        1 => "PAGE".into(),
        n => format!("{n}*PAGE"),
    };
    match (pages.is_empty(), rest) {
        (true, r) => r.to_string(),
        (false, 0) => pages,
        (false, r) => format!("{pages}+{r}"),
    }
}

pub fn raw_fault(addr: u64, ip: u64, env: &Regions) -> String {
    format!("fault address {}, instruction {ip:#x}", address(addr, env))
}

/// Bytes as text when printable, as a run when uniform, else hex.
pub fn bytes(b: &Bytes) -> String {
    match b {
        Bytes::Run { byte, len } => format!("{len} × {byte:#04x}"),
        Bytes::Raw(b) if b.is_empty() => "nothing".into(),
        Bytes::Raw(b) if b.iter().all(|x| x.is_ascii_graphic() || *x == b' ') => {
            format!("{:?}", String::from_utf8_lossy(b))
        }
        Bytes::Raw(b) => {
            let shown: Vec<String> = b.iter().take(24).map(|x| format!("{x:02x}")).collect();
            let more = if b.len() > 24 {
                format!(" … ({} bytes)", b.len())
            } else {
                String::new()
            };
            format!("hex {}{more}", shown.join(" "))
        }
    }
}

/// `[$m, $m+PAGE) r--s`, with the file offset when there is one to speak of.
pub fn maps_line(
    start: u64,
    end: u64,
    perms: &str,
    file_offset: Option<u64>,
    env: &Regions,
) -> String {
    let at = match file_offset {
        Some(0) => " at offset 0".to_string(),
        Some(o) => format!(" at offset {}", offset(o, env.page_size())),
        None => String::new(),
    };
    format!(
        "[{}, {}) {perms}{at}",
        address(start, env),
        end_address(end, env)
    )
}

pub fn maps(entries: &[MapsEntry], env: &Regions) -> String {
    if entries.is_empty() {
        return "no mapping".into();
    }
    entries
        .iter()
        // Anonymous lines carry a meaningless offset; file lines name their file by path.
        .map(|m| {
            maps_line(
                m.start,
                m.end,
                &m.perms,
                m.path.starts_with('/').then_some(m.offset),
                env,
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn smaps(entries: &[crate::wire::SmapsEntry], env: &Regions) -> String {
    if entries.is_empty() {
        return "no mapping".into();
    }
    entries
        .iter()
        .map(|m| {
            // A key other than the default 0 is shown; the default is left out, so that smaps
            // reads the same with and without protection keys.
            let key = match m.pkey {
                Some(k) if k != 0 => format!(" ProtectionKey {k}"),
                _ => String::new(),
            };
            format!(
                "[{}, {}) Rss {} Locked {}{key} VmFlags {}",
                address(m.start, env),
                end_address(m.end, env),
                m.rss,
                m.locked,
                m.vmflags.join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn residency(bits: &[bool]) -> String {
    bits.iter().map(|b| if *b { '1' } else { '0' }).collect()
}

/// What a step observed, in symbols.
pub fn obs(o: &Obs, env: &Regions) -> String {
    match o {
        Obs::Err { errno } => names::errno_name(*errno),
        Obs::Fault { signo, code, addr } => {
            format!("{} at {}", signal(*signo, *code), address(*addr, env))
        }
        Obs::NotRun { reason } => format!("not run: {reason}"),
        Obs::Ok { value, data } => match data {
            None if env.placing() => format!("= {}", placed_address(*value, env)),
            None if env.counting() => format!("= {value}"),
            None => format!("= {}", address(*value, env)),
            Some(Data::Bytes(b)) => format!("read {}", bytes(b)),
            Some(Data::Maps(m)) => maps(m, env),
            Some(Data::Smaps(m)) => smaps(m, env),
            Some(Data::Stat { size, blocks }) => format!("st_size {size}, st_blocks {blocks}"),
            Some(Data::Faults { minflt, majflt }) => format!("minflt {minflt}, majflt {majflt}"),
            Some(Data::Resident(bits)) => format!("resident {}", residency(bits)),
            Some(Data::Diff(None)) => "equal".into(),
            Some(Data::Diff(Some(at))) => format!("differs at offset {at}"),
            Some(Data::Exited(code)) => format!("exit {code}"),
            Some(Data::Killed(sig)) => format!("killed by {}", names::signal_name(*sig)),
        },
    }
}

/// A contract as the user wrote it, without TOML quoting.
pub fn contract(e: &Expectation) -> String {
    match &e.outcome {
        Outcome::Success(None) if e.checks.is_empty() => "ok".into(),
        Outcome::Exit(0) if !e.explicit => "exit 0".into(),
        _ => e.text.replace('"', ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_pages() {
        assert_eq!(offset(4096, 4096), "PAGE");
        assert_eq!(offset(3 * 4096, 4096), "3*PAGE");
        assert_eq!(offset(4096 + 5, 4096), "PAGE+5");
        assert_eq!(offset(17, 4096), "17");
        assert_eq!(offset(4095, 4096), "PAGE-1");
        assert_eq!(offset(2 * 4096 - 8, 4096), "2*PAGE-8");
    }

    #[test]
    fn bytes_read_well() {
        assert_eq!(bytes(&Bytes::of(b"hello")), "\"hello\"");
        assert_eq!(bytes(&Bytes::of(&[0; 4096])), "4096 × 0x00");
        assert_eq!(bytes(&Bytes::of(&[1, 2])), "hex 01 02");
        assert_eq!(bytes(&Bytes::of(&[7])), "hex 07");
    }
}
