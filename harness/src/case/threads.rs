//! Compiling threads: a `thread` step's own steps, split at its `pause` steps into the parts that
//! each `resume` and the final `join` run, and the rules that keep a case's threads sequential
//! and joined before anything forks or execs.

use super::load::{Loader, Names};
use super::plan::Plan;
use super::schema::StepSpec;
use super::vocab::Call;
use std::ops::Range as Span;

/// Threads started in one list and not yet joined.
#[derive(Default)]
pub(super) struct Threads {
    running: Vec<Running>,
}

struct Running {
    slot: usize,
    label: String,
    span: Span<usize>,
    /// The names each part of the thread's steps defines: part k runs at the k-th hand-off.
    parts: Vec<Vec<(String, usize)>>,
    /// Hand-offs so far.
    next: usize,
}

impl Threads {
    pub(super) fn start(
        &mut self,
        slot: usize,
        label: String,
        span: Span<usize>,
        parts: Vec<Vec<(String, usize)>>,
    ) {
        self.running.push(Running {
            slot,
            label,
            span,
            parts,
            next: 0,
        });
    }

    /// The label of a thread still running, if any.
    pub(super) fn first_running(&self) -> Option<&str> {
        self.running.first().map(|r| r.label.as_str())
    }

    /// A `resume` (or, with `join`, the `join`) of the thread among `refs`: the names its next
    /// part defines, which the starting list sees from here on.
    pub(super) fn hand_off(
        &mut self,
        refs: &[usize],
        join: bool,
    ) -> Result<Vec<(String, usize)>, String> {
        let Some(at) = self.running.iter().position(|r| refs.contains(&r.slot)) else {
            return Err(format!(
                "`{}` needs `thread` naming a `thread` step of this list that is not yet joined",
                if join { "join" } else { "resume" }
            ));
        };
        let t = &mut self.running[at];
        let pauses_left = t.parts.len() - 1 - t.next;
        let defined = t.parts[t.next].clone();
        t.next += 1;
        let label = t.label.clone();
        if join {
            self.running.remove(at);
            if pauses_left > 0 {
                return Err(format!(
                    "the thread started at {label} still stops at {pauses_left} `pause` step(s): \
                     `resume` runs it to each, `join` runs the part after the last"
                ));
            }
        } else if pauses_left == 0 {
            self.running.remove(at);
            return Err(format!(
                "the thread started at {label} has no `pause` left: run its last part with `join`"
            ));
        }
        Ok(defined)
    }

    /// Threads never joined: their label and where they start.
    pub(super) fn unjoined(self) -> impl Iterator<Item = (String, Span<usize>)> {
        self.running.into_iter().map(|r| (r.label, r.span))
    }
}

impl Loader<'_> {
    /// Compiles a thread's steps (it sees the names defined before it, like a fork's child) and
    /// returns the names each of its parts defines.
    pub(super) fn thread_list(
        &mut self,
        spec: &StepSpec,
        index: usize,
        label: &str,
        plan: &mut Plan,
        names: &mut Names,
    ) -> Option<Vec<Vec<(String, usize)>>> {
        if spec.child.is_empty() {
            self.error(
                spec.call.span(),
                &format!("{label} (thread)"),
                "a `thread` needs `[[step.child]]` steps for the thread to run".into(),
            );
        }
        let list = plan.lists.len();
        plan.lists.push(Vec::new());
        plan.steps[index].child_list = Some(list);
        let saved = names.visible.clone();
        self.list(
            &spec.child,
            list,
            &format!("{label} > thread "),
            plan,
            names,
            true,
        );
        names.visible = saved;
        let mut parts = vec![Vec::new()];
        for &i in &plan.lists[list] {
            let step = &plan.steps[i];
            if let Some(slot) = step.slot {
                let part = parts.last_mut().expect("one part at least");
                part.push((plan.slots[slot].clone(), slot));
            }
            if step.call == Call::Pause {
                parts.push(Vec::new());
            }
        }
        Some(parts)
    }

    /// What a step may not do inside a thread's steps, or around threads.
    pub(super) fn thread_rules(
        &mut self,
        spec: &StepSpec,
        call: Call,
        field: &str,
        in_thread: bool,
    ) {
        let span = spec.call.span();
        let message = match call {
            Call::Fork | Call::Exec | Call::Wait | Call::Thread if in_thread => Some(format!(
                "a thread's steps cannot `{}`: threads run memory and file steps; processes \
                 and other threads belong to the list that started it",
                spec.call.get_ref()
            )),
            Call::Pause if !in_thread => Some(
                "`pause` belongs in a thread's steps (the `[[step.child]]` of a `thread`)".into(),
            ),
            _ => None,
        };
        if let Some(m) = message {
            self.error(span.clone(), field, m);
        }
        if spec.repeat.is_some() && is_hand_off(call) {
            self.error(
                span,
                &format!("{field} repeat"),
                "`thread`, `pause`, `resume` and `join` cannot `repeat`".into(),
            );
        }
    }
}

/// The steps that start threads or pass control between them.
pub(super) fn is_hand_off(call: Call) -> bool {
    matches!(call, Call::Thread | Call::Pause | Call::Resume | Call::Join)
}
