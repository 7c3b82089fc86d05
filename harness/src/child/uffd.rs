//! Serving userfaultfd faults: a fault in a registered range blocks the faulting thread until
//! someone resolves it, so `uffd_serve` starts a second thread that reads one message and
//! resolves it, and `uffd_served` waits for that thread and reports the message. The thread
//! ends before `uffd_served` returns, so a later `fork` finds the process single-threaded.

use super::*;
use crate::sys::uffd;

/// How long the serving thread waits for a message: a fault that never comes (a kernel that
/// ignored the registration) ends as ETIMEDOUT rather than as a hung case.
const WAIT_MS: u16 = 2000;

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
    let spawned = std::thread::Builder::new()
        .name("uffd-serve".into())
        .spawn(move || serve_one(fd, page, &resolve, fill));
    match spawned {
        Ok(handle) => {
            state.server = Some(handle);
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
fn serve_one(fd: i32, page: u64, resolve: &str, fill: u8) -> Obs {
    let msg = match uffd::read_message(fd, WAIT_MS) {
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

pub(super) fn served(state: &mut State) -> Obs {
    match state.server.take() {
        None => Obs::NotRun {
            reason: "no `uffd_serve` thread to wait for".into(),
        },
        Some(handle) => handle.join().unwrap_or_else(|_| Obs::NotRun {
            reason: "the serving thread panicked".into(),
        }),
    }
}
