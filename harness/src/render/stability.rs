//! What `mmcheck stability` prints: per environment the runs, the cases whose rendering moved
//! with the layout (with the committed and the observed block), and how much the seeds moved.

use crate::matrix::MatrixError;
use crate::stability::Outcome;
use std::io::Write;

/// At most this many differing cases are shown in full per environment.
const SHOWN: usize = 10;

pub fn stability(out: &mut dyn Write, outcomes: &[(String, Result<Outcome, MatrixError>)]) {
    for (name, outcome) in outcomes {
        let o = match outcome {
            Err(e) => {
                let _ = writeln!(out, "{name}: could not run:");
                for line in e.to_string().lines() {
                    let _ = writeln!(out, "    {line}");
                }
                continue;
            }
            Ok(o) => o,
        };
        let seeds = match (o.seeds.first(), o.seeds.last()) {
            (Some(a), Some(b)) if a != b => format!("seeds {a}..={b}"),
            (Some(a), _) => format!("seed {a}"),
            _ => "no seed".into(),
        };
        let _ = writeln!(
            out,
            "{name} ({}): 1 unseeded run and {} seeded ({seeds}) in {:.0} s",
            o.key,
            o.seeds.len(),
            o.seconds
        );
        let mut ids: Vec<&str> = o.changed.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        let _ = writeln!(
            out,
            "  {} case{} rendered differently from the committed snapshots",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            out,
            "  placements: {} cases map two or more regions; the seeds placed {} of them in more \
             than one way; {} distinct (case, placement) pairs in all runs, {} in the unseeded run",
            o.multi_region_cases, o.moved_cases, o.placements, o.unseeded_placements
        );
        for id in ids.iter().take(SHOWN) {
            let Some(c) = o.changed.iter().find(|c| c.id == *id) else {
                continue;
            };
            let runs: Vec<String> = o
                .changed
                .iter()
                .filter(|x| x.id == *id)
                .map(|x| x.seed.map_or("unseeded".into(), |s| format!("seed {s}")))
                .collect();
            let _ = writeln!(out, "\n  {id}, under {}:", runs.join(", "));
            let _ = writeln!(out, "    committed:");
            for line in c.committed.lines() {
                let _ = writeln!(out, "      {line}");
            }
            let seen = c.seed.map_or("unseeded".into(), |s| format!("seed {s}"));
            let _ = writeln!(out, "    observed ({seen}):");
            for line in c.observed.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
        if ids.len() > SHOWN {
            let _ = writeln!(
                out,
                "\n  ... and {} more: {}",
                ids.len() - SHOWN,
                ids[SHOWN..].join(", ")
            );
        }
        let _ = writeln!(out);
    }
}
