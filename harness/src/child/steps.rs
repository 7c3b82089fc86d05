//! What each call does in the child: one arm per call of the vocabulary, and the memory
//! accesses (load, store, compare, jump) that go through the fault probes.

use super::*;
use crate::sys::ForkError;

pub(super) fn run_step(state: &mut State, step: &Step, v: &Values) -> Obs {
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
        Seals => match sys::raw(
            nr::FCNTL,
            [v.get("fd"), libc::F_GET_SEALS as u64, 0, 0, 0, 0],
        ) {
            Ok(seals) => with(seals, Data::Seals(seals)),
            Err(errno) => Obs::Err { errno },
        },
        Pipe => match sys::pipe_with(v.get("flags")) {
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
        Userfaultfd => from(sys::uffd::userfaultfd(v.get("flags"))),
        UffdioApi => from(sys::uffd::api(v.fd("fd"), v.get("api"), v.get("features")).map(|_| 0)),
        UffdioRegister => from(
            sys::uffd::register(v.fd("fd"), v.get("addr"), v.get("len"), v.get("mode")).map(|_| 0),
        ),
        UffdioWriteprotect => from(sys::uffd::writeprotect(
            v.fd("fd"),
            v.get("addr"),
            v.get("len"),
            v.get("mode"),
        )),
        UffdServe => super::uffd::serve(state, step, v),
        UffdServed => super::uffd::served(state),
        PkeyAlloc => raw(
            nr::PKEY_ALLOC,
            [v.get("flags"), v.get("access-rights"), 0, 0, 0, 0],
        ),
        PkeyMprotect => raw(
            nr::PKEY_MPROTECT,
            [
                v.get("addr"),
                v.get("len"),
                v.get("prot"),
                v.get("pkey"),
                0,
                0,
            ],
        ),
        PkeyFree => raw(nr::PKEY_FREE, [v.get("pkey"), 0, 0, 0, 0, 0]),
        PkeySet => match sys::set_pkey_rights(v.get("pkey"), v.get("rights")) {
            Ok(()) => ok(0),
            Err(reason) => Obs::NotRun { reason },
        },
        Prctl => raw(
            nr::PRCTL,
            [
                v.get("option"),
                v.get("arg2"),
                v.get("arg3"),
                v.get("arg4"),
                v.get("arg5"),
                0,
            ],
        ),
        PidfdOpen => raw(
            nr::PIDFD_OPEN,
            [
                v.opt("pid").unwrap_or(sys::pid() as u64),
                v.get("flags"),
                0,
                0,
                0,
                0,
            ],
        ),
        ProcessMadvise => {
            let mut ranges = vec![(v.get("addr"), v.get("len"))];
            for (a, l) in [("addr2", "len2"), ("addr3", "len3")] {
                if let Some(addr) = v.opt(a) {
                    ranges.push((addr, v.get(l)));
                }
            }
            let vlen = v.opt("vlen").unwrap_or(ranges.len() as u64);
            from(sys::process_madvise(
                v.get("pidfd"),
                &ranges,
                vlen,
                v.get("advice"),
                v.get("flags"),
            ))
        }
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
        Write if v.opt("buf").is_some() => {
            let (fd, buf, len) = (v.get("fd"), v.get("buf"), v.get("len"));
            match v.opt("offset") {
                Some(off) => raw(nr::PWRITE, [fd, buf, len, off, 0, 0]),
                None => raw(nr::WRITE, [fd, buf, len, 0, 0, 0]),
            }
        }
        Write => {
            let data = match (step.text("text"), step.text("code")) {
                (Some(t), _) => t.as_bytes().to_vec(),
                (None, Some(_)) => probe::RET.repeat(v.get("len") as usize),
                (None, None) => match buffer(v.get("len")) {
                    Ok(mut b) => {
                        b.fill(v.get("fill") as u8);
                        b
                    }
                    Err(obs) => return obs,
                },
            };
            from(sys::write_from(v.fd("fd"), &data, v.opt("offset")))
        }
        Read if v.opt("buf").is_some() => read_to(v),
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
        Sendfile => from(sys::sendfile(
            v.fd("out"),
            v.fd("in"),
            v.opt("offset"),
            v.get("count"),
        )),
        Splice => from(sys::splice(
            v.fd("in"),
            v.opt("off-in"),
            v.fd("out"),
            v.opt("off-out"),
            v.get("len"),
            v.get("flags"),
        )),
        Vmsplice => from(sys::vmsplice(
            v.fd("fd"),
            v.get("addr"),
            v.get("len"),
            v.get("flags"),
        )),
        Fsync => raw(nr::FSYNC, [v.get("fd"), 0, 0, 0, 0, 0]),
        Fchmod => raw(nr::FCHMOD, [v.get("fd"), v.get("mode"), 0, 0, 0, 0]),
        Load => load(state, v.get("addr"), v.get("len")),
        Store => match (step.text("text"), step.text("code")) {
            (Some(t), _) => match probe::copy(v.get("addr"), t.as_ptr() as u64, t.len()) {
                Ok(()) => ok(0),
                Err(f) => fault(f),
            },
            (None, Some(_)) => store_code(v.get("addr"), v.get("len")),
            (None, None) => store_run(state, v.get("addr"), v.get("byte") as u8, v.get("len")),
        },
        // Instructions are 4-byte aligned on aarch64 and powerpc (a branch there drops the low
        // bits or faults on them); refused everywhere, so a case written on x86 runs anywhere.
        Jump if v.get("addr") % 4 != 0 => Obs::NotRun {
            reason: "a jump target must be a multiple of 4: instructions are 4-byte aligned on \
                     aarch64 and powerpc"
                .into(),
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
        Thread => thread::start(state, step),
        Pause => ok(0),
        Resume | Join => thread::hand_off(state, v.get("thread"), step.call == Join),
        Wait => wait(state, v.get("pid") as i32),
        Exec => exec(state, step),
        Sleep => {
            sys::sleep_ms(v.get("ms"));
            ok(0)
        }
        Let => ok(v.get("value")),
        Maps => maps(v.get("addr"), v.get("len")),
        Smaps => smaps(v.get("addr"), v.get("len")),
        Pagemap => pagemap(v.get("addr"), v.get("len"), state.page),
        ClearRefs => clear_refs(v.get("value")),
        Stat => match sys::fstat(v.fd("fd")) {
            Ok(st) => with(
                0,
                Data::Stat {
                    size: st.size,
                    blocks: st.blocks,
                    mtime_ns: st.mtime_ns,
                    ctime_ns: st.ctime_ns,
                },
            ),
            Err(errno) => Obs::Err { errno },
        },
        Locate => locate(state, step.text("what").unwrap_or("")),
        Selftest => selftest(state, step.text("act").unwrap_or(""), v.get("status")),
        // A kernel without the line deviates from proc(5): an observation, not a harness failure.
        Status => with(
            0,
            Data::Status {
                vmlck: procfs::vmlck(),
            },
        ),
        Personality => from(sys::raw(nr::PERSONALITY, [v.get("persona"), 0, 0, 0, 0, 0])),
        DropCap => drop_cap(step.text("cap").unwrap_or("")),
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

/// read(2) or pread(2) into the case's own memory at `buf`; the bytes that arrived there, as
/// many as the count says, are read back through a probe and recorded.
fn read_to(v: &Values) -> Obs {
    let (fd, buf, len) = (v.get("fd"), v.get("buf"), v.get("len"));
    let r = match v.opt("offset") {
        Some(off) => sys::raw(nr::PREAD, [fd, buf, len, off, 0, 0]),
        None => sys::raw(nr::READ, [fd, buf, len, 0, 0, 0]),
    };
    let n = match r {
        Ok(n) => n,
        Err(errno) => return Obs::Err { errno },
    };
    let mut got = match buffer(n) {
        Ok(b) => b,
        Err(obs) => return obs,
    };
    match probe::copy(got.as_mut_ptr() as u64, buf, got.len()) {
        Ok(()) => with(n, Data::Bytes(Bytes::of(&got))),
        // Memory the kernel could write but a load cannot read (write-only where the hardware
        // allows it): the count is the observation.
        Err(_) => ok(n),
    }
}

/// The page of the child's own stack or code.
pub(super) fn locate(state: &State, what: &str) -> Obs {
    let here = 0u8;
    let addr = match what {
        "stack" => std::hint::black_box(&here) as *const u8 as u64,
        "code" => run_step as fn(&mut State, &Step, &Values) -> Obs as usize as u64,
        // No vDSO (qemu-user gives its guests none) yields 0: what the case then reads there
        // shows the absence, a platform's deviation rather than the harness failing.
        "vdso" => sys::vdso_base().unwrap_or(0),
        other => {
            return Obs::NotRun {
                reason: format!("locate cannot find `{other}`"),
            }
        }
    };
    ok(addr & !(state.page - 1))
}

/// Misbehaves on purpose (see `selftest` in case/vocab): the runner's own hostile fixtures.
pub(super) fn selftest(state: &State, act: &str, status: u64) -> Obs {
    let record_fd = state.setup.record_fd;
    match act {
        "spin" => loop {
            std::hint::spin_loop();
        },
        "orphan" | "straggler" => match sys::fork() {
            Err(ForkError::Errno(errno)) => Obs::Err { errno },
            Err(e) => Obs::NotRun {
                reason: e.to_string(),
            },
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
        "thread" => {
            // A second thread that never ends: the process is no longer single-threaded.
            std::thread::spawn(|| loop {
                std::thread::park();
            });
            ok(0)
        }
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
pub(super) fn load(state: &mut State, addr: u64, len: u64) -> Obs {
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

/// Stores `len` copies of this architecture's return instruction at `addr`, and makes them
/// visible to instruction fetch.
fn store_code(addr: u64, len: u64) -> Obs {
    let code = probe::RET.repeat(len.min(1 << 16) as usize);
    match probe::copy(addr, code.as_ptr() as u64, code.len()) {
        Ok(()) => {
            probe::sync_code(addr, code.len());
            ok(0)
        }
        Err(f) => fault(f),
    }
}

/// Stores `len` copies of `byte`, a work buffer's worth at a time.
pub(super) fn store_run(state: &mut State, addr: u64, byte: u8, len: u64) -> Obs {
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

pub(super) fn scratch_path(scratch: &Path, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        scratch.join(path).to_string_lossy().into_owned()
    }
}

pub(super) fn make_file(state: &State, step: &Step, v: &Values) -> Obs {
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
        } else if let Some(chunk) = repeated_content(step, v, size) {
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

/// A file's content that repeats, a chunk of up to 1 MiB of it: `fill` bytes, or this
/// architecture's return instruction (`pattern = "ret"`), whole instructions only.
fn repeated_content(step: &Step, v: &Values, size: u64) -> Option<Vec<u8>> {
    let len = size.min(1 << 20) as usize;
    match (v.opt("fill"), step.text("pattern")) {
        (Some(fill), _) => Some(vec![fill as u8; len]),
        (None, Some("ret")) => Some(probe::RET.repeat(len.div_ceil(probe::RET.len()))),
        _ => None,
    }
}

pub(super) fn compare(v: &Values) -> Obs {
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

/// Drops a capability from the effective, permitted and inheritable sets, for the rest of the
/// process's life.
fn drop_cap(name: &str) -> Obs {
    let Ok(cap) = name.parse::<caps::Capability>() else {
        return Obs::NotRun {
            reason: format!("`{name}` is not a capability (CAP_IPC_LOCK, CAP_SYS_ADMIN, ...)"),
        };
    };
    for set in [
        caps::CapSet::Effective,
        caps::CapSet::Permitted,
        caps::CapSet::Inheritable,
    ] {
        if let Err(e) = caps::drop(None, set, cap) {
            return Obs::NotRun {
                reason: format!("cannot drop {cap}: {e}"),
            };
        }
    }
    ok(0)
}
