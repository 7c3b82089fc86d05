//! Serving userfaultfd faults: a fault in a registered range blocks the faulting thread until
//! someone resolves it, so `uffd_serve` starts a second thread that reads one message and
//! resolves it, and `uffd_served` waits for that thread and reports the message. The thread
//! ends before `uffd_served` returns, so a later `fork` finds the process single-threaded.
//!
//! When no message comes, the outcome is known at `uffd_served`: the steps in between have all
//! returned, and whatever they made the kernel send was queued before they could (a page fault
//! holds the faulting thread until it is resolved, and an event such as UFFD_EVENT_UNMAP holds
//! the call until it is read). So `uffd_served` tells the thread to stop waiting, and the thread
//! looks once more and ends with ETIMEDOUT, the observation a message that never came has
//! always been. The 2 s limit stays only as the guard against a case that never gets there.

use super::*;
use crate::sys::uffd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How long the serving thread waits for a message at most: a fault that never comes (a kernel
/// that ignored the registration) ends as ETIMEDOUT rather than as a hung case.
const WAIT_MS: u64 = 2000;

/// How often the waiting thread looks whether `uffd_served` has asked it to stop: the delay
/// `uffd_served` adds when no message comes.
const SLICE_MS: u16 = 1;

/// A serving thread, and the flag by which `uffd_served` tells it that the steps are done.
pub(super) struct Server {
    handle: std::thread::JoinHandle<Obs>,
    done: Arc<AtomicBool>,
}

pub(super) fn serve(state: &mut State, step: &Step, v: &Values) -> Obs {
    if state.server.is_some() {
        return Obs::NotRun {
            reason: "a `uffd_serve` thread is already waiting; `uffd_served` first".into(),
        };
    }
    let (fd, page, fill) = (v.fd("fd"), state.page, v.get("fill") as u8);
    let resolve = step.text("resolve").unwrap_or("").to_string();
    if !crate::case::vocab::UFFD_RESOLVE.contains(&resolve.as_str()) {
        return Obs::NotRun {
            reason: format!("`uffd_serve` cannot resolve by `{resolve}`"),
        };
    }
    let done = Arc::new(AtomicBool::new(false));
    let steps_done = Arc::clone(&done);
    let spawned = std::thread::Builder::new()
        .name("uffd-serve".into())
        .spawn(move || serve_one(fd, page, &resolve, fill, &steps_done));
    match spawned {
        Ok(handle) => {
            state.server = Some(Server { handle, done });
            ok(0)
        }
        Err(e) => Obs::NotRun {
            reason: format!("cannot start the serving thread: {e}"),
        },
    }
}

/// Reads one message and resolves the page it names. When resolving fails, the page is
/// unregistered, which wakes the faulting thread (its access then completes without
/// userfaultfd), so that the failure is reported rather than hanging the case.
fn serve_one(fd: i32, page: u64, resolve: &str, fill: u8, steps_done: &AtomicBool) -> Obs {
    let msg = match wait_message(fd, steps_done) {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Obs::Err {
                errno: libc::ETIMEDOUT,
            }
        }
        Err(errno) => return Obs::Err { errno },
    };
    // An event other than a page fault (UFFD_EVENT_UNMAP, _REMOVE, ...) has nothing to resolve:
    // it is reported as read, with the start of the range it names (its first word after the
    // event) as the step's value.
    const UFFD_EVENT_PAGEFAULT: u8 = 0x12;
    if msg.event != UFFD_EVENT_PAGEFAULT {
        return with(
            msg.flags,
            Data::UffdMessage {
                event: msg.event,
                flags: 0,
            },
        );
    }
    let at = msg.address & !(page - 1);
    let resolved = match resolve {
        "copy" => uffd::copy(fd, at, &vec![fill; page as usize], 0),
        "zeropage" => uffd::zeropage(fd, at, page, 0),
        _ => uffd::writeprotect(fd, at, page, 0),
    };
    if let Err(errno) = resolved {
        let _ = uffd::unregister(fd, at, page);
        return Obs::Err { errno };
    }
    with(
        msg.address,
        Data::UffdMessage {
            event: msg.event,
            flags: msg.flags,
        },
    )
}

/// Reads one message: the first to come, until `WAIT_MS` has passed or, once the steps are
/// done, until none is left queued. `Ok(None)` when none came.
fn wait_message(fd: i32, steps_done: &AtomicBool) -> Result<Option<uffd::Message>, i32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(WAIT_MS);
    loop {
        // Read before looking: a message queued before the flag was set is found by this look.
        let done = steps_done.load(Ordering::SeqCst);
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let wait = if done {
            0
        } else {
            (left.as_millis() as u64).min(u64::from(SLICE_MS)) as u16
        };
        if let Some(msg) = uffd::read_message(fd, wait)? {
            return Ok(Some(msg));
        }
        if done || left.is_zero() {
            return Ok(None);
        }
    }
}

pub(super) fn served(state: &mut State) -> Obs {
    match state.server.take() {
        None => Obs::NotRun {
            reason: "no `uffd_serve` thread to wait for".into(),
        },
        Some(Server { handle, done }) => {
            done.store(true, Ordering::SeqCst);
            handle.join().unwrap_or_else(|_| Obs::NotRun {
                reason: "the serving thread panicked".into(),
            })
        }
    }
}
