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
    /// Scratch roots left by a janitor that was killed, removed while preparing this run.
    #[serde(skip)]
    pub swept: Vec<PathBuf>,
}

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
        HostEnv {
            scratch_found,
            env_key: key(&platform, &release, &machine),
            kernel: linux_version(&platform, &release),
            platform,
            release,
            machine,
            page_size: sys::page_size(),
            euid: sys::euid(),
            scratch,
            default_scratch,
            scratch_problems: Vec::new(),
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
            euid: Some(self.euid),
            scratch: self.scratch.clone(),
            default_scratch: Some(self.default_scratch.clone()),
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

/// `gvisor` when the kernel is gVisor's Sentry, else `linux`; `MMCHECK_PLATFORM` overrides.
/// The Sentry reports a fixed, fictional Linux 4.4.0 build in /proc/version (seen with Debian's
/// runsc 2022-12), which no real kernel has.
fn detect_platform() -> String {
    if let Ok(p) = std::env::var("MMCHECK_PLATFORM") {
        return p;
    }
    let version = std::fs::read_to_string("/proc/version").unwrap_or_default();
    if version.starts_with("Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016") {
        "gvisor".into()
    } else {
        "linux".into()
    }
}

/// The Linux version that kernel ranges (`requires.kernel`, `expect-if`) are compared with.
/// None on gVisor: its "4.4.0" is a fiction, so version gates do not apply there and every case
/// runs against its default contract, which shows what gVisor really implements.
pub fn linux_version(platform: &str, release: &str) -> Option<Version> {
    if platform == "linux" {
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

/// The short name of an environment, which names its snapshot folder: `linux-6.12-x86_64`, or
/// `gvisor-x86_64` (gVisor's kernel version is a fiction, so it is left out).
pub fn key(platform: &str, release: &str, machine: &str) -> String {
    match (platform, version::parse_release(release)) {
        ("linux", Some((major, minor, _))) => format!("linux-{major}.{minor}-{machine}"),
        (p, _) => format!("{p}-{machine}"),
    }
}

/// The first writable directory of each filesystem among the usual places, and those the user
/// names in `MMCHECK_SCRATCH` (`ext4=/mnt/e,xfs=/mnt/x`), which win; and the filesystems whose
/// directory was only found, not named.
fn find_scratch(default: &Path) -> (Vec<(String, PathBuf)>, Vec<String>) {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(spec) = std::env::var("MMCHECK_SCRATCH") {
        for item in spec.split(',') {
            if let Some((_, dir)) = item.split_once('=') {
                candidates.push(PathBuf::from(dir));
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
        let Some((name, _)) = MAGIC.iter().find(|(_, m)| *m == magic) else {
            continue;
        };
        if sys::writable(&dir) && !found.iter().any(|(n, _)| n == name) {
            found.push((name.to_string(), dir));
            if i >= given {
                searched.push(name.to_string());
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
