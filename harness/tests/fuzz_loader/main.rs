//! Fuzzes the case loader. Whatever a case file holds, loading it may not panic or overflow the
//! stack, and every rejection is a diagnostic naming the file and a real line and column of it
//! (and the field, once the file is valid TOML). What loads must be usable: every expression
//! evaluates without a panic, every `$name` points at a slot, the steps run in an order that
//! covers each once, and a synthetic run of the case classifies without a panic.
//!
//! The inputs are structure-aware: mostly the real case files under `cases/` (read at test
//! time) with lines deleted, duplicated or swapped, values replaced by random expressions,
//! numbers, strings, flag names and `$names`, words misspelt, TOML snippets inserted (tables,
//! unknown keys, repeated `[[step]]`s, fork children, deep nesting), truncated and corrupted;
//! then cases generated from the step vocabulary; then plain random bytes.
//!
//! `cargo test` tries a few hundred inputs; `MMCHECK_FUZZ_CASES=200000` tries more (`make fuzz`).
//! Each run prints its seed; `MMCHECK_FUZZ_SEED=<64 hex digits>` replays it. Should an input
//! overflow the stack (which kills the process before any report), it is still on disk: the
//! directory is printed first.

use mmcheck::case::expr::{Expr, Scope};
use mmcheck::case::load::{self, Diagnostic};
use mmcheck::case::plan::{Case, Check, Outcome, Step};
use mmcheck::case::schema::CaseFile;
use mmcheck::case::vocab::{self, Kind};
use mmcheck::names::{self, Family};
use mmcheck::outcome::{self, Seen};
use mmcheck::wire::{Obs, Record};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Inputs `cargo test` tries: about 2 s in a debug build.
const DEFAULT_CASES: u32 = 600;

/// A real case file: its path below `cases/` (`mmap/anon-zeroed`) and its text.
#[derive(Debug)]
struct Seed {
    rel: String,
    text: String,
}

fn seeds() -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("cases/ is readable") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no case files under {}", root.display());
    files
        .into_iter()
        .map(|f| Seed {
            rel: load::case_id(&root, &f),
            text: std::fs::read_to_string(&f).unwrap(),
        })
        .collect()
}

/// Strategies are built once per thread and cloned (cheaply: they are shared) after that;
/// building them is far slower than drawing a value from them.
macro_rules! cached {
    ($(#[$doc:meta])* $vis:vis fn $name:ident() -> BoxedStrategy<$t:ty> = $build:ident;) => {
        $(#[$doc])*
        $vis fn $name() -> BoxedStrategy<$t> {
            thread_local!(static S: BoxedStrategy<$t> = $build());
            S.with(Clone::clone)
        }
    };
}

/// Fails the property with a message, as `assert!` would panic.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($fmt)*)));
        }
    };
}

mod check;
mod edit;
mod generated;
mod snippets;
mod words;

use check::*;
use edit::*;
use generated::*;
use snippets::*;
use words::*;

// ---------------------------------------------------------------------------------------------
// Inputs.

#[derive(Debug, Clone)]
enum Input {
    Mutated { seed: Index, edits: Vec<Edit> },
    Generated(String),
    Bytes(Vec<u8>),
    Chars(String),
}

cached! {
    fn input() -> BoxedStrategy<Input> = build_input;
}

fn build_input() -> BoxedStrategy<Input> {
    prop_oneof![
        14 => (any::<Index>(), prop::collection::vec(edit(), 1..5))
            .prop_map(|(seed, edits)| Input::Mutated { seed, edits }),
        4 => generated_case().prop_map(Input::Generated),
        1 => prop::collection::vec(any::<u8>(), 0..600).prop_map(Input::Bytes),
        1 => any::<String>().prop_map(Input::Chars),
    ]
    .boxed()
}

/// The file the input goes to (`<call>/<name>.toml` below the root), and its bytes.
fn materialize(input: &Input, seeds: &[Seed]) -> (String, Vec<u8>) {
    match input {
        Input::Mutated { seed, edits } => {
            let s = &seeds[seed.index(seeds.len())];
            (format!("{}.toml", s.rel), apply(&s.text, edits))
        }
        Input::Generated(t) => ("mmap/generated.toml".into(), t.clone().into_bytes()),
        Input::Bytes(b) => ("mmap/bytes.toml".into(), b.clone()),
        Input::Chars(s) => ("mprotect/chars.toml".into(), s.clone().into_bytes()),
    }
}

struct Stats {
    tried: AtomicUsize,
    loaded: AtomicUsize,
    rejected: AtomicUsize,
}

fn check_input(
    input: &Input,
    seeds: &[Seed],
    root: &Path,
    stats: &Stats,
) -> Result<(), TestCaseError> {
    stats.tried.fetch_add(1, Ordering::Relaxed);
    let (rel, bytes) = materialize(input, seeds);
    let file = root.join(&rel);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &bytes).unwrap();
    let (cases, diags) = load::load_dir(root);
    std::fs::remove_file(&file).unwrap();
    if diags.is_empty() {
        stats.loaded.fetch_add(1, Ordering::Relaxed);
        ensure!(!cases.is_empty(), "nothing loaded and nothing rejected");
        for case in &cases {
            check_case(case)?;
        }
    } else {
        stats.rejected.fetch_add(1, Ordering::Relaxed);
        ensure!(cases.is_empty(), "a rejected file gave cases too");
        check_diagnostics(&diags, &file, &bytes)?;
    }
    Ok(())
}

fn seed_bytes() -> [u8; 32] {
    let mut seed = [0u8; 32];
    match std::env::var("MMCHECK_FUZZ_SEED") {
        Ok(hex) => {
            assert_eq!(hex.len(), 64, "MMCHECK_FUZZ_SEED is 64 hex digits");
            for (i, b) in seed.iter_mut().enumerate() {
                *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex digits");
            }
        }
        Err(_) => {
            // No rand dependency of our own: time and the process id are random enough here.
            use std::hash::{BuildHasher, Hasher};
            for chunk in seed.chunks_mut(8) {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u128(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos(),
                );
                h.write_u32(std::process::id());
                chunk.copy_from_slice(&h.finish().to_le_bytes());
            }
        }
    }
    seed
}

/// The cases as written are where the mutations start: each loads and is usable.
#[test]
fn every_real_case_is_usable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    let (cases, diags) = load::load_dir(&root);
    assert!(diags.is_empty(), "{diags:#?}");
    for case in &cases {
        if let Err(e) = check_case(case) {
            panic!("{e}");
        }
    }
}

/// mmcheck loads cases on a main thread, whose stack is 8 MiB; libtest's threads have 2 MiB, too
/// little for a debug build to deserialize the deepest nesting of steps TOML allows (forks in
/// forks, 79 deep).
const MAIN_THREAD_STACK: usize = 8 << 20;

#[test]
fn loader_survives_mutated_cases() {
    std::thread::Builder::new()
        .name("fuzz_loader".into())
        .stack_size(MAIN_THREAD_STACK)
        .spawn(fuzz)
        .unwrap()
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

fn fuzz() {
    let cases: u32 = std::env::var("MMCHECK_FUZZ_CASES")
        .ok()
        .map(|n| n.parse().expect("MMCHECK_FUZZ_CASES is a number"))
        .unwrap_or(DEFAULT_CASES);
    let seeds = seeds();
    let seed = seed_bytes();
    let seed_hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let dir = tempfile::Builder::new()
        .prefix("fuzz_loader-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let root = dir.path().join("cases");
    eprintln!(
        "fuzz_loader: {cases} inputs from {} case files, MMCHECK_FUZZ_SEED={seed_hex}, files in {}",
        seeds.len(),
        root.display()
    );
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let stats = Stats {
        tried: AtomicUsize::new(0),
        loaded: AtomicUsize::new(0),
        rejected: AtomicUsize::new(0),
    };
    let started = Instant::now();
    let result = runner.run(&input(), |input| check_input(&input, &seeds, &root, &stats));
    eprintln!(
        "fuzz_loader: {} inputs tried ({} loaded, {} rejected) in {:.1} s",
        stats.tried.load(Ordering::Relaxed),
        stats.loaded.load(Ordering::Relaxed),
        stats.rejected.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        let shown = match &e {
            proptest::test_runner::TestError::Fail(why, input) => {
                let (rel, bytes) = materialize(input, &seeds);
                format!("{why}\ninput ({rel}):\n{}", String::from_utf8_lossy(&bytes))
            }
            other => other.to_string(),
        };
        panic!("the loader fails on an input (replay with MMCHECK_FUZZ_SEED={seed_hex}): {shown}");
    }
}
