//! The environment a run happens in: kernel, machine, platform, page size, privileges, and the
//! scratch directory for each filesystem. Snapshots and reports key their results on it.

use crate::results::EnvInfo;
use crate::sys;
use crate::version::{self, Version};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct HostEnv {
    /// `linux-6.12-x86_64`: names the snapshot folder.
    #[serde(rename = "key")]
    pub env_key: String,
    /// `uname -r`.
    pub release: String,
    /// `uname -m`.
    pub machine: String,
    /// `linux`, or `gvisor` when the kernel is gVisor's Sentry.
    pub platform: String,
    #[serde(skip)]
    pub kernel: Option<Version>,
    pub page_size: u64,
    pub euid: u32,
    /// Where cases that run on a filesystem put their files, by filesystem name.
    pub scratch: Vec<(String, PathBuf)>,
    /// Filesystems whose scratch directory was found on this machine (/tmp, /dev/shm), neither
    /// made fresh for the run nor named in MMCHECK_SCRATCH: how it was made (block size, mount
    /// options) is the machine's, so cases on it are run but not compared.
    #[serde(skip)]
    pub scratch_found: Vec<String>,
    /// Where cases without a filesystem requirement put their files.
    pub default_scratch: PathBuf,
    /// Filesystems the scratch janitor could not make, with the reason.
    #[serde(skip)]
    pub scratch_problems: Vec<(String, String)>,
    /// Why this process cannot have protection keys (pkeys(7)), or `None` when it can: probed
    /// by allocating one and freeing it again.
    #[serde(skip)]
    pub no_pkeys: Option<NoPkeys>,
    /// Scratch roots left by a janitor that was killed, removed while preparing this run.
    #[serde(skip)]
    pub swept: Vec<PathBuf>,
}

/// statfs f_type of 9p, which gVisor reports for the host files its gofer serves.
const V9FS_MAGIC: i64 = 0x0102_1997;

/// statfs f_type values of the filesystems mmcheck runs cases on.
const MAGIC: &[(&str, i64)] = &[
    ("tmpfs", 0x0102_1994),
    ("ext4", 0xEF53),
    ("xfs", 0x5846_5342),
    ("btrfs", 0x9123_683E),
];

impl HostEnv {
    pub fn detect() -> HostEnv {
        let (release, machine) = sys::uname();
        let default_scratch = std::env::var_os("TMPDIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let platform = detect_platform();
        let (scratch, scratch_found) = find_scratch(&default_scratch);
        let page_size = sys::page_size();
        HostEnv {
            scratch_found,
            env_key: key(&platform, &release, &machine, page_size),
            kernel: linux_version(&platform, &release),
            platform,
            release,
            machine,
            page_size,
            euid: sys::euid(),
            scratch,
            default_scratch,
            scratch_problems: Vec::new(),
            no_pkeys: pkeys_missing(),
            swept: Vec::new(),
        }
    }

    /// The environment as a results document records it.
    pub fn info(&self) -> EnvInfo {
        EnvInfo {
            key: self.env_key.clone(),
            release: self.release.clone(),
            machine: self.machine.clone(),
            platform: self.platform.clone(),
            page_size: self.page_size,
            runtime: None,
            euid: Some(self.euid),
            scratch: self.scratch.clone(),
            default_scratch: Some(self.default_scratch.clone()),
        }
    }

    /// The kernel's architecture, which `requires.arch` names: `uname -m`, except under
    /// User-mode Linux, whose architecture code is `um` (its page tables are the host's
    /// mappings) whatever `uname -m` passes on from the host.
    pub fn kernel_arch(&self) -> &str {
        if self.platform == "uml" {
            "um"
        } else {
            &self.machine
        }
    }

    /// The scratch directory for a filesystem, if this machine has a writable one.
    pub fn scratch_for(&self, fs: &str) -> Option<&Path> {
        self.scratch
            .iter()
            .find(|(name, _)| name == fs)
            .map(|(_, p)| p.as_path())
    }
}

/// Why protection keys are missing here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoPkeys {
    /// The sentence printed with the skip.
    pub reason: String,
    /// The processor has none (its feature flag is missing from /proc/cpuinfo): a property of
    /// the machine, not of the kernel, which would give keys on another processor.
    pub processor: bool,
}

/// Why protection keys are missing here, from pkey_alloc's errno (ENOSPC or EINVAL where the
/// processor or the kernel has none: x86 without `pku`/`ospke` in /proc/cpuinfo, arm64 without
/// POE, most powerpc VMs; ENOSYS where the call does not exist: a sandbox, an emulator) and
/// /proc/cpuinfo.
fn pkeys_missing() -> Option<NoPkeys> {
    let errno = sys::pkeys_available().err()?;
    let flag = processor_key_flag();
    // pkey_alloc(2) gives ENOSPC where the processor or the kernel has no keys; x86 Linux 6.18
    // on a Xeon without `pku` gave EINVAL. ENOSYS is a kernel without the call, whatever the
    // processor.
    let processor = errno != libc::ENOSYS
        && flag.is_some_and(|f| cpuinfo_lacks(&std::fs::read_to_string("/proc/cpuinfo").ok(), f));
    let reason = match flag {
        Some(f) if processor => format!(
            "needs memory protection keys; this processor has none (no `{f}` in /proc/cpuinfo)"
        ),
        _ => format!(
            "needs memory protection keys; pkey_alloc(0, 0) fails here with {}",
            crate::names::errno_name(errno)
        ),
    };
    Some(NoPkeys { reason, processor })
}

/// The /proc/cpuinfo flag of a processor with protection keys: `pku` on x86 (the kernel adds
/// `ospke` when it enables them), `poe` on arm64. `None` where the processor's keys do not show
/// there (powerpc), so that ENOSPC stays the kernel's.
fn processor_key_flag() -> Option<&'static str> {
    if cfg!(target_arch = "x86_64") {
        Some("pku")
    } else if cfg!(target_arch = "aarch64") {
        Some("poe")
    } else {
        None
    }
}

/// Whether /proc/cpuinfo's feature lines (`flags` on x86, `Features` on arm64) exist and none of
/// them has `flag`. Unreadable or without such lines, nothing is known: `false`.
fn cpuinfo_lacks(cpuinfo: &Option<String>, flag: &str) -> bool {
    let Some(text) = cpuinfo else { return false };
    let mut lines = text.lines().filter_map(|l| {
        let (key, value) = l.split_once(':')?;
        matches!(key.trim(), "flags" | "Features").then_some(value)
    });
    let mut seen = false;
    let has = lines.any(|v| {
        seen = true;
        v.split_whitespace().any(|w| w == flag)
    });
    seen && !has
}

/// `gvisor` when the kernel is gVisor's Sentry, `uml` under User-mode Linux (Linux's own memory
/// management over the host's mappings, so its version gates apply), `qemu-user` under
/// qemu's user-mode emulation, else `linux`; `MMCHECK_PLATFORM` overrides (the qemu-user
/// environment sets it too, in case a later qemu emulates /proc/cpuinfo).
/// The Sentry reports a fixed, fictional Linux 4.4.0 build in /proc/version (seen with Debian's
/// runsc 2022-12), which no real kernel has.
fn detect_platform() -> String {
    if let Ok(p) = std::env::var("MMCHECK_PLATFORM") {
        return p;
    }
    let version = std::fs::read_to_string("/proc/version").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    platform_from(&version, &cpuinfo, &sys::uname().1).into()
}

/// The platform /proc/version and /proc/cpuinfo show: gVisor's Sentry by its fixed version line;
/// User-mode Linux, whose `uname -m` is the host's, by the vendor its cpuinfo gives; qemu-user
/// (7.2) by a cpuinfo of another architecture than `uname -m`: it passes the host's through
/// (an x86 vendor_id under an aarch64 or ppc64le uname; an arm "CPU implementer" under x86_64).
fn platform_from(version: &str, cpuinfo: &str, machine: &str) -> &'static str {
    let field = |name: &str| cpuinfo.lines().find(|l| l.starts_with(name));
    let x86_cpu = field("vendor_id")
        .is_some_and(|l| l.ends_with("GenuineIntel") || l.ends_with("AuthenticAMD"));
    let arm_cpu = field("CPU implementer").is_some();
    if version.starts_with("Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016") {
        "gvisor"
    } else if field("vendor_id").is_some_and(|l| l.ends_with(": User Mode Linux")) {
        "uml"
    } else if (x86_cpu && !matches!(machine, "x86_64" | "i686"))
        || (arm_cpu && !matches!(machine, "aarch64" | "armv7l"))
    {
        "qemu-user"
    } else {
        "linux"
    }
}

/// Whether the system calls are answered by the Linux kernel whose release `uname` gives, so
/// that kernel version gates apply: on Linux and User-mode Linux, not under gVisor or qemu-user.
pub fn runs_linux(platform: &str) -> bool {
    matches!(platform, "linux" | "uml")
}

/// The Linux version that kernel ranges (`requires.kernel`, `expect-if`) are compared with.
/// None on gVisor (its "4.4.0" is a fiction) and under qemu-user (the release is the host's,
/// but the emulator answers first): version gates do not apply there and every case runs
/// against its default contract, which shows what the layer really implements.
pub fn linux_version(platform: &str, release: &str) -> Option<Version> {
    if runs_linux(platform) {
        version::parse_release(release)
    } else {
        None
    }
}

/// The Linux version of the running kernel, as `linux_version` gives it.
pub fn running_linux_version() -> Option<Version> {
    // Asked once per case by the worker; the kernel does not change under it.
    static VERSION: std::sync::OnceLock<Option<Version>> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| linux_version(&detect_platform(), &sys::uname().0))
}

/// The short name of an environment, which names its snapshot folder: `linux-6.12-x86_64`,
/// `uml-6.1-x86_64`, `gvisor-x86_64` (gVisor's kernel version is a fiction, so it is left out),
/// `qemu-user-aarch64` (the host's kernel is not what answers), with the page size when it is
/// not 4 KiB: `linux-6.12-aarch64-16k`, `qemu-user-ppc64le-64k`.
pub fn key(platform: &str, release: &str, machine: &str, page_size: u64) -> String {
    let base = match (platform, version::parse_release(release)) {
        (p @ ("linux" | "uml"), Some((major, minor, _))) => {
            format!("{p}-{major}.{minor}-{machine}")
        }
        (p, _) => format!("{p}-{machine}"),
    };
    if page_size == 4096 {
        base
    } else {
        format!("{base}-{}k", page_size / 1024)
    }
}

/// The first writable directory of each filesystem among the usual places, and those the user
/// names in `MMCHECK_SCRATCH` (`ext4=/mnt/e,xfs=/mnt/x`), which win; and the filesystems whose
/// directory was only found, not named.
fn find_scratch(default: &Path) -> (Vec<(String, PathBuf)>, Vec<String>) {
    let mut candidates: Vec<PathBuf> = Vec::new();
    // The names given with the directories: trusted only where statfs cannot tell (below).
    let mut named: Vec<String> = Vec::new();
    if let Ok(spec) = std::env::var("MMCHECK_SCRATCH") {
        for item in spec.split(',') {
            if let Some((name, dir)) = item.split_once('=') {
                candidates.push(PathBuf::from(dir));
                named.push(name.to_string());
            }
        }
    }
    let given = candidates.len();
    candidates.extend(
        [
            default,
            Path::new("/tmp"),
            Path::new("/var/tmp"),
            Path::new("/dev/shm"),
            Path::new("/run/shm"),
        ]
        .iter()
        .map(|p| p.to_path_buf()),
    );
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    let mut searched = Vec::new();
    for (i, dir) in candidates.into_iter().enumerate() {
        let Some(magic) = sys::fs_magic(&dir) else {
            continue;
        };
        let name = match MAGIC.iter().find(|(_, m)| *m == magic) {
            Some((name, _)) => *name,
            // A directory the user named, on a filesystem whose type this kernel hides (gVisor
            // serves host files through its gofer and statfs says 9p): the given name stands.
            None if i < given && magic == V9FS_MAGIC => {
                match MAGIC.iter().find(|(n, _)| *n == named[i]) {
                    Some((name, _)) => *name,
                    None => continue,
                }
            }
            None => continue,
        };
        if !sys::writable(&dir) {
            continue;
        }
        // A tmpfs mounted noexec serves the cases that ask for one, and plain tmpfs cases too.
        let noexec = (name == "tmpfs" && sys::mounted_noexec(&dir)).then_some("tmpfs-noexec");
        for name in std::iter::once(name).chain(noexec) {
            if !found.iter().any(|(n, _)| n == name) {
                found.push((name.to_string(), dir.clone()));
                if i >= given {
                    searched.push(name.to_string());
                }
            }
        }
    }
    (found, searched)
}

/// Why a filesystem has no scratch directory, for the skip reason.
pub fn scratch_hint(host: &HostEnv, fs: &str) -> String {
    if let Some((_, why)) = host.scratch_problems.iter().find(|(name, _)| name == fs) {
        return format!("could not make a scratch {fs}: {why}");
    }
    let how = if host.euid == 0 {
        "the runner mounts one when it is root and the case selection needs it".to_string()
    } else {
        format!(
            "run as root to loop-mount one, or name a mounted one with MMCHECK_SCRATCH={fs}=DIR"
        )
    };
    format!("no writable {fs} directory (looked in $TMPDIR, /tmp, /var/tmp, /dev/shm); {how}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_processor_lacks_keys_only_when_its_feature_lines_say_so() {
        let x86 = |flags: &str| Some(format!("processor\t: 0\nflags\t\t: {flags}\n\n"));
        assert!(cpuinfo_lacks(&x86("fpu vme sse2 avx512f"), "pku"));
        assert!(!cpuinfo_lacks(&x86("fpu pku ospke avx512f"), "pku"));
        // A `pku` inside another word is not the flag.
        assert!(cpuinfo_lacks(&x86("fpu pkux"), "pku"));
        let arm = Some("processor\t: 0\nFeatures\t: fp asimd evtstrm poe\n".to_string());
        assert!(!cpuinfo_lacks(&arm, "poe"));
        assert!(cpuinfo_lacks(&arm, "pku"));
        // Nothing readable, or no feature lines (powerpc, an emulator's cpuinfo): not known.
        assert!(!cpuinfo_lacks(&None, "pku"));
        let ppc = Some("processor\t: 0\ncpu\t\t: POWER9 (architected)\n".to_string());
        assert!(!cpuinfo_lacks(&ppc, "pku"));
    }

    #[test]
    fn keys_name_platform_version_architecture_and_a_page_size_other_than_4k() {
        assert_eq!(
            key("linux", "6.12.9-cloud", "x86_64", 4096),
            "linux-6.12-x86_64"
        );
        assert_eq!(
            key("linux", "6.12.9", "aarch64", 16384),
            "linux-6.12-aarch64-16k"
        );
        assert_eq!(key("uml", "6.1.176", "x86_64", 4096), "uml-6.1-x86_64");
        assert_eq!(key("gvisor", "4.4.0", "x86_64", 4096), "gvisor-x86_64");
        assert_eq!(
            key("qemu-user", "6.18.4", "ppc64le", 65536),
            "qemu-user-ppc64le-64k"
        );
    }

    #[test]
    fn platforms_are_told_apart_by_proc() {
        let linux = "Linux version 6.1.0 (gcc) #1 SMP";
        let host_cpu = "processor\t: 0\nvendor_id\t: GenuineIntel\n";
        let uml_cpu = "processor\t: 0\nvendor_id\t: User Mode Linux\nmodel name\t: UML\n";
        assert_eq!(platform_from(linux, host_cpu, "x86_64"), "linux");
        assert_eq!(platform_from(linux, uml_cpu, "x86_64"), "uml");
        let gvisor = "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016\n";
        assert_eq!(platform_from(gvisor, host_cpu, "x86_64"), "gvisor");
        // qemu-aarch64 7.2 passes this x86 host's cpuinfo through.
        assert_eq!(platform_from(linux, host_cpu, "aarch64"), "qemu-user");
        assert_eq!(platform_from(linux, host_cpu, "ppc64le"), "qemu-user");
        let arm_cpu = "processor\t: 0\nBogoMIPS\t: 48.00\nCPU implementer\t: 0x41\n";
        assert_eq!(platform_from(linux, arm_cpu, "aarch64"), "linux");
        assert_eq!(platform_from(linux, arm_cpu, "x86_64"), "qemu-user");
        let power_cpu = "processor\t: 0\ncpu\t\t: POWER9 (architected)\n";
        assert_eq!(platform_from(linux, power_cpu, "ppc64le"), "linux");
        assert!(linux_version("uml", "6.1.176").is_some());
        assert!(linux_version("qemu-user", "6.18.4").is_none());
    }
}
