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

/// Largest buffer a `load`, `read`, `compare` or `mincore` step may ask for.
const MAX_BUFFER: u64 = 64 << 20;

/// What the child needs besides the case.
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
    /// Working memory for loads and stores, touched before the first step.
    work: &'static mut [u8],
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

fn run_list(state: &mut State, list: usize, from: usize) {
    let case = state.case;
    for &index in &case.plan.lists[list][from..] {
        let step = &case.plan.steps[index];
        let (obs, iterations) = match step.repeat {
            None => (run_once(state, step), None),
            Some((count, i_slot)) => {
                let mut obs = Obs::NotRun {
                    reason: "repeat ran no iteration".into(),
                };
                let mut runs = 0;
                for i in 0..count {
                    state.slots[i_slot] = Some(i);
                    obs = run_once(state, step);
                    runs = i + 1;
                    if !matches!(obs, Obs::Ok { .. }) {
                        break;
                    }
                }
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
    }
}

/// Evaluates a step's arguments and runs it (or what the mutant kernel pretends it did).
fn run_once(state: &mut State, step: &Step) -> Obs {
    match values(step, state) {
        Ok(v) => match state.setup.mutate.as_deref().and_then(|m| {
            mutant::ignored_result(m, step.call, step.spec.name, v.get("addr"), v.get("flags"))
        }) {
            Some(pretended) => ok(pretended),
            None => run_step(state, step, &v),
        },
        Err(reason) => Obs::NotRun { reason },
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

fn run_step(state: &mut State, step: &Step, v: &Values) -> Obs {
    use Call::*;
    let raw = |nr, a: [u64; 6]| from(sys::raw(nr, a));
    match step.call {
        File => make_file(state, step, v),
        Open => {
            let path = scratch_path(&state.setup.scratch, step.text("path").unwrap_or(""));
            from(sys::open(&path, v.get("flags"), 0))
        }
        Memfd => {
            let fd = match sys::memfd_create(step.text("name").unwrap_or("mmcheck"), v.get("flags"))
            {
                Ok(fd) => fd,
                Err(errno) => return Obs::Err { errno },
            };
            if v.get("size") > 0 {
                if let Err(errno) = sys::raw(nr::FTRUNCATE, [fd, v.get("size"), 0, 0, 0, 0]) {
                    return Obs::Err { errno };
                }
            }
            ok(fd)
        }
        Seal => raw(
            nr::FCNTL,
            [
                v.get("fd"),
                libc::F_ADD_SEALS as u64,
                v.get("seals"),
                0,
                0,
                0,
            ],
        ),
        Pipe => match sys::pipe(false) {
            Ok((r, w)) => ok(if step.text("end") == Some("write") {
                w
            } else {
                r
            } as u64),
            Err(errno) => Obs::Err { errno },
        },
        Dir => from(sys::open(
            &state.setup.scratch.to_string_lossy(),
            (libc::O_RDONLY | libc::O_DIRECTORY) as u64,
            0,
        )),
        Close => raw(nr::CLOSE, [v.get("fd"), 0, 0, 0, 0, 0]),
        Mmap => raw(
            nr::MMAP,
            [
                v.get("addr"),
                v.get("len"),
                v.get("prot"),
                v.get("flags"),
                v.get("fd"),
                v.get("offset"),
            ],
        ),
        Munmap => raw(nr::MUNMAP, [v.get("addr"), v.get("len"), 0, 0, 0, 0]),
        Mprotect => raw(
            nr::MPROTECT,
            [v.get("addr"), v.get("len"), v.get("prot"), 0, 0, 0],
        ),
        Msync => raw(
            nr::MSYNC,
            [v.get("addr"), v.get("len"), v.get("flags"), 0, 0, 0],
        ),
        Mremap => raw(
            nr::MREMAP,
            [
                v.get("addr"),
                v.get("old-len"),
                v.get("new-len"),
                v.get("flags"),
                v.get("new-addr"),
                0,
            ],
        ),
        Madvise => raw(
            nr::MADVISE,
            [v.get("addr"), v.get("len"), v.get("advice"), 0, 0, 0],
        ),
        Mincore => match v.opt("vec") {
            Some(vec) => raw(nr::MINCORE, [v.get("addr"), v.get("len"), vec, 0, 0, 0]),
            None => {
                let pages = v.get("len").div_ceil(state.page);
                let mut vec = match buffer(pages) {
                    Ok(b) => b,
                    Err(obs) => return obs,
                };
                match sys::mincore(v.get("addr"), v.get("len"), &mut vec) {
                    Ok(r) => with(r, Data::Resident(vec.iter().map(|b| b & 1 == 1).collect())),
                    Err(errno) => Obs::Err { errno },
                }
            }
        },
        Mlock => raw(nr::MLOCK, [v.get("addr"), v.get("len"), 0, 0, 0, 0]),
        Mlock2 => raw(
            nr::MLOCK2,
            [v.get("addr"), v.get("len"), v.get("flags"), 0, 0, 0],
        ),
        Munlock => raw(nr::MUNLOCK, [v.get("addr"), v.get("len"), 0, 0, 0, 0]),
        Mlockall => raw(nr::MLOCKALL, [v.get("flags"), 0, 0, 0, 0, 0]),
        Munlockall => raw(nr::MUNLOCKALL, [0; 6]),
        RemapFilePages => raw(
            nr::REMAP_FILE_PAGES,
            [
                v.get("addr"),
                v.get("size"),
                v.get("prot"),
                v.get("pgoff"),
                v.get("flags"),
                0,
            ],
        ),
        Mseal => raw(
            nr::MSEAL,
            [v.get("addr"), v.get("len"), v.get("flags"), 0, 0, 0],
        ),
        Ftruncate => raw(nr::FTRUNCATE, [v.get("fd"), v.get("len"), 0, 0, 0, 0]),
        Fallocate => raw(
            nr::FALLOCATE,
            [
                v.get("fd"),
                v.get("mode"),
                v.get("offset"),
                v.get("len"),
                0,
                0,
            ],
        ),
        Write => {
            let data = match step.text("text") {
                Some(t) => t.as_bytes().to_vec(),
                None => match buffer(v.get("len")) {
                    Ok(mut b) => {
                        b.fill(v.get("fill") as u8);
                        b
                    }
                    Err(obs) => return obs,
                },
            };
            from(sys::write_from(v.fd("fd"), &data, v.opt("offset")))
        }
        Read => {
            let mut buf = match buffer(v.get("len")) {
                Ok(b) => b,
                Err(obs) => return obs,
            };
            match sys::read_into(v.fd("fd"), &mut buf, v.opt("offset")) {
                Ok(n) => with(n, Data::Bytes(Bytes::of(&buf[..n as usize]))),
                Err(errno) => Obs::Err { errno },
            }
        }
        Fsync => raw(nr::FSYNC, [v.get("fd"), 0, 0, 0, 0, 0]),
        Fchmod => raw(nr::FCHMOD, [v.get("fd"), v.get("mode"), 0, 0, 0, 0]),
        Load => load(state, v.get("addr"), v.get("len")),
        Store => match step.text("text") {
            Some(t) => match probe::copy(v.get("addr"), t.as_ptr() as u64, t.len()) {
                Ok(()) => ok(0),
                Err(f) => fault(f),
            },
            None => store_run(state, v.get("addr"), v.get("byte") as u8, v.get("len")),
        },
        Jump => match probe::call(v.get("addr")) {
            Ok(()) => ok(0),
            Err(f) => fault(f),
        },
        Compare => compare(v),
        Setrlimit => from(sys::setrlimit(
            v.get("resource"),
            v.get("soft"),
            v.opt("hard").unwrap_or(v.get("soft")),
        )),
        Fork => fork(state, step),
        Wait => wait(state, v.get("pid") as i32),
        Exec => exec(state, step),
        Let => ok(v.get("value")),
        Maps => maps(v.get("addr"), v.get("len")),
        Smaps => smaps(v.get("addr"), v.get("len")),
        Stat => match sys::fstat(v.fd("fd")) {
            Ok((size, blocks)) => with(0, Data::Stat { size, blocks }),
            Err(errno) => Obs::Err { errno },
        },
        Locate => locate(state, step.text("what").unwrap_or("")),
        Selftest => selftest(state, step.text("act").unwrap_or(""), v.get("status")),
        Faults => {
            let now = sys::fault_counts();
            let (base_min, base_maj) = std::mem::replace(&mut state.faults_base, now);
            with(
                0,
                Data::Faults {
                    minflt: now.0 - base_min,
                    majflt: now.1 - base_maj,
                },
            )
        }
    }
}

/// The page of the child's own stack or code.
fn locate(state: &State, what: &str) -> Obs {
    let here = 0u8;
    let addr = match what {
        "stack" => std::hint::black_box(&here) as *const u8 as u64,
        "code" => run_step as fn(&mut State, &Step, &Values) -> Obs as usize as u64,
        other => {
            return Obs::NotRun {
                reason: format!("locate cannot find `{other}`"),
            }
        }
    };
    ok(addr & !(state.page - 1))
}

/// Misbehaves on purpose (see `selftest` in vocab.rs): the runner's own hostile fixtures.
fn selftest(state: &State, act: &str, status: u64) -> Obs {
    let record_fd = state.setup.record_fd;
    match act {
        "spin" => loop {
            std::hint::spin_loop();
        },
        "orphan" | "straggler" => match sys::fork() {
            Err(errno) => Obs::Err { errno },
            Ok(Forked::Child) => {
                if act == "orphan" {
                    let _ = sys::setsid();
                }
                // Holds the record pipe open, as any descendant of a careless case would.
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
            }
            Ok(Forked::Parent(pid)) => ok(pid as u64),
        },
        "garbage" => {
            let _ = sys::write_all(record_fd, b"\x00\xff this is no record\n");
            ok(0)
        }
        "half-record" => {
            let _ = sys::write_all(record_fd, b"{\"Step\":{\"step\":");
            sys::exit_now(0)
        }
        "exit" => sys::exit_now(status as i32),
        "sigkill" => {
            let _ = sys::kill(sys::pid(), libc::SIGKILL);
            loop {
                std::hint::spin_loop();
            }
        }
        other => Obs::NotRun {
            reason: format!("selftest has no act `{other}`"),
        },
    }
}

/// Reads through the mapping into the pre-touched work buffer (a fresh buffer would take page
/// faults of its own, which a `faults` step would count against the kernel).
fn load(state: &mut State, addr: u64, len: u64) -> Obs {
    if len > state.work.len() as u64 {
        let mut buf = match buffer(len) {
            Ok(b) => b,
            Err(obs) => return obs,
        };
        return match probe::copy(buf.as_mut_ptr() as u64, addr, buf.len()) {
            Ok(()) => with(0, Data::Bytes(Bytes::of(&buf))),
            Err(f) => fault(f),
        };
    }
    let buf = &mut state.work[..len as usize];
    match probe::copy(buf.as_mut_ptr() as u64, addr, buf.len()) {
        Ok(()) => with(0, Data::Bytes(Bytes::of(buf))),
        Err(f) => fault(f),
    }
}

/// Stores `len` copies of `byte`, a work buffer's worth at a time.
fn store_run(state: &mut State, addr: u64, byte: u8, len: u64) -> Obs {
    let chunk = state.work.len() as u64;
    state.work.fill(byte);
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk);
        if let Err(f) = probe::copy(
            addr.wrapping_add(done),
            state.work.as_ptr() as u64,
            n as usize,
        ) {
            return fault(f);
        }
        done += n;
    }
    ok(0)
}

fn scratch_path(scratch: &Path, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        scratch.join(path).to_string_lossy().into_owned()
    }
}

fn make_file(state: &State, step: &Step, v: &Values) -> Obs {
    let name = step
        .text("name")
        .map(str::to_string)
        .or_else(|| step.slot.map(|s| state.case.plan.slots[s].clone()))
        .unwrap_or_else(|| format!("file{}", step.index));
    let path = scratch_path(&state.setup.scratch, &name);
    let create = (libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC) as u64;
    let fd = match sys::open(&path, create, v.get("mode")) {
        Ok(fd) => fd as i32,
        Err(errno) => return Obs::Err { errno },
    };
    let size = v.get("size");
    let result = (|| -> Result<(), i32> {
        let mut written = 0u64;
        if let Some(t) = step.text("text") {
            sys::write_from(fd, t.as_bytes(), Some(0))?;
            written = t.len() as u64;
        } else if let Some(fill) = v.opt("fill") {
            let chunk = vec![fill as u8; size.min(1 << 20) as usize];
            while written < size {
                let n = (size - written).min(chunk.len() as u64) as usize;
                written += sys::write_from(fd, &chunk[..n], Some(written))?;
            }
        } else if step.text("pattern") == Some("page-number") {
            let mut page = vec![0u8; state.page as usize];
            let mut k = 0u64;
            while written < size {
                page.fill((k % 255 + 1) as u8);
                let n = (size - written).min(state.page) as usize;
                written += sys::write_from(fd, &page[..n], Some(written))?;
                k += 1;
            }
        }
        if size > written {
            sys::raw(nr::FTRUNCATE, [fd as u64, size, 0, 0, 0, 0])?;
        }
        Ok(())
    })();
    sys::close(fd);
    if let Err(errno) = result {
        return Obs::Err { errno };
    }
    from(sys::open(&path, v.get("open"), 0))
}

fn compare(v: &Values) -> Obs {
    let len = v.get("len");
    let (mut file, mut mem) = match (buffer(len), buffer(len)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(obs), _) | (_, Err(obs)) => return obs,
    };
    match sys::read_into(v.fd("fd"), &mut file, Some(v.get("offset"))) {
        Ok(n) => file.truncate(n as usize),
        Err(errno) => return Obs::Err { errno },
    }
    if let Err(f) = probe::copy(mem.as_mut_ptr() as u64, v.get("addr"), mem.len()) {
        return fault(f);
    }
    // A file shorter than `len` differs where it ends.
    let diff = (0..len as usize)
        .find(|&i| file.get(i) != Some(&mem[i]))
        .map(|i| i as u64);
    with(0, Data::Diff(diff))
}

fn fork(state: &mut State, step: &Step) -> Obs {
    let (release_r, release_w) = match sys::pipe(true) {
        Ok(p) => p,
        Err(errno) => return Obs::Err { errno },
    };
    match sys::fork() {
        Err(errno) => Obs::Err { errno },
        Ok(Forked::Child) => {
            sys::close(release_w);
            let mut byte = [0u8; 1];
            // Wait until the parent reaches its `wait`; EOF means it died first.
            let released = matches!(sys::read_into(release_r, &mut byte, None), Ok(1));
            sys::close(release_r);
            if !released {
                sys::exit_now(1);
            }
            state.pending.clear();
            state.faults_base = sys::fault_counts();
            let list = step.child_list.expect("fork steps have a child list");
            run_list(state, list, 0);
            sys::exit_now(0)
        }
        Ok(Forked::Parent(pid)) => {
            sys::close(release_r);
            state.pending.push((pid, release_w));
            ok(pid as u64)
        }
    }
}

fn wait(state: &mut State, pid: i32) -> Obs {
    let Some(at) = state.pending.iter().position(|(p, _)| *p == pid) else {
        return Obs::NotRun {
            reason: format!("pid {pid} is not a child forked by this case and not yet waited for"),
        };
    };
    let (_, release) = state.pending.remove(at);
    let _ = sys::write_all(release, b"g");
    sys::close(release);
    match sys::wait(pid, true) {
        Ok(Some(sys::Ended::Exited(code))) => with(0, Data::Exited(code)),
        Ok(Some(sys::Ended::Killed(sig))) => with(0, Data::Killed(sig)),
        Ok(None) => unreachable!("a blocking wait returns a status"),
        Err(errno) => Obs::Err { errno },
    }
}

fn exec(state: &State, step: &Step) -> Obs {
    let slots: Vec<String> = state
        .slots
        .iter()
        .map(|s| s.map_or("-".to_string(), |v| v.to_string()))
        .collect();
    let args = vec![
        "mmcheck".to_string(),
        "__resume".to_string(),
        state.case.path.to_string_lossy().into_owned(),
        state.case.file_id.clone(),
        step.index.to_string(),
        state.setup.record_fd.to_string(),
        state.setup.scratch.to_string_lossy().into_owned(),
        slots.join(","),
    ];
    let mut args = args;
    if let Some(m) = &state.setup.mutate {
        args.push(format!("--mutate={m}"));
    }
    // The record pipe must survive the exec; it is the only way the new image can report.
    sys::set_cloexec(state.setup.record_fd, false);
    let errno = sys::exec("/proc/self/exe", &args);
    sys::set_cloexec(state.setup.record_fd, true);
    Obs::Err { errno }
}

/// Feeds each line of a /proc file to `line`, reading through a fixed buffer on the stack: a
/// process at vm.max_map_count cannot grow its heap, and the maps file of such a process is
/// megabytes long, so reading it whole would fail in the harness, not in the kernel.
fn proc_lines(path: &str, mut line: impl FnMut(&str)) -> Result<(), String> {
    let fd = sys::open(path, (libc::O_RDONLY | libc::O_CLOEXEC) as u64, 0)
        .map_err(|e| format!("cannot open {path}: {}", crate::names::errno_name(e)))?
        as i32;
    let mut buf = [0u8; 64 * 1024];
    let mut filled = 0;
    let result = loop {
        let n = match sys::read_into(fd, &mut buf[filled..], None) {
            Ok(n) => n as usize,
            Err(libc::EINTR) => continue,
            Err(e) => {
                break Err(format!(
                    "cannot read {path}: {}",
                    crate::names::errno_name(e)
                ))
            }
        };
        filled += n;
        let mut start = 0;
        while let Some(nl) = buf[start..filled].iter().position(|b| *b == b'\n') {
            line(&String::from_utf8_lossy(&buf[start..start + nl]));
            start += nl + 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if n == 0 || filled == buf.len() {
            if filled > 0 {
                line(&String::from_utf8_lossy(&buf[..filled]));
            }
            break Ok(());
        }
    };
    sys::close(fd);
    result
}

fn maps(addr: u64, len: u64) -> Obs {
    let end = addr.saturating_add(len);
    let mut entries = Vec::new();
    let read = proc_lines("/proc/self/maps", |l| {
        if let Some(m) = parse_maps_line(l) {
            if m.start < end && m.end > addr {
                entries.push(MapsEntry {
                    // Clipping moves the start: the file offset moves with it.
                    offset: m.offset + addr.saturating_sub(m.start),
                    start: m.start.max(addr),
                    end: m.end.min(end),
                    ..m
                });
            }
        }
    });
    match read {
        Ok(()) => with(0, Data::Maps(entries)),
        Err(reason) => Obs::NotRun { reason },
    }
}

fn smaps(addr: u64, len: u64) -> Obs {
    let end = addr.saturating_add(len);
    let mut entries: Vec<SmapsEntry> = Vec::new();
    // Whether the mapping being read overlaps the range; its detail lines follow its head.
    let mut keep = false;
    let kb = |rest: &str| {
        rest.trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
            * 1024
    };
    let read = proc_lines("/proc/self/smaps", |l| {
        if let Some(head) = parse_maps_line(l) {
            keep = head.start < end && head.end > addr;
            if keep {
                entries.push(SmapsEntry {
                    start: head.start.max(addr),
                    end: head.end.min(end),
                    vmflags: Vec::new(),
                    rss: 0,
                    locked: 0,
                    mapping: Some((head.start, head.end)),
                });
            }
            return;
        }
        let Some(last) = entries.last_mut().filter(|_| keep) else {
            return;
        };
        if let Some(rest) = l.strip_prefix("VmFlags:") {
            last.vmflags = rest.split_whitespace().map(str::to_string).collect();
        } else if let Some(rest) = l.strip_prefix("Rss:") {
            last.rss = kb(rest);
        } else if let Some(rest) = l.strip_prefix("Locked:") {
            last.locked = kb(rest);
        }
    });
    match read {
        Ok(()) => with(0, Data::Smaps(entries)),
        Err(reason) => Obs::NotRun { reason },
    }
}

/// Parses one /proc/self/maps line: `start-end perms offset dev inode path`.
pub fn parse_maps_line(line: &str) -> Option<MapsEntry> {
    let mut f = line.split_whitespace();
    let (start, end) = f.next()?.split_once('-')?;
    let perms = f.next()?.to_string();
    let offset = u64::from_str_radix(f.next()?, 16).ok()?;
    let _dev = f.next()?;
    let _inode = f.next()?;
    let path = f.collect::<Vec<_>>().join(" ");
    Some(MapsEntry {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        offset,
        path,
    })
}

/// Parses a whole /proc/self/maps text.
pub fn parse_maps(text: &str) -> Vec<MapsEntry> {
    text.lines().filter_map(parse_maps_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_lines_reads_long_files_through_its_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines");
        let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, format!("{text}last without newline")).unwrap();
        let mut seen = Vec::new();
        proc_lines(path.to_str().unwrap(), |l| seen.push(l.to_string())).unwrap();
        assert_eq!(seen.len(), 50_001);
        assert_eq!(seen[49_999], "line 49999");
        assert_eq!(seen[50_000], "last without newline");
        assert!(proc_lines("/nonexistent", |_| {})
            .unwrap_err()
            .contains("ENOENT"));
    }

    #[test]
    fn maps_lines_parse() {
        let m = parse_maps(
            "7f0000000000-7f0000002000 rw-s 00001000 00:05 123 /dev/shm/x (deleted)\n\
             7ffd00000000-7ffd00001000 ---p 00000000 00:00 0 \n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].start, 0x7f00_0000_0000);
        assert_eq!(m[0].offset, 0x1000);
        assert_eq!(m[0].path, "/dev/shm/x (deleted)");
        assert_eq!(m[1].perms, "---p");
        assert_eq!(m[1].path, "");
    }
}
