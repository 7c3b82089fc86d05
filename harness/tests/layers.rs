//! The layering rule of docs/architecture.md, checked: imports point down, and nothing but the
//! command (`bin/`) and the tests uses `render`, the layer that words and prints. A verdict, a
//! snapshot or a report is data made below it; how it reads on a terminal cannot change it.

use std::path::{Path, PathBuf};

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

#[test]
fn only_the_command_uses_render() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        if rel.starts_with("render") || rel.starts_with("bin") || rel == Path::new("lib.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("readable");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("crate::render") || code.contains("render::") {
                offenders.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "render is the top layer; these files below it use it:\n{}",
        offenders.join("\n")
    );
}
