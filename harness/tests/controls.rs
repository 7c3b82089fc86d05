//! Evidence that cannot pass vacuously. A kernel without a feature refuses it with EINVAL: an
//! advice value, a mapping type, an mremap, mlockall or memfd flag, a register mode, an fcntl
//! sealing command it does not know. A case whose contract is that EINVAL for a refusal the
//! feature itself makes (MADV_GUARD_INSTALL on a locked range) would pass where the feature is
//! missing altogether, as it did on gVisor. So each such case has a control step: the same call
//! with the same advice or flag, expected to succeed (docs/case-format.md). Where no control can
//! exist, the case's note says "no control step" and why.

use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// The advice values of POSIX and of every Linux: no kernel refuses them as unknown.
const OLD_ADVICE: &[&str] = &[
    "MADV_NORMAL",
    "MADV_RANDOM",
    "MADV_SEQUENTIAL",
    "MADV_WILLNEED",
    "MADV_DONTNEED",
];

/// The argument holding a call's feature (none: the call is the feature), and whether a name in
/// it is a feature whose absence the kernel reports with EINVAL.
type FeatureArg = (Option<&'static str>, fn(&str) -> bool);

/// For a call, where its features are. `None` for a call whose features are not checked.
fn feature_arg(call: &str) -> Option<FeatureArg> {
    Some(match call {
        "madvise" => (Some("advice"), |t| {
            t.starts_with("MADV_") && !OLD_ADVICE.contains(&t)
        }),
        "mmap" => (Some("flags"), |t| {
            matches!(t, "MAP_DROPPABLE" | "MAP_SHARED_VALIDATE")
        }),
        "mremap" => (Some("flags"), |t| t == "MREMAP_DONTUNMAP"),
        "mlockall" => (Some("flags"), |t| t == "MCL_ONFAULT"),
        "mprotect" => (Some("prot"), |t| {
            matches!(t, "PROT_GROWSDOWN" | "PROT_GROWSUP")
        }),
        "uffdio_register" => (Some("mode"), |t| {
            matches!(t, "UFFDIO_REGISTER_MODE_MINOR" | "UFFDIO_REGISTER_MODE_WP")
        }),
        "memfd" => (Some("flags"), |t| t.starts_with("MFD_")),
        "seal" => (Some("seals"), |t| t.starts_with("F_SEAL_")),
        // F_GET_SEALS itself is the feature.
        "seals" => (None, |_| true),
        _ => return None,
    })
}

/// The features a step uses: names in its feature argument, or the call itself.
fn features(step: &Table) -> Vec<String> {
    let call = step.get("call").and_then(Value::as_str).unwrap_or("");
    let Some((arg, is_feature)) = feature_arg(call) else {
        return Vec::new();
    };
    let Some(arg) = arg else {
        return vec![call.to_string()];
    };
    let text = match step.get("args").and_then(|a| a.get(arg)) {
        Some(Value::String(s)) => s.clone(),
        _ => return Vec::new(),
    };
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| is_feature(t))
        .map(str::to_string)
        .collect()
}

fn errnos(expect: Option<&Value>) -> Vec<&str> {
    match expect.and_then(|e| e.get("errno")) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn branches(step: &Table) -> Vec<&Value> {
    let mut b: Vec<&Value> = step.get("expect").into_iter().collect();
    if let Some(Value::Array(a)) = step.get("expect-if") {
        b.extend(a);
    }
    b
}

/// Expected to succeed on every kernel.
fn succeeds(step: &Table) -> bool {
    let expect = step.get("expect");
    errnos(expect).is_empty()
        && expect.and_then(|e| e.get("signal")).is_none()
        && step.get("expect-if").is_none()
}

/// Every step of a case, those of threads and forked children included, in file order.
fn steps(list: Option<&Value>, out: &mut Vec<Table>) {
    for s in list.and_then(Value::as_array).into_iter().flatten() {
        if let Some(t) = s.as_table() {
            out.push(t.clone());
            steps(t.get("child"), out);
        }
    }
}

/// The steps of a case file whose EINVAL a kernel without the feature would also give, with no
/// step of the same call and feature expected to succeed: `step 4 madvise MADV_GUARD_INSTALL`.
fn uncontrolled(text: &str) -> Result<Vec<String>, String> {
    let case: Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let note = case.get("note").and_then(Value::as_str).unwrap_or("");
    if note.to_lowercase().contains("no control step") {
        return Ok(Vec::new());
    }
    let mut all = Vec::new();
    steps(case.get("step"), &mut all);
    let mut found = Vec::new();
    for (i, s) in all.iter().enumerate() {
        if !branches(s)
            .into_iter()
            .any(|b| errnos(Some(b)).contains(&"EINVAL"))
        {
            continue;
        }
        let call = s.get("call").and_then(Value::as_str).unwrap_or("");
        for f in features(s) {
            let controlled = all.iter().enumerate().any(|(j, o)| {
                j != i
                    && o.get("call").and_then(Value::as_str) == Some(call)
                    && succeeds(o)
                    && features(o).contains(&f)
            });
            if !controlled {
                found.push(format!("step {} {call} {f}", i + 1));
            }
        }
    }
    Ok(found)
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir)
        .expect("cases/ is readable")
        .flatten()
    {
        let p = e.path();
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

#[test]
fn every_einval_a_missing_feature_would_give_has_a_control_step() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    let mut files = Vec::new();
    toml_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 100);
    let mut offenders = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        let id = f.strip_prefix(&root).unwrap().with_extension("");
        match uncontrolled(&text) {
            Ok(found) => {
                offenders.extend(found.into_iter().map(|s| format!("{}: {s}", id.display())))
            }
            Err(e) => panic!("{}: {e}", f.display()),
        }
    }
    assert!(
        offenders.is_empty(),
        "a kernel without the feature would also give these EINVALs; add a control step that \
         uses it successfully, or say in the note why there can be \"no control step\":\n{}",
        offenders.join("\n")
    );
}

/// The case gVisor passed before it had a control step, and with one.
#[test]
fn the_check_sees_a_missing_control_and_a_present_one() {
    let refusal = r#"
summary = "s"
[[step]]
id   = "m"
call = "mmap"
args = { len = "PAGE", prot = "PROT_READ|PROT_WRITE", flags = "MAP_PRIVATE|MAP_ANONYMOUS" }
[[step]]
call = "mlock"
args = { addr = "$m", len = "PAGE" }
[[step]]
call   = "madvise"
args   = { addr = "$m", len = "PAGE", advice = "MADV_GUARD_INSTALL" }
expect = { errno = "EINVAL" }
"#;
    assert_eq!(
        uncontrolled(refusal).unwrap(),
        ["step 3 madvise MADV_GUARD_INSTALL"]
    );
    let control = r#"
[[step]]
call = "madvise"
args = { addr = "$c", len = "PAGE", advice = "MADV_GUARD_INSTALL" }
"#;
    assert!(uncontrolled(&format!("{refusal}{control}"))
        .unwrap()
        .is_empty());
    // A control that itself expects a refusal, or another advice, controls nothing.
    let wrong = control.replace("MADV_GUARD_INSTALL", "MADV_GUARD_REMOVE");
    assert_eq!(uncontrolled(&format!("{refusal}{wrong}")).unwrap().len(), 1);
    let refused = format!("{control}expect = {{ errno = \"EPERM\" }}\n");
    assert_eq!(
        uncontrolled(&format!("{refusal}{refused}")).unwrap().len(),
        1
    );
    // Old advice needs none: every kernel knows it.
    let old = refusal.replace("MADV_GUARD_INSTALL", "MADV_DONTNEED");
    assert!(uncontrolled(&old).unwrap().is_empty());
    // A note may say why there can be none.
    let noted = refusal.replace("summary = \"s\"", "note = \"No control step: why.\"");
    assert!(uncontrolled(&noted).unwrap().is_empty());
}
