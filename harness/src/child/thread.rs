//! Threads inside a case: `thread` starts one that waits for control, `resume` runs it up to its
//! next `pause`, `join` runs it to its end and joins it. Control passes like a baton, with the
//! `$name` values, over channels: exactly one thread runs steps at any time, so the records stay
//! in one order and no outcome depends on timing.

use super::*;
use std::sync::mpsc::{channel, Receiver, Sender};

/// What passes with control: the `$name` values and the `faults` baseline, both shared by the
/// threads of the process.
struct Baton {
    slots: Vec<Option<u64>>,
    faults_base: (u64, u64),
    /// From the thread: it ran its last step.
    finished: bool,
}

/// A started thread, seen from the list that started it.
pub(super) struct Handle {
    /// The value of the `thread` step's `$name`: 1 for the case's first thread, and so on.
    number: u64,
    to: Sender<Baton>,
    from: Receiver<Baton>,
    join: std::thread::JoinHandle<()>,
}

/// Starts the thread of `step`, and waits until it has set itself up (its alternate signal
/// stack, its work buffer), so that nothing it maps lands between the case's own steps.
pub(super) fn start(state: &mut State, step: &Step) -> Obs {
    let list = step.child_list.expect("thread steps have a list");
    let number = state.threads.len() as u64 + 1;
    // The thread outlives this borrow of the case; a case child ends with `_exit`, so leaking
    // one copy per thread costs nothing.
    let case: &'static Case = Box::leak(Box::new(state.case.clone()));
    let setup: &'static Setup = Box::leak(Box::new(state.setup.clone()));
    let page = state.page;
    let (to, inbox) = channel::<Baton>();
    let (outbox, from) = channel::<Baton>();
    let spawned = std::thread::Builder::new()
        .name(format!("case-thread-{number}"))
        .spawn(move || {
            probe::install_thread();
            let mut own = State {
                case,
                setup,
                page,
                slots: Vec::new(),
                pending: Vec::new(),
                faults_base: (0, 0),
                work: work_buffer(case),
                server: None,
                threads: Vec::new(),
            };
            let ready = Baton {
                slots: Vec::new(),
                faults_base: (0, 0),
                finished: false,
            };
            if outbox.send(ready).is_err() {
                return;
            }
            let mut pos = 0;
            while let Ok(baton) = inbox.recv() {
                own.slots = baton.slots;
                own.faults_base = baton.faults_base;
                let stopped = run_list(&mut own, list, pos);
                let back = Baton {
                    slots: std::mem::take(&mut own.slots),
                    faults_base: own.faults_base,
                    finished: stopped.is_none(),
                };
                if outbox.send(back).is_err() || stopped.is_none() {
                    return;
                }
                pos = stopped.unwrap_or(pos);
            }
        });
    let join = match spawned {
        Ok(j) => j,
        Err(e) => {
            return Obs::Err {
                errno: e.raw_os_error().unwrap_or(libc::EAGAIN),
            }
        }
    };
    if from.recv().is_err() {
        return Obs::NotRun {
            reason: "the thread ended before it was ready".into(),
        };
    }
    state.threads.push(Handle {
        number,
        to,
        from,
        join,
    });
    ok(number)
}

/// Gives control to thread `number` until its next `pause` or, with `join`, its end, which joins
/// it; the calling thread waits meanwhile.
pub(super) fn hand_off(state: &mut State, number: u64, join: bool) -> Obs {
    let Some(at) = state.threads.iter().position(|t| t.number == number) else {
        return Obs::NotRun {
            reason: format!("{number} is not a thread this list started and has not joined"),
        };
    };
    let baton = Baton {
        slots: std::mem::take(&mut state.slots),
        faults_base: state.faults_base,
        finished: false,
    };
    // The process's threads with this one, to know when the kernel has let it go after a join.
    let threads_now = sys::thread_count();
    let t = &state.threads[at];
    let back = match t.to.send(baton) {
        Ok(()) => t.from.recv().ok(),
        Err(_) => None,
    };
    let Some(back) = back else {
        // The thread took the `$name` values with it; nothing after this can be trusted.
        emit(
            state.setup.record_fd,
            &Record::Broken {
                reason: format!("thread {number} ended without handing control back"),
            },
        );
        sys::exit_now(0)
    };
    state.slots = back.slots;
    state.faults_base = back.faults_base;
    match (join, back.finished) {
        (true, true) => {
            let t = state.threads.remove(at);
            if t.join.join().is_err() {
                return Obs::NotRun {
                    reason: format!("thread {number} panicked"),
                };
            }
            if let Some(n) = threads_now {
                sys::settle_threads(n.saturating_sub(1));
            }
            ok(0)
        }
        (false, false) => ok(0),
        (true, false) => Obs::NotRun {
            reason: format!("thread {number} stopped at a `pause` instead of ending"),
        },
        (false, true) => Obs::NotRun {
            reason: format!("thread {number} ended instead of stopping at a `pause`"),
        },
    }
}
