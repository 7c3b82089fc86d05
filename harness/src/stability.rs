//! `mmcheck stability`: runs the suite in an environment once without and then under many layout
//! seeds (`layout.rs`), and compares every rendering with the committed snapshots. A snapshot
//! must read the same wherever the kernel placed the case's mappings; any case that reads
//! differently under some seed is a rendering that depends on layout, which is our bug.
//!
//! To show that the seeds really moved things, it also counts the placements: for every case
//! that maps two or more regions, the offsets of its regions from its first one.

use crate::matrix::{self, EnvSpec, MatrixError, Options};
use crate::outcome::CaseRun;
use crate::snapshot;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// A case that read differently from its committed snapshot in one run.
pub struct Changed {
    /// `None` for the unseeded run.
    pub seed: Option<u64>,
    pub id: String,
    pub committed: String,
    pub observed: String,
}

/// What one environment's stability run found.
pub struct Outcome {
    pub name: String,
    pub key: String,
    pub seconds: f64,
    /// The seeds run (the unseeded run comes first and is not counted here).
    pub seeds: Vec<u64>,
    pub changed: Vec<Changed>,
    /// Cases that map two or more regions.
    pub multi_region_cases: usize,
    /// Of those, the cases the seeds placed in more than one way.
    pub moved_cases: usize,
    /// Distinct (case, placement) pairs over all runs.
    pub placements: usize,
    /// Distinct (case, placement) pairs in the unseeded run alone.
    pub unseeded_placements: usize,
}

/// Runs `env` unseeded and then under each of `seeds`; `progress` hears status lines.
pub fn run(
    env: &EnvSpec,
    opts: &Options,
    seeds: &[u64],
    progress: &(dyn Fn(&str, &str) + Sync),
) -> Result<Outcome, MatrixError> {
    let start = Instant::now();
    let mut changed = Vec::new();
    let mut key = String::new();
    // case id -> the distinct placements seen, and which of them the unseeded run had.
    let mut placements: BTreeMap<String, BTreeSet<Vec<i128>>> = BTreeMap::new();
    let mut unseeded = 0;
    let runs_to_do: Vec<Option<u64>> = std::iter::once(None)
        .chain(seeds.iter().copied().map(Some))
        .collect();
    for (i, seed) in runs_to_do.iter().enumerate() {
        if crate::sys::interrupted() {
            return Err(MatrixError::NotRun);
        }
        let label = match seed {
            Some(s) => format!("seed {s} ({} of {})", i, seeds.len()),
            None => "unseeded".to_string(),
        };
        progress(&env.name, &label);
        let doc = matrix::execute(env, opts, *seed, &|_, _| {})?;
        let (k, runs) = (doc.env.key.clone(), doc.runs());
        key = k;
        changed.extend(compare(opts, &key, &runs, *seed));
        for r in &runs {
            if let Some(p) = placement(r) {
                placements.entry(r.id.clone()).or_default().insert(p);
            }
        }
        if seed.is_none() {
            unseeded = placements.values().map(BTreeSet::len).sum();
        }
    }
    Ok(Outcome {
        name: env.name.clone(),
        key,
        seconds: start.elapsed().as_secs_f64(),
        seeds: seeds.to_vec(),
        changed,
        multi_region_cases: placements.len(),
        moved_cases: placements.values().filter(|p| p.len() > 1).count(),
        placements: placements.values().map(BTreeSet::len).sum(),
        unseeded_placements: unseeded,
    })
}

/// The cases whose snapshot block differs from the committed one.
fn compare(opts: &Options, key: &str, runs: &[CaseRun], seed: Option<u64>) -> Vec<Changed> {
    let dir = snapshot::dir(&opts.repo, key);
    let mut out = Vec::new();
    for group in snapshot::groups(runs) {
        let committed = snapshot::read(&dir.join(format!("{group}.snap"))).unwrap_or_default();
        let fresh = snapshot::render_group(&group, runs, Some(&committed));
        for (id, committed, observed) in snapshot::changed_blocks(&committed, &fresh) {
            out.push(Changed {
                seed,
                id,
                committed,
                observed,
            });
        }
    }
    out
}

/// Where a case's regions lay relative to its first one: the results of its successful mmap and
/// mremap steps, as offsets from the first. `None` for a case with fewer than two.
fn placement(run: &CaseRun) -> Option<Vec<i128>> {
    let starts: Vec<u64> = run
        .steps
        .iter()
        .filter(|s| s.call == "mmap" || s.call == "mremap")
        .filter_map(|s| match &s.obs {
            Some(crate::wire::Obs::Ok { value, .. }) => Some(*value),
            _ => None,
        })
        .collect();
    let first = *starts.first()?;
    (starts.len() >= 2).then(|| {
        starts
            .iter()
            .map(|s| i128::from(*s) - i128::from(first))
            .collect()
    })
}
