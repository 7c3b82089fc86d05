//! The layering rule of docs/architecture.md, checked: imports point down, and nothing but the
//! command (`bin/`) and the tests uses `render`, the layer that words and prints. A verdict, a
//! snapshot or a report is data made below it; how it reads on a terminal cannot change it.
//! Read from the source text: every `crate::module` a file names outside comments and its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library's top-level modules, bottom first. A module may use its own layer and those
/// below; `render` is used only by the command above it.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundations",
        &["names", "version", "sys", "wire", "layout"],
    ),
    ("cases", &["case"]),
    ("verdicts", &["outcome"]),
    ("results document", &["results"]),
    (
        "running",
        &[
            "env", "scratch", "requires", "child", "worker", "pool", "runner", "mutant",
        ],
    ),
    (
        "across runs",
        &[
            "snapshot",
            "matrix",
            "stability",
            "report",
            "explain",
            "coverage",
        ],
    ),
    ("words", &["render"]),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("the source tree is readable")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`case/load.rs` is in `case`).
fn module_of(rel: &Path) -> String {
    let first = rel.components().next().expect("a path under src");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// Every `crate::name` used in the code of a file (not in comments, not in its unit tests), with
/// its line number.
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((n + 1, name));
            } else if let Some(list) = after.strip_prefix('{') {
                // `use crate::{a, b::c};` on one line: each of its modules.
                let list = list.split('}').next().unwrap_or("");
                for item in list.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.push((n + 1, name));
                    }
                }
            }
            rest = after;
        }
    }
    out
}

/// (file, line, from-module, to-module) for every use of another top-level module.
fn edges() -> Vec<(String, usize, String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        if rel.starts_with("bin") || rel == Path::new("lib.rs") {
            continue;
        }
        let from = module_of(rel);
        let text = std::fs::read_to_string(file).expect("readable");
        for (line, to) in uses(&text) {
            if to != from {
                out.push((rel.display().to_string(), line, from.clone(), to));
            }
        }
    }
    out
}

#[test]
fn every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(declared.len() > 10, "lib.rs declares its modules");
    let missing: Vec<&&str> = declared.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "these modules have no layer in tests/layers.rs (and docs/architecture.md): {missing:?}"
    );
}

#[test]
fn imports_point_down() {
    let mut offenders = Vec::new();
    for (file, line, from, to) in edges() {
        let (Some(lf), Some(lt)) = (layer_of(&from), layer_of(&to)) else {
            continue;
        };
        if lt > lf {
            offenders.push(format!(
                "{file}:{line}: `{from}` ({}) uses `{to}` ({}), a layer above it",
                LAYERS[lf].0, LAYERS[lt].0
            ));
        }
    }
    assert!(
        offenders.is_empty(),
        "imports must point down (docs/architecture.md, Layers):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_module_imports_in_a_circle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, _, from, to) in edges() {
        graph.entry(from).or_default().insert(to);
    }
    // Depth-first search; a grey node reached again closes a circle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        circles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            circles.push(circle.join(" -> "));
            return;
        }
        if !done.insert(node.to_string()) {
            return;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done, circles);
        }
        path.pop();
    }
    let mut circles = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(
        circles.is_empty(),
        "modules import each other in a circle:\n{}",
        circles.join("\n")
    );
}

#[test]
fn only_the_command_uses_render() {
    let offenders: Vec<String> = edges()
        .into_iter()
        .filter(|(_, _, _, to)| to == "render")
        .map(|(file, line, _, _)| format!("{file}:{line}"))
        .collect();
    assert!(
        offenders.is_empty(),
        "render is the top layer; these files below it use it:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_reader_sees_through_comments_and_tests() {
    let text = "use crate::case::plan::Case; // crate::render\n/// [`crate::report`]\n\
                fn f() { crate::sys::fork(); }\nuse crate::{wire::Obs, names};\n#[cfg(test)]\nmod tests { use crate::render; }\n";
    let found: Vec<String> = uses(text).into_iter().map(|(_, m)| m).collect();
    assert_eq!(found, ["case", "sys", "wire", "names"]);
}
