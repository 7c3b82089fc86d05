//! `mmcheck explain --call` against a table of failing calls across the mmap family: each row is
//! run for real, and must fail here with the errno the row gives, diagnosed `named` (exactly one
//! documented cause of that errno met by the arguments and the facts explain gathered) with the
//! row's cause first. The fixtures (files, a directory, a FIFO, a socket, an append-only file, a
//! noexec read-only tmpfs, lowered resource limits, dropped capabilities) are made here at run
//! time; a row whose fixture this machine cannot make is skipped with the reason printed.
//!
//! Limits and capabilities are changed only in the process that runs the row (prlimit(1),
//! setpriv(1)), mounts only in a private mount namespace (unshare(1)): a root without
//! CAP_SYS_RESOURCE could not raise a lowered limit of its own again.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// How a row's mmcheck is started.
#[derive(Clone)]
enum Run {
    Plain,
    /// Without these capabilities (setpriv --bounding-set), with these rlimits (prlimit).
    Limited {
        drop: &'static [&'static str],
        limits: Vec<String>,
    },
    /// In a mount namespace where `dir` is a tmpfs holding the 4 KiB file `f`, mounted
    /// read-only and noexec.
    NoexecRo,
}

struct Row {
    call: String,
    run: Run,
    /// The errno the kernel returns here (for `not run` rows, the errno of the open()).
    errno: &'static str,
    /// The start of the cause explain must name first.
    cause: &'static str,
    /// Why the row cannot run here, if it cannot.
    skip: Option<String>,
}

fn row(call: String, errno: &'static str, cause: &'static str) -> Row {
    Row {
        call,
        run: Run::Plain,
        errno,
        cause,
        skip: None,
    }
}

fn limited(
    call: &str,
    drop: &'static [&'static str],
    limits: &[&str],
    errno: &'static str,
    cause: &'static str,
) -> Row {
    Row {
        run: Run::Limited {
            drop,
            limits: limits.iter().map(|l| l.to_string()).collect(),
        },
        ..row(call.to_string(), errno, cause)
    }
}

/// The fixtures, made in a temporary directory; the append-only attribute is taken off again
/// when they go, or the directory could not be removed.
struct Fixtures {
    dir: tempfile::TempDir,
    append_only: Option<PathBuf>,
    _socket: Option<std::os::unix::net::UnixListener>,
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        if let Some(p) = &self.append_only {
            let _ = Command::new("chattr").arg("-a").arg(p).status();
        }
    }
}

impl Fixtures {
    fn make() -> (Fixtures, Option<String>) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("f"), vec![b'x'; 8192]).unwrap();
        std::fs::create_dir(p.join("d")).unwrap();
        std::fs::create_dir(p.join("mnt")).unwrap();
        nix::unistd::mkfifo(
            &p.join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let socket = std::os::unix::net::UnixListener::bind(p.join("sock")).ok();
        std::fs::write(p.join("ao"), b"appended").unwrap();
        let ao = p.join("ao");
        let chattr = Command::new("chattr").arg("+a").arg(&ao).output();
        let (append_only, why) = match chattr {
            Ok(o) if o.status.success() => (Some(ao), None),
            Ok(o) => (
                None,
                Some(format!(
                    "chattr +a failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
            ),
            Err(e) => (None, Some(format!("chattr cannot run: {e}"))),
        };
        (
            Fixtures {
                dir,
                append_only,
                _socket: socket,
            },
            why,
        )
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

fn read(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn table(fx: &Fixtures, append_why: Option<String>) -> Vec<Row> {
    let f = fx.path("f");
    let root = common::effective_uid() == 0;
    let tool = |t: &str| common::on_path(t);
    let privileged = |tools: &[&str]| -> Option<String> {
        if !root {
            return Some("needs root (to drop capabilities for one process)".into());
        }
        tools
            .iter()
            .find(|t| !tool(t))
            .map(|t| format!("{t} is not installed"))
    };
    let long_name = "n".repeat(250);
    // With CONFIG_MEMORY_FAILURE, MADV_HWPOISON without CAP_SYS_ADMIN is EPERM; without it the
    // advice is unknown to the kernel. Either way the row runs without CAP_SYS_ADMIN, so nothing
    // is ever poisoned.
    let memory_failure = Path::new("/proc/sys/vm/memory_failure_early_kill").exists();
    let (hwpoison_errno, hwpoison_cause) = if memory_failure {
        ("EPERM", "MADV_HWPOISON by a caller without CAP_SYS_ADMIN")
    } else {
        ("EINVAL", "advice is not a value this kernel knows")
    };
    let huge_free = read("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
    let overcommit = read("/proc/sys/vm/overcommit_memory");
    let no_cap_ipc_lock: &[&str] = &["ipc_lock"];

    let mut rows = vec![
        // mmap: the descriptor.
        row(
            format!("mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{f}:O_WRONLY, 0)"),
            "EACCES",
            "a file mapping of a descriptor not open for reading",
        ),
        row(
            format!("mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:{f}:O_RDONLY, 0)"),
            "EACCES",
            "MAP_SHARED (or MAP_SHARED_VALIDATE) with PROT_WRITE of a descriptor not open for writing",
        ),
        Row {
            skip: append_why,
            ..row(
                format!(
                    "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:{}:O_RDWR|O_APPEND, 0)",
                    fx.path("ao")
                ),
                "EACCES",
                "a shared mapping of a file with the append-only inode attribute",
            )
        },
        row(
            format!(
                "mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{}:O_RDONLY, 0)",
                fx.path("d")
            ),
            "ENODEV",
            "the file has no mmap operation",
        ),
        row(
            "mmap(NULL, 4096, PROT_READ, MAP_SHARED, pipe, 0)".into(),
            "ENODEV",
            "the file has no mmap operation",
        ),
        row(
            format!(
                "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, file:{}:O_RDWR, 0)",
                fx.path("fifo")
            ),
            "ENODEV",
            "the file has no mmap operation",
        ),
        row(
            "mmap(NULL, 4096, PROT_READ, MAP_SHARED, closed, 0)".into(),
            "EBADF",
            "MAP_ANONYMOUS is absent and fd is not an open descriptor",
        ),
        row(
            format!("mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{f}:O_PATH, 0)"),
            "EBADF",
            "MAP_ANONYMOUS is absent and fd is not an open descriptor",
        ),
        row(
            format!(
                "mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{}:O_RDONLY, 0)",
                fx.path("missing")
            ),
            "ENOENT",
            "could not open",
        ),
        row(
            format!(
                "mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{}:O_RDONLY, 0)",
                fx.path("sock")
            ),
            "ENXIO",
            "could not open",
        ),
        row(
            format!("mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{f}:O_RDONLY, 0x7ffffffffffff000)"),
            "EOVERFLOW",
            "a regular file mapped with offset + len beyond the largest file offset",
        ),
        // mmap: the arguments.
        row(
            "mmap(NULL, 0, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)".into(),
            "EINVAL",
            "len is 0",
        ),
        row(
            format!("mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{f}:O_RDONLY, 100)"),
            "EINVAL",
            "offset is not a multiple of the page size",
        ),
        row(
            "mmap(0x10000001, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)".into(),
            "EINVAL",
            "MAP_FIXED or MAP_FIXED_NOREPLACE with an addr that is not page aligned",
        ),
        row(
            "mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0)".into(),
            "EINVAL",
            "the mapping type, the low four bits of flags, is none of",
        ),
        row(
            "mmap(NULL, 4096, PROT_READ, MAP_SHARED|MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)".into(),
            "EINVAL",
            "MAP_SHARED_VALIDATE with MAP_ANONYMOUS",
        ),
        row(
            "mmap(map, PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)"
                .into(),
            "EEXIST",
            "MAP_FIXED_NOREPLACE and some page of [addr, addr+len) is already mapped",
        ),
        row(
            "mmap(NULL, 1<<50, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)".into(),
            "ENOMEM",
            "len is larger than the user address space",
        ),
        Row {
            skip: (overcommit != Some(0))
                .then(|| format!("vm.overcommit_memory is {overcommit:?}, not 0 (heuristic)")),
            ..row(
                "mmap(NULL, 1<<45, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)".into(),
                "ENOMEM",
                "out of memory: under the default heuristic overcommit",
            )
        },
        Row {
            skip: (huge_free != Some(0)).then(|| {
                format!("the 2 MiB huge page pool is not empty here ({huge_free:?} free)")
            }),
            ..row(
                "mmap(NULL, 2*1024*1024, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB, -1, 0)"
                    .into(),
                "ENOMEM",
                "MAP_HUGETLB and the huge page pool cannot reserve pages",
            )
        },
        row(
            format!("mmap(NULL, 4096, PROT_READ, MAP_SHARED|MAP_HUGETLB, file:{f}:O_RDONLY, 0)"),
            "EINVAL",
            "MAP_HUGETLB with a file that is not on hugetlbfs",
        ),
        row(
            format!(
                "mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE|MAP_SYNC, file:{f}:O_RDONLY, 0)"
            ),
            "EOPNOTSUPP",
            "MAP_SYNC on a file without DAX",
        ),
        // mmap: privileges and limits.
        limited(
            "mmap(0, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)",
            &["sys_rawio"],
            &[],
            "EPERM",
            "MAP_FIXED below vm.mmap_min_addr by a caller without CAP_SYS_RAWIO",
        ),
        limited(
            "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED, -1, 0)",
            no_cap_ipc_lock,
            &["--memlock=0:0"],
            "EPERM",
            "MAP_LOCKED by a caller without CAP_IPC_LOCK whose RLIMIT_MEMLOCK is 0",
        ),
        limited(
            "mmap(NULL, 4*PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED, -1, 0)",
            no_cap_ipc_lock,
            &["--memlock=4096:4096"],
            "EAGAIN",
            "the new mapping would be locked",
        ),
        limited(
            "mmap(NULL, 1<<36, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
            &[],
            &["--as=34359738368"],
            "ENOMEM",
            "the mapping would take the process's address space past RLIMIT_AS",
        ),
        limited(
            "mmap(NULL, 1<<30, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
            &[],
            &["--data=536870912"],
            "ENOMEM",
            "a private writable mapping would take the process's data memory past RLIMIT_DATA",
        ),
        Row {
            run: Run::NoexecRo,
            ..row(
                "mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE, file:MNT/f:O_RDONLY, 0)".into(),
                "EPERM",
                "PROT_EXEC for a file on a filesystem mounted noexec",
            )
        },
        Row {
            run: Run::NoexecRo,
            ..row(
                "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, file:MNT/f:O_RDWR, 0)".into(),
                "EROFS",
                "could not open",
            )
        },
        // munmap, mprotect, pkey_mprotect.
        row("munmap(map+1, PAGE)".into(), "EINVAL", "addr is not a multiple of the page size"),
        row("munmap(map, 0)".into(), "EINVAL", "len is 0"),
        row(
            "mprotect(hole, PAGE, PROT_READ)".into(),
            "ENOMEM",
            "part of the range is not mapped or lies outside the address space",
        ),
        row(
            "mprotect(map+1, PAGE, PROT_READ)".into(),
            "EINVAL",
            "addr is not a multiple of the page size",
        ),
        row(
            "mprotect(map, PAGE, 0x10)".into(),
            "EINVAL",
            "prot holds a bit the architecture does not accept",
        ),
        row(
            "pkey_mprotect(map, PAGE, PROT_READ, 5)".into(),
            "EINVAL",
            "pkey is neither -1 nor a key pkey_alloc() handed out",
        ),
        row(
            "pkey_mprotect(hole, PAGE, PROT_READ, -1)".into(),
            "ENOMEM",
            "part of the range is not mapped or lies outside the address space",
        ),
        // msync.
        row(
            "msync(map, PAGE, MS_SYNC|MS_ASYNC)".into(),
            "EINVAL",
            "flags has both MS_SYNC and MS_ASYNC",
        ),
        row(
            "msync(locked_map, PAGE, MS_INVALIDATE)".into(),
            "EBUSY",
            "MS_INVALIDATE on a range that contains locked memory",
        ),
        row(
            "msync(hole, PAGE, MS_SYNC)".into(),
            "ENOMEM",
            "some of the range is not mapped",
        ),
        // mremap.
        row(
            "mremap(map, 2*PAGE, PAGE, MREMAP_FIXED, map+8*PAGE)".into(),
            "EINVAL",
            "MREMAP_FIXED or MREMAP_DONTUNMAP without MREMAP_MAYMOVE",
        ),
        row(
            "mremap(hole, PAGE, 2*PAGE, MREMAP_MAYMOVE)".into(),
            "EFAULT",
            "nothing is mapped at old_address",
        ),
        row("mremap(map, PAGE, 0, 0)".into(), "EINVAL", "new_size is 0"),
        // madvise.
        row(
            "madvise(map, PAGE, 5)".into(),
            "EINVAL",
            "advice is not a value this kernel knows",
        ),
        limited(
            "madvise(map, PAGE, MADV_HWPOISON)",
            &["sys_admin"],
            &[],
            hwpoison_errno,
            hwpoison_cause,
        ),
        row(
            "madvise(hole, PAGE, MADV_DONTNEED)".into(),
            "ENOMEM",
            "Part or all of the range is not mapped",
        ),
        // mincore.
        row(
            "mincore(hole, PAGE)".into(),
            "ENOMEM",
            "some page of [addr, addr+len) is not mapped",
        ),
        row(
            "mincore(map+1, PAGE)".into(),
            "EINVAL",
            "addr has a nonzero offset within its page",
        ),
        // mlock, mlock2, munlock, mlockall.
        row(
            "mlock(hole, PAGE)".into(),
            "ENOMEM",
            "Part of the range is not mapped",
        ),
        limited(
            "mlock(map, 4*PAGE)",
            no_cap_ipc_lock,
            &["--memlock=0:0"],
            "EPERM",
            "The caller lacks CAP_IPC_LOCK and its RLIMIT_MEMLOCK is 0",
        ),
        limited(
            "mlock(map, 4*PAGE)",
            no_cap_ipc_lock,
            &["--memlock=4096:4096"],
            "ENOMEM",
            "The caller lacks CAP_IPC_LOCK and the locked total would exceed",
        ),
        row(
            "mlock2(map, PAGE, 4)".into(),
            "EINVAL",
            "flags has a bit other than MLOCK_ONFAULT",
        ),
        limited(
            "mlock2(map, 4*PAGE, MLOCK_ONFAULT)",
            no_cap_ipc_lock,
            &["--memlock=4096:4096"],
            "ENOMEM",
            "The caller lacks CAP_IPC_LOCK and the range would exceed",
        ),
        row(
            "munlock(hole, PAGE)".into(),
            "ENOMEM",
            "Part of the range is not mapped",
        ),
        row("mlockall(0)".into(), "EINVAL", "flags is 0"),
        limited(
            "mlockall(MCL_CURRENT)",
            no_cap_ipc_lock,
            &["--memlock=4096:4096"],
            "ENOMEM",
            "MCL_CURRENT by a caller without CAP_IPC_LOCK",
        ),
        limited(
            "mlockall(MCL_CURRENT|MCL_FUTURE)",
            no_cap_ipc_lock,
            &["--memlock=0:0"],
            "EPERM",
            "the caller lacks CAP_IPC_LOCK and its RLIMIT_MEMLOCK is 0",
        ),
        // remap_file_pages, memfd_create.
        row(
            "remap_file_pages(map, PAGE, 0, 0, 0)".into(),
            "EINVAL",
            "addr is not inside a MAP_SHARED mapping",
        ),
        row(
            format!("memfd_create(\"{long_name}\", 0)"),
            "EINVAL",
            "name is longer than 249 bytes",
        ),
        row(
            "memfd_create(\"x\", 0x100)".into(),
            "EINVAL",
            "flags has a bit Linux does not define",
        ),
    ];
    for r in &mut rows {
        if r.skip.is_some() {
            continue;
        }
        r.skip = match &r.run {
            Run::Plain => None,
            Run::Limited { drop: [], .. } => privileged(&["prlimit"]),
            Run::Limited { .. } => privileged(&["setpriv", "prlimit"]),
            Run::NoexecRo => privileged(&["unshare", "mount"]),
        };
    }
    rows
}

/// Runs explain on a row: its JSON report.
fn explain(fx: &Fixtures, r: &Row) -> Result<serde_json::Value, String> {
    let exe = env!("CARGO_BIN_EXE_mmcheck");
    let mnt = fx.path("mnt");
    let call = r.call.replace("MNT", &mnt);
    let mut cmd = match &r.run {
        Run::Plain => Command::new(exe),
        Run::Limited { drop, limits } => {
            let mut c = if drop.is_empty() {
                Command::new("prlimit")
            } else {
                let mut c = Command::new("setpriv");
                let set: Vec<String> = drop.iter().map(|d| format!("-{d}")).collect();
                c.args(["--bounding-set", &set.join(","), "--", "prlimit"]);
                c
            };
            c.args(limits).arg("--").arg(exe);
            c
        }
        Run::NoexecRo => {
            let script = format!(
                "mount -t tmpfs -o size=1m none {mnt} && head -c 4096 /dev/zero > {mnt}/f && \
                 mount -o remount,ro,noexec {mnt} && exec \"$0\" \"$@\""
            );
            let mut c = Command::new("unshare");
            c.args(["-m", "sh", "-c", &script, exe]);
            c
        }
    };
    let out = cmd
        .args(["explain", "--call", &call, "--format", "json"])
        .env_remove("PAGER")
        .output()
        .map_err(|e| format!("cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("not JSON: {e}"))
}

/// What is wrong with a row's report, if anything.
fn verdict(r: &Row, report: &serde_json::Value) -> Result<(), String> {
    let d = &report["diagnosis"];
    let grade = d["grade"].as_str().unwrap_or("");
    let errno = d["errno"].as_str().unwrap_or("");
    let cause = d["cause"].as_str().unwrap_or("");
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if errno != r.errno {
        return Err(format!(
            "returned {} ({grade}), not {}",
            report["result"], r.errno
        ));
    }
    let want_grade = if r.cause == "could not open" {
        "not run"
    } else {
        "named"
    };
    if grade != want_grade {
        return Err(format!("graded {grade}, not {want_grade}: {}", d["why"]));
    }
    if !flat(cause).starts_with(r.cause) {
        return Err(format!("named `{}`", flat(cause)));
    }
    if want_grade == "named" {
        // The cause named is the first one listed, and the only one of its errno that is met.
        let first = report["matches"][0]["cause"].as_str().unwrap_or("");
        if flat(first) != flat(cause) {
            return Err(format!("listed `{}` first", flat(first)));
        }
    } else if !report["matches"].as_array().is_some_and(|m| m.is_empty()) {
        return Err("lists causes of a call that did not run".into());
    }
    Ok(())
}

#[test]
fn explain_names_the_right_cause_of_every_failing_call_in_the_table() {
    let (fx, append_why) = Fixtures::make();
    let rows = table(&fx, append_why);
    let mut calls: Vec<&str> = rows
        .iter()
        .map(|r| r.call.split('(').next().unwrap())
        .collect();
    calls.sort();
    calls.dedup();
    assert!(rows.len() >= 31, "{} rows", rows.len());
    assert_eq!(calls.len(), 14, "calls covered: {calls:?}");
    let mut failed = Vec::new();
    let mut ran = 0;
    for r in &rows {
        let short: String = r.call.chars().take(90).collect();
        if let Some(why) = &r.skip {
            println!("skip  {short}: {why}");
            continue;
        }
        ran += 1;
        match explain(&fx, r).and_then(|rep| verdict(r, &rep)) {
            Ok(()) => println!("ok    {short}  {}  {}", r.errno, r.cause),
            Err(e) => {
                println!("FAIL  {short}: {e}");
                failed.push(format!("{}: {e}", r.call));
            }
        }
    }
    println!("{ran} of {} rows ran, {} failed", rows.len(), failed.len());
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn an_unopenable_file_is_reported_as_such_and_no_cause_heading_is_empty() {
    let (fx, _) = Fixtures::make();
    let missing = fx.path("missing");
    let call = format!("mmap(NULL, 4096, PROT_READ, MAP_SHARED, file:{missing}:O_RDONLY, 0)");
    let (code, text, err) = common::mmcheck_in(".", &["explain", "--call", &call]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains(&format!("could not open {missing}: ENOENT")),
        "{text}"
    );
    assert!(!text.contains("EBADF"), "{text}");
    // Every heading is followed by something under it.
    for (code, text) in [
        common::mmcheck_in(".", &["explain", "--call", &call]),
        common::mmcheck_in(
            ".",
            &[
                "explain",
                "--call",
                "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
            ],
        ),
    ]
    .map(|(c, t, _)| (c, t))
    {
        assert_eq!(code, 0);
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.starts_with("Documented causes") {
                let next = lines.get(i + 1).copied().unwrap_or("");
                assert!(next.starts_with("  "), "empty heading `{l}` in\n{text}");
            }
        }
    }
}

#[test]
fn causes_whose_flag_is_not_passed_are_left_out() {
    // ENOMEM from a huge length, without MAP_HUGETLB: no huge page cause is weighed.
    let r = common::mmcheck_in(
        ".",
        &[
            "explain",
            "--call",
            "mmap(NULL, 1<<50, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&r.1).unwrap();
    for list in ["matches", "unchecked"] {
        for m in v[list].as_array().unwrap() {
            let cause = m["cause"].as_str().unwrap();
            assert!(!cause.contains("MAP_HUGETLB"), "{list}: {cause}");
        }
    }
}

#[test]
fn call_markdown_is_headings_and_lists() {
    let (code, md, err) = common::mmcheck_in(
        ".",
        &[
            "explain",
            "--call",
            "msync(map, PAGE, MS_SYNC|MS_ASYNC)",
            "--format",
            "markdown",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(md.starts_with("# `msync(map, 4096, "), "{md}");
    assert!(md.contains("\n- **returned**: EINVAL\n"), "{md}");
    assert!(md.contains("\n- **diagnosis**: named"), "{md}");
    assert!(
        md.contains("\n## Documented causes these arguments meet\n\n- **EINVAL** (returned): flags has both MS_SYNC and MS_ASYNC\n"),
        "{md}"
    );
    // No paragraph runs on: every non-empty line is a heading or a list item.
    for l in md.lines().filter(|l| !l.is_empty()) {
        assert!(
            l.starts_with('#') || l.starts_with("- ") || l.starts_with("  - "),
            "`{l}` in\n{md}"
        );
    }
}
