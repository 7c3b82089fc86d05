//! Processes inside a case: `fork` (the child runs at its `wait`), `wait`, and `exec`, which
//! resumes the case in a new image.

use super::*;
use crate::sys::ForkError;

pub(super) fn fork(state: &mut State, step: &Step) -> Obs {
    let (release_r, release_w) = match sys::pipe(true) {
        Ok(p) => p,
        Err(errno) => return Obs::Err { errno },
    };
    match sys::fork() {
        Err(ForkError::Errno(errno)) => Obs::Err { errno },
        Err(e @ ForkError::Threaded(_)) => {
            emit(
                state.setup.record_fd,
                &Record::Broken {
                    reason: e.to_string(),
                },
            );
            sys::exit_now(0)
        }
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

pub(super) fn wait(state: &mut State, pid: i32) -> Obs {
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

pub(super) fn exec(state: &State, step: &Step) -> Obs {
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
