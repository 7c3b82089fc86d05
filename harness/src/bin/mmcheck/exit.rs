//! How `mmcheck` ends: one name for each exit status, documented in the README.

use mmcheck::render;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked was done, and every case passed or was skipped.
    Success,
    /// A case failed or broke, a snapshot changed, or a mutant survived without a reason.
    Failed,
    /// Bad input: a case file, an argument, an environments file; nothing ran.
    BadInput,
    /// mmcheck itself failed where it cannot go on (EX_SOFTWARE).
    Internal,
    /// Interrupted by Ctrl-C or SIGTERM: what finished was reported, the rest was stopped.
    Interrupted,
    /// A status defined elsewhere: kselftest's for `--format ktap`, the internal processes'.
    Code(u8),
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::BadInput => 2,
            Exit::Internal => 70,
            Exit::Interrupted => 130,
            Exit::Code(c) => c,
        })
    }
}

impl Exit {
    /// `Failed` when `failed`, else `Success`.
    pub fn failed_if(failed: bool) -> Exit {
        if failed {
            Exit::Failed
        } else {
            Exit::Success
        }
    }
}

/// Says what was wrong with the input, and ends with [`Exit::BadInput`].
pub fn bad_input(why: impl std::fmt::Display) -> Exit {
    render::error(&mut std::io::stderr(), &why.to_string());
    Exit::BadInput
}
