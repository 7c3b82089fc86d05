//! Cases generated from the step vocabulary: plausible, so that many of them load.

use super::*;

// Cases generated from the vocabulary: plausible, so that many of them load.

#[derive(Debug, Clone)]
pub(crate) struct GenStep {
    id: Option<String>,
    call: &'static str,
    args: Vec<(String, String)>,
    expect: Option<String>,
    expect_if: Vec<String>,
    repeat: Option<String>,
    children: Vec<GenStep>,
}

/// An expression for an argument that takes these families: their names, numbers, PAGE, $ids.
pub(crate) fn arg_expr(families: &'static [Family]) -> BoxedStrategy<String> {
    let consts: Vec<&'static str> = names::CONSTANTS
        .iter()
        .filter(|k| families.contains(&k.family))
        .map(|k| k.name)
        .collect();
    let atom = if consts.is_empty() {
        prop_oneof![
            number(),
            Just("PAGE".to_string()),
            select(IDS).prop_map(|n| format!("${n}"))
        ]
        .boxed()
    } else {
        prop_oneof![
            3 => select(consts).prop_map(String::from),
            1 => number(),
            1 => select(IDS).prop_map(|n| format!("${n}")),
        ]
        .boxed()
    };
    prop_oneof![
        6 => prop::collection::vec(atom, 1..4).prop_map(|v| v.join("|")),
        2 => (0u64..8).prop_map(|n| format!("{n}*PAGE")),
        1 => select(IDS).prop_map(|n| format!("${n}+PAGE")),
        1 => expr(),
    ]
    .boxed()
}

pub(crate) fn generated_expect(call: &'static vocab::CallSpec) -> BoxedStrategy<String> {
    let errnos: Vec<&str> = names::ERRNOS.iter().map(|(n, _)| *n).collect();
    let mut fields: Vec<BoxedStrategy<String>> = vec![
        Just("ok = true".to_string()).boxed(),
        select(errnos.clone())
            .prop_map(|e| format!("errno = \"{e}\""))
            .boxed(),
        (select(errnos.clone()), select(errnos))
            .prop_map(|(a, b)| format!("errno = [\"{a}\", \"{b}\"], why = \"because\""))
            .boxed(),
        prop_oneof![
            expr().prop_map(|e| basic(&e)),
            (padded_expr(), any::<u64>()).prop_map(|(e, m)| escaped(&e, m)),
        ]
        .prop_map(|v| format!("ret = {v}"))
        .boxed(),
        (
            select(&["SIGSEGV", "SIGBUS", "SIGKILL", "SIGSEGVV"][..]),
            select(&["SEGV_ACCERR", "SEGV_MAPERR", "BUS_ADRERR", "SI_KERNEL"][..]),
            expr(),
        )
            .prop_map(|(s, c, a)| {
                format!("signal = \"{s}\", si-code = \"{c}\", addr = {}", basic(&a))
            })
            .boxed(),
        any::<i64>().prop_map(|e| format!("exit = {e}")).boxed(),
        (select(KEYS), value())
            .prop_map(|(k, v)| format!("{k} = {v}"))
            .boxed(),
    ];
    for check in call.checks {
        fields.push(
            prop_oneof![
                value(),
                padded_expr().prop_map(|e| basic(&e)),
                (padded_expr(), any::<u64>()).prop_map(|(e, m)| escaped(&e, m)),
            ]
            .prop_map(move |v| format!("{check} = {v}"))
            .boxed(),
        );
    }
    prop::collection::vec(prop::strategy::Union::new(fields), 0..3)
        .prop_map(|v| format!("{{ {} }}", v.join(", ")))
        .boxed()
}

/// One step of each call (no children), drawn uniformly from the vocabulary.
pub(crate) fn build_leaf_step() -> BoxedStrategy<GenStep> {
    let per_call: Vec<BoxedStrategy<GenStep>> = vocab::CALLS
        .iter()
        .map(|call| {
            let args: Vec<BoxedStrategy<Option<(String, String)>>> = call
                .args
                .iter()
                .map(|a| {
                    let v = match a.kind {
                        Kind::Num(f) => arg_expr(f).prop_map(|e| basic(&e)).boxed(),
                        Kind::Text => text().prop_map(|t| basic(&t)).boxed(),
                    };
                    let required = a.default.is_none();
                    let name = a.name;
                    (v, 0..10u8)
                        .prop_map(move |(v, roll)| {
                            (required && roll < 9 || roll < 4).then(|| (name.to_string(), v))
                        })
                        .boxed()
                })
                .collect();
            let is_fork = call.call == vocab::Call::Fork;
            let expect = generated_expect(call);
            (
                prop::option::weighted(if is_fork { 0.95 } else { 0.4 }, select(IDS)),
                args,
                prop::option::of(expect.clone()),
                prop::collection::vec(
                    (
                        select(&[">=5.17", "<6.0", "=6.1", ">=6.1, <6.3"][..]),
                        expect,
                    )
                        .prop_map(|(k, e)| format!("{{ kernel = \"{k}\", {}", &e[2..])),
                    0..2,
                ),
                prop::option::weighted(0.1, toml_int()),
            )
                .prop_map(move |(id, args, expect, expect_if, repeat)| GenStep {
                    id: id.map(String::from),
                    call: call.name,
                    args: args.into_iter().flatten().collect(),
                    expect,
                    expect_if,
                    repeat,
                    children: Vec::new(),
                })
                .boxed()
        })
        .collect();
    prop::strategy::Union::new(per_call).boxed()
}

cached! {
    pub(crate) fn leaf_step() -> BoxedStrategy<GenStep> = build_leaf_step;
}

/// A step; a fork gets child steps, themselves forks with children at most two deep.
pub(crate) fn build_generated_step() -> BoxedStrategy<GenStep> {
    let with_children = |children: BoxedStrategy<Vec<GenStep>>| {
        (leaf_step(), children)
            .prop_map(|(mut s, children)| {
                if s.call == "fork" {
                    s.children = children;
                }
                s
            })
            .boxed()
    };
    let level1 = with_children(prop::collection::vec(leaf_step(), 0..3).boxed());
    with_children(prop::collection::vec(level1, 0..3).boxed())
}

cached! {
    pub(crate) fn generated_step() -> BoxedStrategy<GenStep> = build_generated_step;
}

/// The steps as TOML tables under `path` (`step`, `step.child`, ...). A fork gets its `wait`.
pub(crate) fn render_steps(steps: &[GenStep], path: &str) -> String {
    let mut out = String::new();
    for s in steps {
        out.push_str(&format!("[[{path}]]\n"));
        if let Some(id) = &s.id {
            out.push_str(&format!("id = \"{id}\"\n"));
        }
        out.push_str(&format!("call = \"{}\"\n", s.call));
        if !s.args.is_empty() {
            let args: Vec<String> = s.args.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            out.push_str(&format!("args = {{ {} }}\n", args.join(", ")));
        }
        if let Some(r) = &s.repeat {
            out.push_str(&format!("repeat = {r}\n"));
        }
        if let Some(e) = &s.expect {
            out.push_str(&format!("expect = {e}\n"));
        }
        if !s.expect_if.is_empty() {
            out.push_str(&format!("expect-if = [{}]\n", s.expect_if.join(", ")));
        }
        out.push_str(&render_steps(&s.children, &format!("{path}.child")));
        if let (Some(id), true) = (&s.id, s.call == "fork") {
            out.push_str(&format!(
                "[[{path}]]\ncall = \"wait\"\nargs = {{ pid = \"${id}\" }}\n"
            ));
        }
    }
    out
}

cached! {
    pub(crate) fn generated_case() -> BoxedStrategy<String> = build_generated_case;
}

pub(crate) fn build_generated_case() -> BoxedStrategy<String> {
    let symbols = prop::collection::vec(select(names_pool()), 1..4);
    (
        symbols,
        prop::option::weighted(0.2, (key(), value())),
        prop::collection::vec(generated_step(), 1..6),
    )
        .prop_map(|(symbols, requires, steps)| {
            let mut out = format!(
                "summary = \"generated\"\nsymbols = [{}]\nrefs = [\"mmap(2)\"]\n",
                symbols
                    .iter()
                    .map(|s| basic(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some((k, v)) = requires {
                out.push_str(&format!("requires = {{ {k} = {v} }}\n"));
            }
            out.push_str(&render_steps(&steps, "step"));
            out
        })
        .boxed()
}
