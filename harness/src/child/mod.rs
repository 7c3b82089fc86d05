//! Runs one compiled plan inside the forked child and streams one record per step to the parent.
//! The child judges nothing: it calls, observes, reports, and ends with `_exit`. A step whose
//! arguments name a failed step is reported as not run, so one failure does not cascade.

use crate::case::expr::{EvalError, Scope};
use crate::case::plan::{ArgValue, Case, Step};
use crate::case::vocab::Call;
use crate::mutant;
use crate::sys::{self, nr, probe, Forked};
use crate::wire::{Bytes, Data, MapsEntry, Obs, Record, SmapsEntry};
use std::path::{Path, PathBuf};

mod process;
mod procfs;
mod repeat;
mod steps;
mod thread;
mod uffd;

use process::{exec, fork, wait};
use procfs::{clear_refs, maps, pagemap, smaps};
pub use procfs::{parse_maps, parse_maps_line};
use steps::run_step;

/// Largest buffer a `load`, `read`, `compare` or `mincore` step may ask for.
const MAX_BUFFER: u64 = 64 << 20;

/// What the child needs besides the case.
#[derive(Clone)]
pub struct Setup {
    pub record_fd: i32,
    /// Where the child's stderr goes (the worker's log memfd), or -1 to keep fd 2 as it is.
    pub stderr_fd: i32,
    pub scratch: PathBuf,
    /// A mutant kernel to pretend to be (see `mutant.rs`).
    pub mutate: Option<String>,
    /// Scatter pads first, to move the case's mappings (see `layout.rs`).
    pub layout_seed: Option<u64>,
}

struct State<'a> {
    case: &'a Case,
    setup: &'a Setup,
    page: u64,
    slots: Vec<Option<u64>>,
    /// Forked children not yet waited for: pid and the descriptor that releases them.
    pending: Vec<(i32, i32)>,
    faults_base: (u64, u64),
    /// The thread a `uffd_serve` step started, until `uffd_served` tells it the steps are done
    /// and waits for it.
    server: Option<uffd::Server>,
    /// Working memory for loads and stores, touched before the first step.
    work: &'static mut [u8],
    /// Threads started by `thread` steps and not yet joined.
    threads: Vec<thread::Handle>,
}

/// Size of the work buffer: loads up to this size move no harness memory the kernel has not
/// already faulted in.
const WORK: usize = 1 << 20;

/// The work buffer, fenced so that no case mapping merges with it. For a case that counts
/// faults it is touched now, so that using it later takes none; touching 1 MiB costs 256 faults
/// (about 0.3 ms), so other cases let it fault in as they use it.
fn work_buffer(case: &Case) -> &'static mut [u8] {
    let w = sys::fenced_region(WORK).unwrap_or_else(|| Vec::leak(vec![0u8; WORK]));
    if counts_faults(case) {
        w.fill(1);
        std::hint::black_box(&mut *w);
    }
    w
}

fn counts_faults(case: &Case) -> bool {
    case.plan.steps.iter().any(|s| s.call == Call::Faults)
}

impl Scope for State<'_> {
    fn page(&self) -> u64 {
        self.page
    }
    fn slot(&self, index: usize) -> Option<u64> {
        self.slots.get(index).copied().flatten()
    }
}

fn emit(fd: i32, record: &Record) {
    if sys::write_all(fd, &record.encode()).is_err() {
        // The parent is gone; nobody is listening.
        sys::exit_now(1);
    }
}

/// The forked child's whole life: prepare, run the top-level steps, report `Done`, exit.
pub fn main(case: &Case, setup: &Setup) -> ! {
    prepare_process(setup);
    if let Err(reason) = apply_requirements(case) {
        emit(setup.record_fd, &Record::Broken { reason });
        sys::exit_now(0);
    }
    if counts_faults(case) {
        prefault_harness();
    }
    let mut state = State {
        case,
        setup,
        page: sys::page_size(),
        slots: vec![None; case.plan.slots.len()],
        pending: Vec::new(),
        work: work_buffer(case),
        faults_base: sys::fault_counts(),
        server: None,
        threads: Vec::new(),
    };
    if let Some(seed) = setup.layout_seed {
        crate::layout::scatter(seed, &case.id, state.page);
    }
    run_list(&mut state, 0, 0);
    emit(setup.record_fd, &Record::Done);
    sys::exit_now(0)
}

/// Continues a case after `exec`: the new image runs the steps after `exec_step`.
pub fn resume(case: &Case, setup: &Setup, exec_step: usize, slots: Vec<Option<u64>>) -> ! {
    sys::set_cloexec(setup.record_fd, true);
    probe::install(setup.record_fd);
    let mut state = State {
        case,
        setup,
        page: sys::page_size(),
        slots,
        pending: Vec::new(),
        work: work_buffer(case),
        faults_base: sys::fault_counts(),
        server: None,
        threads: Vec::new(),
    };
    let step = &case.plan.steps[exec_step];
    emit(
        setup.record_fd,
        &Record::Step {
            iterations: None,
            step: exec_step,
            obs: Obs::Ok {
                value: 0,
                data: None,
            },
        },
    );
    run_list(&mut state, step.list, step.pos + 1);
    if step.list == 0 {
        emit(setup.record_fd, &Record::Done);
    }
    sys::exit_now(0)
}

fn prepare_process(setup: &Setup) {
    sys::default_interrupts();
    sys::stay_on_this_cpu();
    // The worker talks to its parent over stdin/stdout: the case must never touch them.
    if let Ok(null) = sys::open("/dev/null", libc::O_RDWR as u64, 0) {
        sys::dup2(null as i32, 0);
        sys::dup2(null as i32, 1);
        sys::close(null as i32);
    }
    if setup.stderr_fd >= 0 {
        sys::dup2(setup.stderr_fd, 2);
    }
    sys::close_inherited(setup.record_fd);
    probe::install(setup.record_fd);
}

/// Touches every readable page of the harness's own file mappings (its code, libc) and some stack,
/// so that running harness code between two `faults` steps takes no first-touch faults that would
/// be counted against the kernel.
///
/// Never inlined: inlined into `main`, its 128 KiB stack array made `main`'s own frame that
/// large, and the stack probe at `main`'s entry then touched 32 fresh stack pages in every case
/// child (42 % of a trivial case's page faults), counting faults or not. Out of line, the array
/// is below `main`'s frame, where the steps' own calls later run, which is the stack it means
/// to touch.
#[inline(never)]
fn prefault_harness() {
    let Ok(text) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    let page = sys::page_size();
    let mut byte = [0u8; 1];
    for m in parse_maps(&text) {
        if m.perms.starts_with('r') && m.path.starts_with('/') {
            let mut at = m.start;
            while at < m.end {
                let _ = probe::copy(byte.as_mut_ptr() as u64, at, 1);
                at += page;
            }
        }
    }
    let mut stack = [1u8; 128 * 1024];
    std::hint::black_box(&mut stack);
}

fn apply_requirements(case: &Case) -> Result<(), String> {
    for cap in &case.requires.caps_dropped {
        for set in [
            caps::CapSet::Effective,
            caps::CapSet::Permitted,
            caps::CapSet::Inheritable,
        ] {
            caps::drop(None, set, *cap).map_err(|e| format!("cannot drop {cap}: {e}"))?;
        }
        // Also from the bounding set, so that an `exec` cannot bring it back; this needs
        // CAP_SETPCAP, which an unprivileged user lacks and does not need (nothing to regain).
        let _ = caps::drop(None, caps::CapSet::Bounding, *cap);
    }
    for (resource, soft, hard) in &case.requires.rlimits {
        sys::setrlimit(*resource as u64, *soft, *hard).map_err(|e| {
            format!(
                "cannot set {} to {soft}: {}",
                crate::names::describe_value(crate::names::Family::Rlimit, *resource as u64),
                crate::names::errno_name(e)
            )
        })?;
    }
    Ok(())
}

/// Runs the steps of a list from `from` on, to its end or, in a thread's list, through its next
/// `pause`: then returns the position after the pause.
fn run_list(state: &mut State, list: usize, from: usize) -> Option<usize> {
    let case = state.case;
    for (pos, &index) in case.plan.lists[list].iter().enumerate().skip(from) {
        let step = &case.plan.steps[index];
        let (obs, iterations) = match step.repeat {
            None => (run_once(state, step), None),
            Some((count, i_slot)) => {
                let (obs, runs) = repeat::run(state, step, count, i_slot);
                (obs, Some(runs))
            }
        };
        if let (Some(slot), Obs::Ok { value, .. }) = (step.slot, &obs) {
            state.slots[slot] = Some(*value);
        }
        emit(
            state.setup.record_fd,
            &Record::Step {
                step: index,
                obs,
                iterations,
            },
        );
        if step.call == Call::Pause {
            return Some(pos + 1);
        }
    }
    None
}

/// Evaluates a step's arguments and runs it (or what the mutant kernel pretends it did).
fn run_once(state: &mut State, step: &Step) -> Obs {
    match values(step, state) {
        Ok(v) => run_values(state, step, &v),
        Err(reason) => Obs::NotRun { reason },
    }
}

/// Runs a step with its arguments evaluated (or what the mutant kernel pretends it did).
fn run_values(state: &mut State, step: &Step, v: &Values) -> Obs {
    match state.setup.mutate.as_deref().and_then(|m| {
        mutant::ignored_result(m, step.call, step.spec.name, v.get("addr"), v.get("flags"))
    }) {
        Some(pretended) => ok(pretended),
        None => run_step(state, step, v),
    }
}

/// A step's numeric arguments, evaluated.
struct Values(Vec<(&'static str, u64)>);

impl Values {
    fn get(&self, name: &str) -> u64 {
        self.opt(name).unwrap_or(0)
    }
    fn opt(&self, name: &str) -> Option<u64> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
    fn fd(&self, name: &str) -> i32 {
        self.get(name) as i32
    }
}

fn values(step: &Step, state: &State) -> Result<Values, String> {
    let mut out = Vec::new();
    for (name, arg) in &step.args {
        if let ArgValue::Num(e) = arg {
            let v = e.eval(state).map_err(|err| match err {
                EvalError::Unavailable(n) => format!("`${n}` is unavailable: its step failed"),
                other => format!("`{name}`: {other}"),
            })?;
            out.push((*name, v));
        }
    }
    Ok(Values(out))
}

fn ok(value: u64) -> Obs {
    Obs::Ok { value, data: None }
}

fn with(value: u64, data: Data) -> Obs {
    Obs::Ok {
        value,
        data: Some(data),
    }
}

fn from(r: sys::SysResult) -> Obs {
    match r {
        Ok(v) => ok(v),
        Err(errno) => Obs::Err { errno },
    }
}

fn fault(f: probe::Fault) -> Obs {
    Obs::Fault {
        signo: f.signo,
        code: f.code,
        addr: f.addr,
    }
}

fn buffer(len: u64) -> Result<Vec<u8>, Obs> {
    if len > MAX_BUFFER {
        return Err(Obs::NotRun {
            reason: format!("length {len} is larger than the harness's buffer limit {MAX_BUFFER}"),
        });
    }
    Ok(vec![0u8; len as usize])
}
