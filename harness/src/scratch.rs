//! Scratch filesystems for cases that run once per filesystem. As root, a janitor process
//! (`mmcheck __scratch FS...`) makes a fresh tmpfs and loop-mounted ext4, xfs and btrfs images,
//! prints where they are, and waits for its standard input to close; then it unmounts them and
//! deletes the images. Because the janitor notices its runner's end through that pipe, the mounts
//! go away even when the runner is killed outright.

use crate::sys;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// Size of each loop image: xfs refuses filesystems under 300 MiB. The images are sparse, so the
/// disk holds only what the filesystems write (measured: 5 to 65 MiB each).
const IMAGE_SIZE: &str = "320M";

/// The mkfs tool of each loop-mounted filesystem, and the Debian package that has it.
const MKFS: &[(&str, &str, &str)] = &[
    ("ext4", "mkfs.ext4", "e2fsprogs"),
    ("xfs", "mkfs.xfs", "xfsprogs"),
    ("btrfs", "mkfs.btrfs", "btrfs-progs"),
];

/// What went wrong with a scratch filesystem. A filesystem that could not be made is the
/// machine's setup, not the kernel's: its cases are skipped with this reason, which goes into
/// snapshots and so names no temporary path.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    #[error("cannot start the scratch janitor: {0}")]
    Start(std::io::Error),
    #[error("the scratch janitor: {0}")]
    Read(std::io::Error),
    #[error("the scratch janitor said {0:?}")]
    Garbled(String),
    #[error("cannot make a mount point: {0}")]
    MountPoint(std::io::Error),
    #[error("mmcheck does not know how to make a {0} filesystem")]
    UnknownFs(String),
    #[error("cannot make the {fs} image: {source}")]
    Image { fs: String, source: std::io::Error },
    #[error("{tool} is not installed (apt-get install {package})")]
    NotInstalled {
        tool: &'static str,
        package: &'static str,
    },
    #[error("{what} failed: {complaint}")]
    ToolFailed { what: String, complaint: String },
    #[error("{what}: {source}")]
    Tool {
        what: String,
        source: std::io::Error,
    },
}

/// A running janitor and the directories it mounted. Dropping it unmounts them.
pub struct Session {
    janitor: Child,
    stdin: Option<ChildStdin>,
    pub mounted: Vec<(String, PathBuf)>,
    /// Filesystems that could not be made, with the reason (the cases on them are skipped).
    pub problems: Vec<(String, String)>,
}

impl Session {
    /// Starts a janitor for `wanted` filesystems. Only root can mount; others get `None`, and
    /// their cases use whatever writable directories of those types the machine has.
    pub fn start(
        exe: &Path,
        wanted: &[String],
        base: &Path,
    ) -> Result<Option<Session>, ScratchError> {
        if sys::euid() != 0 {
            return Ok(None);
        }
        if wanted.is_empty() {
            return Ok(None);
        }
        let mut janitor = Command::new(exe)
            .arg("__scratch")
            .arg(base)
            .args(wanted)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(ScratchError::Start)?;
        let stdin = janitor.stdin.take();
        let mut mounted = Vec::new();
        let mut problems = Vec::new();
        let out = BufReader::new(janitor.stdout.take().expect("piped"));
        for line in out.lines() {
            let line = line.map_err(ScratchError::Read)?;
            if line == "ready" {
                break;
            }
            let parsed = line
                .split_once(' ')
                .and_then(|(fs, rest)| rest.split_once(' ').map(|(kind, what)| (fs, kind, what)));
            match parsed {
                Some((fs, "ok", dir)) => mounted.push((fs.to_string(), PathBuf::from(dir))),
                Some((fs, "error", why)) => problems.push((fs.to_string(), why.to_string())),
                _ => return Err(ScratchError::Garbled(line)),
            }
        }
        Ok(Some(Session {
            janitor,
            stdin,
            mounted,
            problems,
        }))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.janitor.wait();
    }
}

/// The janitor's life: mount, report, wait for the runner to end, clean up. Returns the exit code.
pub fn janitor(base: &Path, wanted: &[String]) -> i32 {
    // Ctrl-C reaches the runner's whole group; the janitor must outlive the runner long enough to
    // clean up, so it leaves that group and ends only when its stdin closes.
    sys::set_own_group(0);
    let root = match tempfile::Builder::new()
        .prefix("mmcheck-scratch-")
        .tempdir_in(base)
    {
        Ok(d) => d,
        Err(e) => {
            println!("ready");
            eprintln!(
                "mmcheck: cannot make the scratch directory in {}: {e}",
                base.display()
            );
            return 1;
        }
    };
    // Who owns this directory, for a later run that finds it after this janitor was killed.
    let _ = std::fs::write(root.path().join(OWNER), std::process::id().to_string());
    let mut mounts: Vec<PathBuf> = Vec::new();
    let mut out = std::io::stdout().lock();
    for fs in wanted {
        match mount_one(root.path(), fs) {
            Ok(dir) => {
                let _ = writeln!(out, "{fs} ok {}", dir.display());
                mounts.push(dir);
            }
            Err(why) => {
                // One line per answer: tools print several.
                let why = why.to_string();
                let why: Vec<&str> = why
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                let _ = writeln!(out, "{fs} error {}", why.join(" "));
            }
        }
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    drop(out);
    // Wait for the runner: EOF when it closes our stdin or dies.
    let mut sink = String::new();
    while std::io::stdin()
        .read_line(&mut sink)
        .map(|n| n > 0)
        .unwrap_or(false)
    {
        sink.clear();
    }
    for dir in &mounts {
        // Lazy: a worker that still has a file open there must not keep the mount alive forever.
        let _ = Command::new("umount").arg("-l").arg(dir).status();
    }
    drop(root);
    0
}

/// The file in a scratch root that names its janitor's pid.
const OWNER: &str = "janitor.pid";

/// Removes the scratch roots of janitors that no longer run. Only SIGKILL to a janitor itself
/// leaves one behind (it outlives its runner on purpose); the next run as root cleans it up:
/// lazy unmounts (which also detach the loop devices), then the directory.
pub fn sweep_stale(base: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    if sys::euid() != 0 {
        return removed;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return removed;
    };
    for entry in entries.flatten() {
        let root = entry.path();
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with("mmcheck-scratch-")
        {
            continue;
        }
        let Some(pid) = std::fs::read_to_string(root.join(OWNER))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
        else {
            continue;
        };
        let alive = std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == b"__scratch"));
        if alive {
            continue;
        }
        for fs in crate::case::load::FILESYSTEMS {
            let dir = root.join(fs);
            if is_mount_point(&dir) {
                let _ = Command::new("umount").arg("-l").arg(&dir).status();
            }
        }
        if std::fs::remove_dir_all(&root).is_ok() {
            removed.push(root);
        }
    }
    removed
}

/// Whether `dir` is a mount point: /proc/self/mountinfo lists it (field 5).
fn is_mount_point(dir: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = dir.to_string_lossy();
    info.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|m| m == want))
}

fn mount_one(root: &Path, fs: &str) -> Result<PathBuf, ScratchError> {
    let dir = root.join(fs);
    std::fs::create_dir(&dir).map_err(ScratchError::MountPoint)?;
    if fs == "tmpfs" || fs == "tmpfs-noexec" {
        // huge=never: what a case sees must not depend on the machine's THP setting.
        let options = match fs {
            "tmpfs" => "size=1g,huge=never,mode=0777",
            _ => "size=64m,huge=never,mode=0777,noexec",
        };
        let mut mount = Command::new("mount");
        mount
            .args(["-t", "tmpfs", "-o", options, &format!("mmcheck-{fs}")])
            .arg(&dir);
        return run(&format!("mounting a {fs}"), &mut mount).map(|_| dir);
    }
    let Some((_, mkfs, package)) = MKFS.iter().find(|(name, _, _)| *name == fs) else {
        return Err(ScratchError::UnknownFs(fs.to_string()));
    };
    let image = root.join(format!("{fs}.img"));
    std::fs::File::create(&image)
        .and_then(|f| f.set_len(parse_size(IMAGE_SIZE)))
        .map_err(|source| ScratchError::Image {
            fs: fs.to_string(),
            source,
        })?;
    let mut mk = Command::new(mkfs);
    if fs == "xfs" || fs == "btrfs" {
        mk.arg("-f");
    }
    mk.arg("-q").arg(&image);
    run(mkfs, &mut mk).map_err(|e| match e {
        ScratchError::Tool { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ScratchError::NotInstalled {
                tool: mkfs,
                package,
            }
        }
        other => other,
    })?;
    let mut mount = Command::new("mount");
    mount.args(["-o", "loop"]).arg(&image).arg(&dir);
    run(&format!("loop-mounting the {fs} image"), &mut mount)?;
    // The mount's root belongs to root with mode 0755; cases may drop privileges.
    let _ = run("chmod", Command::new("chmod").arg("1777").arg(&dir));
    Ok(dir)
}

fn parse_size(s: &str) -> u64 {
    let n: u64 = s.trim_end_matches('M').parse().unwrap_or(320);
    n << 20
}

/// Runs a tool; the error says what was being done and the tool's complaint, without the
/// temporary paths (skip reasons go into snapshots, which must not change from run to run).
fn run(what: &str, cmd: &mut Command) -> Result<(), ScratchError> {
    match cmd.stdout(Stdio::null()).stderr(Stdio::piped()).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => {
            let complaint = String::from_utf8_lossy(&o.stderr);
            // mount prefixes its complaint with the mount point: keep what follows it.
            let last = complaint
                .lines()
                .map(|l| l.rsplit(": ").next().unwrap_or(l).trim())
                .find(|l| !l.is_empty() && !l.starts_with("dmesg"))
                .unwrap_or("failed")
                .to_string();
            Err(ScratchError::ToolFailed {
                what: what.to_string(),
                complaint: last,
            })
        }
        Err(source) => Err(ScratchError::Tool {
            what: what.to_string(),
            source,
        }),
    }
}
