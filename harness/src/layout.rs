//! The layout fuzzer: with a seed (`MMCHECK_LAYOUT_SEED=N`, `mmcheck run --layout-seed N`),
//! every case child first scatters a few PROT_NONE pads of the seed's choosing through its
//! address space and unmaps some of them again, leaving holes. Whatever the case maps afterwards
//! lands somewhere else relative to the harness's mappings and to the holes the kernel may fill,
//! so a rendering that depends on placement shows up as a snapshot change under some seed. The
//! pads are a pure function of the seed and the case id: the same seed moves a case the same way
//! on every run.

/// The variable that sets the seed for `mmcheck run` and `cargo test`.
pub const SEED_VAR: &str = "MMCHECK_LAYOUT_SEED";

/// The seed given in the environment, if any.
pub fn seed_from_env() -> Result<Option<u64>, String> {
    match std::env::var(SEED_VAR) {
        Err(_) => Ok(None),
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("{SEED_VAR}={v:?} is not a number (expected 0 to 2^64-1)")),
    }
}

/// One pad: how many pages, and whether it stays mapped (else it leaves a hole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad {
    pub pages: u64,
    pub keep: bool,
}

/// The pads for a case under a seed: 1 to 12 of 1 to 64 pages, about half of them left mapped
/// and at least one (without one, unmapping the rest would give the same free space back).
pub fn pads(seed: u64, case_id: &str) -> Vec<Pad> {
    let mut rng = SplitMix(seed ^ fnv1a(case_id.as_bytes()));
    let n = 1 + rng.next() % 12;
    let mut out: Vec<Pad> = (0..n)
        .map(|_| Pad {
            pages: 1 + rng.next() % 64,
            keep: rng.next() % 2 == 0,
        })
        .collect();
    if !out.iter().any(|p| p.keep) {
        let last = out.len() - 1;
        out[last].keep = true;
    }
    out
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64: small, fast, and good enough to scatter pads.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Places the pads in this process (a case child, before its first step). A pad the kernel
/// refuses (a case's RLIMIT_AS, say) is left out: the pads only move things.
pub fn scatter(seed: u64, case_id: &str, page: u64) {
    let mut placed = Vec::new();
    for pad in pads(seed, case_id) {
        let len = pad.pages * page;
        let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as u64;
        let prot = libc::PROT_NONE as u64;
        if let Ok(addr) = crate::sys::raw(libc::SYS_mmap, [0, len, prot, flags, u64::MAX, 0]) {
            placed.push((addr, len, pad.keep));
        }
    }
    for (addr, len, keep) in placed {
        if !keep {
            let _ = crate::sys::raw(libc::SYS_munmap, [addr, len, 0, 0, 0, 0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_depend_on_seed_and_case_only() {
        assert_eq!(pads(7, "mmap/a"), pads(7, "mmap/a"));
        assert_ne!(pads(7, "mmap/a"), pads(8, "mmap/a"));
        assert_ne!(pads(7, "mmap/a"), pads(7, "mmap/b"));
        for seed in 0..200 {
            let p = pads(seed, "mremap/grow-maymove-relocates");
            assert!((1..=12).contains(&p.len()));
            assert!(p.iter().all(|p| (1..=64).contains(&p.pages)));
            assert!(p.iter().any(|p| p.keep));
        }
    }
}
