//! The regions a case has named (`$m` for the mmap that returned it) and the rule that names an
//! observed address after one of them. Every snapshot depends on this rule, so it must not depend
//! on where the kernel happened to place things: an address is named after the region that holds
//! it, or after the step that touched it, never after whatever region lies nearest, unless
//! nothing else applies, and then the rendering is flagged as layout-dependent.

use crate::case::expr::Scope;
use crate::case::plan::{Case, Step};
use crate::case::vocab::Call;
use crate::wire::Obs;
use std::cell::RefCell;

/// Values of `$names` as the records reveal them, and the mappings they name.
pub struct Regions {
    page: u64,
    slots: Vec<Option<u64>>,
    names: Vec<String>,
    /// (name, start, length) of every mapping a step named, newest last.
    pub mappings: Vec<(String, u64, u64)>,
    /// Indices into `mappings` of the regions a successful `munmap` has since removed whole.
    pub unmapped: Vec<usize>,
    /// The range the step being judged touched, from its own `addr` argument.
    touched: Option<Touched>,
    /// Whether the step being judged returns an address the kernel chose (mmap, mremap).
    placing: bool,
    /// Whether the step being judged returns a count of bytes, never an address
    /// (process_madvise's bytes advised, a huge page's worth and more).
    counting: bool,
    /// The region the step being judged has just named (its own result), if any.
    own: Option<usize>,
    /// Renderings that only proximity could name, since `take_layout_dependent`.
    layout_dependent: RefCell<Vec<String>>,
}

/// `[start, end]` of a step's `addr` argument, and the `$name` that expression is based on.
#[derive(Debug, Clone)]
struct Touched {
    base: Option<(String, u64)>,
    start: u64,
    end: u64,
}

/// Whether an address is a point (a fault, a start), the exclusive end of a range, or the
/// address of a new mapping that the kernel placed where it chose (mmap's and mremap's result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    At,
    End,
    Placed,
}

/// How an address reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    /// `$name` plus a signed byte offset.
    Relative { name: String, delta: i128 },
    /// A number that is not near anything the case named (or is not an address at all).
    Raw(u64),
    /// A new mapping placed outside every named region and outside the range asked for: where
    /// exactly is the allocator's business, so it is not shown.
    Elsewhere,
}

impl Scope for Regions {
    fn page(&self) -> u64 {
        self.page
    }
    fn slot(&self, index: usize) -> Option<u64> {
        self.slots.get(index).copied().flatten()
    }
}

impl Regions {
    pub fn new(case: &Case, page: u64) -> Regions {
        Regions {
            page,
            slots: vec![None; case.plan.slots.len()],
            names: case.plan.slots.clone(),
            mappings: Vec::new(),
            unmapped: Vec::new(),
            touched: None,
            placing: false,
            counting: false,
            own: None,
            layout_dependent: RefCell::new(Vec::new()),
        }
    }

    pub fn page_size(&self) -> u64 {
        self.page
    }

    /// Whether the step being judged returns an address the kernel chose (mmap, mremap).
    pub fn placing(&self) -> bool {
        self.placing
    }

    /// Whether the step being judged returns a count of bytes, shown as a number.
    pub fn counting(&self) -> bool {
        self.counting
    }

    /// Takes note of what a step revealed: the value of its `$name`, the region it mapped, the
    /// regions it unmapped.
    pub fn learn(&mut self, step: &Step, obs: &Obs) {
        if step.call == Call::Munmap && matches!(obs, Obs::Ok { .. }) {
            self.forget_unmapped(step, "len");
        }
        if let (Call::Mremap, Obs::Ok { value, .. }) = (step.call, obs) {
            // A mapping moved elsewhere (and not kept by MREMAP_DONTUNMAP) is gone from where
            // it was, as if unmapped.
            let old = step.num("addr").and_then(|e| e.eval(self).ok());
            let dontunmap = step
                .num("flags")
                .and_then(|e| e.eval(self).ok())
                .is_some_and(|f| f & libc::MREMAP_DONTUNMAP as u64 != 0);
            if old.is_some_and(|old| old != *value) && !dontunmap {
                self.forget_unmapped(step, "old-len");
            }
        }
        let (Some(slot), Obs::Ok { value, .. }) = (step.slot, obs) else {
            return;
        };
        self.slots[slot] = Some(*value);
        let len = match step.call {
            Call::Mmap => step.num("len"),
            Call::Mremap => step.num("new-len"),
            Call::Let => step.num("len"),
            _ => None,
        };
        if let Some(len) = len.and_then(|e| e.eval(self).ok()) {
            let len = len.div_ceil(self.page).saturating_mul(self.page);
            self.mappings.push((self.names[slot].clone(), *value, len));
            self.own = Some(self.mappings.len() - 1);
        }
    }

    /// Marks the regions a successful munmap (or a moving mremap) removed whole: those inside
    /// [addr, addr + the `len_arg` argument).
    fn forget_unmapped(&mut self, step: &Step, len_arg: &str) {
        let arg = |name| step.num(name).and_then(|e| e.eval(self).ok());
        let (Some(addr), Some(len)) = (arg("addr"), arg(len_arg)) else {
            return;
        };
        let end = addr.saturating_add(len);
        for (i, (_, start, rlen)) in self.mappings.iter().enumerate() {
            if *start >= addr && start.saturating_add(*rlen) <= end && !self.unmapped.contains(&i) {
                self.unmapped.push(i);
            }
        }
    }

    /// The step about to be judged: the range its `addr` argument touches names what no region
    /// holds. Evaluated before the step's own result is learned.
    pub fn enter(&mut self, step: &Step) {
        self.placing = matches!(step.call, Call::Mmap | Call::Mremap);
        self.counting = step.call == Call::ProcessMadvise;
        self.own = None;
        self.touched = (|| {
            let expr = step.num("addr")?;
            let start = expr.eval(self).ok()?;
            let len = ["len", "new-len", "old-len"]
                .iter()
                .find_map(|n| step.num(n))
                .and_then(|e| e.eval(self).ok())
                .unwrap_or(self.page);
            let mut refs = Vec::new();
            expr.refs(&mut refs);
            let base = refs
                .iter()
                .find_map(|&s| Some((self.names.get(s)?.clone(), self.slot(s)?)));
            Some(Touched {
                base,
                start,
                end: start.saturating_add(len),
            })
        })();
    }

    /// The widest live region around `addr` (a reservation around a region carved out of it):
    /// the most of the address space the case can say is its own there.
    pub fn outermost(&self, addr: u64) -> Option<(u64, u64)> {
        self.mappings
            .iter()
            .enumerate()
            .filter(|(i, (_, start, len))| {
                !self.unmapped.contains(i) && addr >= *start && addr - start < *len
            })
            .map(|(_, (_, start, len))| (*start, start.saturating_add(*len)))
            .max_by_key(|(s, e)| e - s)
    }

    /// The renderings since the last call that only proximity could name.
    pub fn take_layout_dependent(&self) -> Vec<String> {
        std::mem::take(&mut *self.layout_dependent.borrow_mut())
    }

    /// Remembers that `shown` was named by proximity alone.
    pub fn flag_layout_dependent(&self, shown: String) {
        self.layout_dependent.borrow_mut().push(shown);
    }

    /// Names an address, by these rules in order:
    /// 1. the region the step being judged has just named, if it holds the address: an mmap's
    ///    result reads `$m`, whatever it was carved out of;
    /// 2. a small number (below 64 KiB, where nothing is mapped) is a count, not an address;
    /// 3. the range the step's own `addr` argument touched, relative to the `$name` that
    ///    argument is written from: a fault in a load at `$n+5*PAGE` past the end of `$n`, the
    ///    lines of a maps query at `$h-PAGE`. The case computed these addresses from that name,
    ///    so the offset is the case's, never the allocator's;
    /// 4. the live region that holds it, newest first (a region carved out of a reservation wins
    ///    over the reservation);
    /// 5. a region the case has unmapped (or moved away with mremap), by the range it had,
    ///    newest first;
    /// 6. for mmap's and mremap's result, `Elsewhere`: a new mapping outside all of that;
    /// 7. only then the nearest region within 16 pages; the second return value says so, and
    ///    the caller flags the rendering as layout-dependent.
    ///
    /// An `End` address belongs to the region that holds the byte before it. Anything else is a
    /// raw number.
    ///
    /// Why the step's own range comes before the regions that hold an address: a region can lie
    /// anywhere relative to another that the case did not place it by. `$h` is the first 2 MiB
    /// boundary inside a reservation `$r`; the page before `$h` is inside `$r`, but its offset
    /// from `$r` depends on where the kernel put `$r` (Linux 6.1 read `$r+349*PAGE` in one run,
    /// `$r+111*PAGE` in the next). And a gone region comes after both because the kernel may
    /// place a new region right where an old one was.
    pub fn name(&self, addr: u64, point: Point) -> (Name, bool) {
        let probe = match point {
            Point::At | Point::Placed => addr,
            Point::End => addr.saturating_sub(1),
        };
        let holds = |(_, start, len): &&(String, u64, u64)| {
            probe >= *start && probe - start < *len && !(point == Point::End && addr == *start)
        };
        let relative = |name: &str, start: u64| Name::Relative {
            name: name.to_string(),
            delta: addr as i128 - start as i128,
        };
        // The newest live (or gone) region that holds the address.
        let holder = |gone: bool| {
            self.mappings
                .iter()
                .enumerate()
                .rev()
                .filter(|(i, _)| self.unmapped.contains(i) == gone)
                .map(|(_, m)| m)
                .find(holds)
        };
        let own = self.own.map(|i| &self.mappings[i]).filter(|m| holds(m));
        if let Some((name, start, _)) = own {
            return (relative(name, *start), false);
        }
        if addr < 0x10000 {
            return (Name::Raw(addr), false);
        }
        // A step whose `addr` is a constant names nothing; the regions below may.
        if let Some(Touched {
            base: Some((name, base)),
            start,
            end,
        }) = &self.touched
        {
            if addr >= *start && addr <= *end {
                return (relative(name, *base), false);
            }
        }
        if let Some((name, start, _)) = holder(false).or_else(|| holder(true)) {
            return (relative(name, *start), false);
        }
        if point == Point::Placed {
            return (Name::Elsewhere, false);
        }
        let slack = 16 * self.page as i128;
        let distance = |(_, start, len): &(String, u64, u64)| {
            let (a, s, e) = (addr as i128, *start as i128, *start as i128 + *len as i128);
            if a < s {
                s - a
            } else {
                (a - e).max(0)
            }
        };
        let near = self
            .mappings
            .iter()
            .enumerate()
            .filter(|(_, m)| distance(m) <= slack)
            // Nearest first; among equals the newest.
            .min_by_key(|(i, m)| (distance(m), usize::MAX - i));
        match near {
            Some((_, (name, start, _))) => (relative(name, *start), true),
            None => (Name::Raw(addr), false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case of these steps.
    fn case(steps: &str) -> Case {
        crate::case::load::case_from_toml(&format!(
            "summary = \"s\"\nsymbols = [\"mmap\"]\nrefs = [\"mmap(2)\"]\n\n{steps}"
        ))
    }

    /// `$m`, one page, then a load at `$m+5*PAGE`, past its end.
    fn load_past_m() -> Case {
        case(
            "[[step]]\nid = \"m\"\ncall = \"mmap\"\nargs = { len = \"PAGE\", prot = \"PROT_NONE\", \
             flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }\n\n[[step]]\ncall = \"load\"\n\
             args = { addr = \"$m+5*PAGE\", len = \"PAGE\" }\n",
        )
    }

    fn env() -> Regions {
        Regions::new(&load_past_m(), 4096)
    }

    /// Judges `step` of `case`, which returned `value`.
    fn returned(env: &mut Regions, case: &Case, step: usize, value: u64) {
        env.enter(&case.plan.steps[step]);
        env.learn(&case.plan.steps[step], &Obs::Ok { value, data: None });
    }

    fn rel(name: &str, delta: i128) -> Name {
        Name::Relative {
            name: name.into(),
            delta,
        }
    }

    #[test]
    fn the_region_that_holds_an_address_names_it_wherever_its_neighbours_are() {
        let mut env = env();
        let c = 0x7f00_0000_0000;
        env.mappings.push(("c".into(), c, 3 * 4096));
        // A newer reservation the allocator placed 11 pages below $c in one run (gVisor did).
        let b_len = 140_000 * 4096;
        env.mappings
            .push(("b".into(), c - 11 * 4096 - b_len, b_len));
        assert_eq!(env.name(c + 4096, Point::At), (rel("c", 4096), false));
        // The end of $c is $c's, although the next byte is nobody's.
        assert_eq!(
            env.name(c + 3 * 4096, Point::End),
            (rel("c", 3 * 4096), false)
        );
        // Unmapped, $b still names the range it had.
        env.unmapped.push(1);
        assert_eq!(
            env.name(c - 12 * 4096, Point::At),
            (rel("b", b_len as i128 - 4096), false)
        );
    }

    #[test]
    fn live_regions_win_over_gone_ones_and_the_newest_over_older() {
        let mut env = env();
        let r = 0x7e00_0000_0000;
        env.mappings.push(("r".into(), r, 8 * 4096));
        env.mappings.push(("h".into(), r + 2 * 4096, 2 * 4096));
        assert_eq!(env.name(r + 3 * 4096, Point::At), (rel("h", 4096), false));
        // Once $h is unmapped, the reservation around it names its pages again.
        env.unmapped.push(1);
        assert_eq!(
            env.name(r + 3 * 4096, Point::At),
            (rel("r", 3 * 4096), false)
        );
    }

    #[test]
    fn the_step_that_touched_an_address_names_it_before_a_region_around_it() {
        let case = case(
            "[[step]]\nid = \"r\"\ncall = \"mmap\"\nargs = { len = \"1025*PAGE\", prot = \"PROT_NONE\", \
             flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }\n\n[[step]]\nid = \"h\"\ncall = \"let\"\n\
             args = { value = \"($r+(2<<20))&~((2<<20)-1)\", len = \"2<<20\" }\n\n[[step]]\n\
             call = \"maps\"\nargs = { addr = \"$h-PAGE\", len = \"(2<<20)+2*PAGE\" }\n",
        );
        // Wherever $r lies below a 2 MiB boundary, the page before $h reads $h-PAGE.
        for r in [0x7f00_0012_3000u64, 0x7f00_001f_f000] {
            let mut env = Regions::new(&case, 4096);
            returned(&mut env, &case, 0, r);
            let h = (r + (2 << 20)) & !((2 << 20) - 1);
            returned(&mut env, &case, 1, h);
            env.enter(&case.plan.steps[2]);
            assert_eq!(env.name(h - 4096, Point::At), (rel("h", -4096), false));
            assert_eq!(env.name(h, Point::End), (rel("h", 0), false));
        }
    }

    #[test]
    fn an_address_no_region_holds_is_named_after_the_step_that_touched_it() {
        let case = load_past_m();
        let mut env = Regions::new(&case, 4096);
        let m = 0x7d00_0000_0000;
        returned(&mut env, &case, 0, m);
        // A region placed 3 pages after the touched range: nearer than $m, and irrelevant.
        env.mappings.push(("x".into(), m + 9 * 4096, 4096));
        env.enter(&case.plan.steps[1]);
        assert_eq!(
            env.name(m + 5 * 4096 + 8, Point::At),
            (rel("m", 5 * 4096 + 8), false)
        );
        // Outside the step's range and every region: the nearest region, flagged.
        assert_eq!(
            env.name(m + 11 * 4096, Point::At),
            (rel("x", 2 * 4096), true)
        );
        // A new mapping placed near $x but outside everything named and asked for.
        assert_eq!(
            env.name(m + 11 * 4096, Point::Placed),
            (Name::Elsewhere, false)
        );
        // Far from everything: a raw number; small numbers are counts.
        assert_eq!(
            env.name(m + 4096 * 4096, Point::At).0,
            Name::Raw(m + 4096 * 4096)
        );
        assert_eq!(env.name(3, Point::At), (Name::Raw(3), false));
    }
}
