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

#[cfg(test)]
mod tests {
    use crate::case::load::load_one;

    const HEAD: &str = "summary = \"s\"\nsymbols = [\"mmap\"]\nrefs = [\"mmap(2)\"]\n\
                        [[step]]\nid = \"m\"\ncall = \"mmap\"\n\
                        args = { len = \"PAGE\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }\n";

    fn errors(steps: &str) -> Vec<String> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("t.toml");
        std::fs::write(&file, format!("{HEAD}{steps}")).expect("written");
        load_one(&file, "t")
            .expect_err("the case should not load")
            .into_iter()
            .map(|d| format!("{} {}: {}", d.line, d.field, d.message))
            .collect()
    }

    /// A thread with one pause, resumed, then joined; the thread maps `$n` after its pause.
    const PAUSED: &str = "[[step]]\nid = \"t\"\ncall = \"thread\"\n\
        [[step.child]]\ncall = \"load\"\nargs = { addr = \"$m\" }\n\
        [[step.child]]\ncall = \"pause\"\n\
        [[step.child]]\nid = \"n\"\ncall = \"mmap\"\nargs = { len = \"PAGE\", prot = \"PROT_READ\", flags = \"MAP_PRIVATE|MAP_ANONYMOUS\" }\n\
        [[step]]\ncall = \"resume\"\nargs = { thread = \"$t\" }\n\
        [[step]]\ncall = \"munmap\"\nargs = { addr = \"$m\", len = \"PAGE\" }\n\
        [[step]]\ncall = \"join\"\nargs = { thread = \"$t\" }\n";

    #[test]
    fn a_thread_name_is_seen_only_after_the_part_that_defines_it() {
        let steps = PAUSED.replace(
            "[[step]]\ncall = \"munmap\"\nargs = { addr = \"$m\"",
            "[[step]]\ncall = \"munmap\"\nargs = { addr = \"$n\"",
        );
        let errs = errors(&steps);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].contains("`$n`"), "{errs:#?}");
    }

    #[test]
    fn hand_offs_must_match_the_pauses() {
        let errs = errors(&PAUSED.replace("call = \"resume\"", "call = \"join\""));
        assert!(
            errs.iter().any(|e| e.contains("still stops at 1 `pause`")),
            "{errs:#?}"
        );
        let errs = errors(&PAUSED.replace("call = \"join\"", "call = \"resume\""));
        assert!(
            errs.iter().any(|e| e.contains("has no `pause` left")),
            "{errs:#?}"
        );
    }

    #[test]
    fn a_thread_may_not_fork_and_nothing_forks_beside_a_thread() {
        let errs = errors(
            "[[step]]\nid = \"t\"\ncall = \"thread\"\n\
             [[step.child]]\nid = \"p\"\ncall = \"fork\"\n[[step.child.child]]\ncall = \"dir\"\n\
             [[step.child]]\ncall = \"wait\"\nargs = { pid = \"$p\" }\n\
             [[step]]\ncall = \"exec\"\n\
             [[step]]\ncall = \"join\"\nargs = { thread = \"$t\" }\n",
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("a thread's steps cannot `fork`")),
            "{errs:#?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("a thread's steps cannot `wait`")),
            "{errs:#?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("`exec` while the thread")),
            "{errs:#?}"
        );
    }

    #[test]
    fn a_thread_needs_an_id_and_steps_and_is_joined() {
        let errs = errors("[[step]]\ncall = \"thread\"\n[[step]]\nid = \"u\"\ncall = \"thread\"\n");
        assert!(
            errs.iter().any(|e| e.contains("a `thread` needs an `id`")),
            "{errs:#?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("needs `[[step.child]]` steps")),
            "{errs:#?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("is not joined")),
            "{errs:#?}"
        );
    }
}
