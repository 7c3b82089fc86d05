//! `repeat = N` at the speed of the call it repeats. The step's arguments are compiled once,
//! before the first iteration: an argument that does not read `$i` is evaluated once, and one
//! that does becomes `base + stride * $i` (wrapping, as the expression language computes), so an
//! iteration costs the call and two integer operations per argument. Only the iteration that
//! ended the loop and its outcome are kept: the record of a repeated step has nothing else.
//! A step whose arguments are not affine in `$i` (`$i*$i`, `$i/2`, ...) or cannot be evaluated
//! is run the general way, evaluating its arguments each time, which gives the same records.

use super::*;
use crate::case::expr::{Expr, Op};

/// Runs `step` up to `count` times with `$i` in slot `i_slot`, until the first outcome that is
/// not a success: (the last outcome, the iterations run).
pub(super) fn run(state: &mut State, step: &Step, count: u64, i_slot: usize) -> (Obs, u64) {
    match compile(step, state, i_slot) {
        Some(forms) => run_compiled(state, step, count, i_slot, &forms),
        None => run_evaluated(state, step, count, i_slot),
    }
}

/// The loop as it was written: every argument evaluated at every iteration.
fn run_evaluated(state: &mut State, step: &Step, count: u64, i_slot: usize) -> (Obs, u64) {
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
    (obs, runs)
}

/// The compiled loop: the argument values are updated in place, nothing is allocated.
fn run_compiled(
    state: &mut State,
    step: &Step,
    count: u64,
    i_slot: usize,
    forms: &[Affine],
) -> (Obs, u64) {
    let mut v = Values(
        step.args
            .iter()
            .filter(|(_, a)| matches!(a, ArgValue::Num(_)))
            .zip(forms)
            .map(|((name, _), f)| (*name, f.base))
            .collect(),
    );
    let mut obs = Obs::NotRun {
        reason: "repeat ran no iteration".into(),
    };
    let mut runs = 0;
    for i in 0..count {
        for (slot, f) in v.0.iter_mut().zip(forms) {
            slot.1 = f.at(i);
        }
        // `$i` as the general loop leaves it, for a step (a `fork`) that copies the slots.
        state.slots[i_slot] = Some(i);
        obs = run_values(state, step, &v);
        runs = i + 1;
        if !matches!(obs, Obs::Ok { .. }) {
            break;
        }
    }
    (obs, runs)
}

/// `base + stride * i`, wrapping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Affine {
    pub(crate) base: u64,
    pub(crate) stride: u64,
}

impl Affine {
    fn constant(base: u64) -> Affine {
        Affine { base, stride: 0 }
    }
    fn at(self, i: u64) -> u64 {
        self.base.wrapping_add(self.stride.wrapping_mul(i))
    }
}

/// Every numeric argument of the step as an affine form of `$i`, in argument order; `None` when
/// one is not affine or cannot be evaluated (the general loop then reports it as before).
fn compile(step: &Step, scope: &dyn Scope, i_slot: usize) -> Option<Vec<Affine>> {
    step.args
        .iter()
        .filter_map(|(_, a)| match a {
            ArgValue::Num(e) => Some(affine(e, scope, i_slot)),
            ArgValue::Text(_) => None,
        })
        .collect()
}

/// `e` as `base + stride * $i`, where `$i` is slot `i_slot`. Sums, differences, negation, `~`,
/// products with a constant and shifts by a constant keep the form (all wrap modulo 2^64, as
/// evaluation does); anything else reading `$i` gives `None`. A part that does not read `$i` is
/// evaluated once.
pub(crate) fn affine(e: &Expr, scope: &dyn Scope, i_slot: usize) -> Option<Affine> {
    if !reads(e, i_slot) {
        return e.eval(scope).ok().map(Affine::constant);
    }
    Some(match e {
        Expr::Ref(_, slot) if *slot == i_slot => Affine { base: 0, stride: 1 },
        Expr::Neg(x) => {
            let a = affine(x, scope, i_slot)?;
            Affine {
                base: a.base.wrapping_neg(),
                stride: a.stride.wrapping_neg(),
            }
        }
        // ~x = -x - 1
        Expr::Not(x) => {
            let a = affine(x, scope, i_slot)?;
            Affine {
                base: !a.base,
                stride: a.stride.wrapping_neg(),
            }
        }
        Expr::Bin(op, x, y) => {
            let (a, b) = (affine(x, scope, i_slot)?, affine(y, scope, i_slot)?);
            match op {
                Op::Add => Affine {
                    base: a.base.wrapping_add(b.base),
                    stride: a.stride.wrapping_add(b.stride),
                },
                Op::Sub => Affine {
                    base: a.base.wrapping_sub(b.base),
                    stride: a.stride.wrapping_sub(b.stride),
                },
                Op::Mul if a.stride == 0 => scale(b, a.base),
                Op::Mul if b.stride == 0 => scale(a, b.base),
                // Shifting left by k (taken modulo 64, as `wrapping_shl` does) multiplies by 2^k.
                Op::Shl if b.stride == 0 => scale(a, 1u64.wrapping_shl(b.base as u32)),
                _ => return None,
            }
        }
        _ => return None,
    })
}

fn scale(a: Affine, k: u64) -> Affine {
    Affine {
        base: a.base.wrapping_mul(k),
        stride: a.stride.wrapping_mul(k),
    }
}

fn reads(e: &Expr, slot: usize) -> bool {
    let mut refs = Vec::new();
    e.refs(&mut refs);
    refs.contains(&slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::expr::{parse, Context};
    use crate::names::Family;

    struct At {
        slots: Vec<Option<u64>>,
    }
    impl Scope for At {
        fn page(&self) -> u64 {
            4096
        }
        fn slot(&self, index: usize) -> Option<u64> {
            self.slots.get(index).copied().flatten()
        }
    }

    fn expr(text: &str) -> Expr {
        let resolve = |n: &str| match n {
            "m" => Ok(0),
            "i" => Ok(1),
            other => Err(format!("no ${other}")),
        };
        let families = [Family::Prot, Family::Map];
        let cx = Context {
            families: &families,
            resolve: &resolve,
        };
        parse(text, &cx).expect("parses")
    }

    /// The compiled form gives what evaluation gives, at every iteration tried.
    #[test]
    fn affine_forms_agree_with_evaluation() {
        let m = 0x7f00_0000_0000u64;
        for text in [
            "$m+2*$i*PAGE+PAGE",
            "$m+2*$i*PAGE",
            "$m+100000*PAGE+2*$i*PAGE",
            "$m+$i*PAGE",
            "PAGE",
            "PROT_READ|PROT_WRITE",
            "-$i",
            "~$i+3",
            "$m-($i<<12)",
            "($i*3)*PAGE-$m",
            "0-1-$i",
        ] {
            let e = expr(text);
            let form = affine(
                &e,
                &At {
                    slots: vec![Some(m), Some(0)],
                },
                1,
            )
            .unwrap_or_else(|| panic!("{text} is affine"));
            for i in [0, 1, 2, 7, 1000, 65535, 550_000, u64::MAX / 3] {
                let want = e.eval(&At {
                    slots: vec![Some(m), Some(i)],
                });
                assert_eq!(Ok(form.at(i)), want, "{text} at $i = {i}");
            }
        }
    }

    #[test]
    fn what_is_not_affine_is_left_to_evaluation() {
        let scope = At {
            slots: vec![Some(4096), Some(0)],
        };
        for text in [
            "$i*$i", "$i/2", "$i%3", "$i|1", "$i&1", "1<<$i", "$i==0", "!$i",
        ] {
            assert_eq!(affine(&expr(text), &scope, 1), None, "{text}");
        }
        // A `$name` whose step failed: the general loop reports it.
        let failed = At {
            slots: vec![None, Some(0)],
        };
        assert_eq!(affine(&expr("$m+$i"), &failed, 1), None);
        assert_eq!(affine(&expr("PAGE/0+$i"), &scope, 1), None);
    }
}
