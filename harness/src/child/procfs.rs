//! Reading /proc: maps and smaps lines clipped to a range, through a fixed buffer (a process at
//! vm.max_map_count cannot grow its heap).

use super::*;

/// Feeds each line of a /proc file to `line`, reading through a fixed buffer on the stack: a
/// process at vm.max_map_count cannot grow its heap, and the maps file of such a process is
/// megabytes long, so reading it whole would fail in the harness, not in the kernel. Lines come
/// as bytes, so that a reader passes over the lines it does not want before making text of them
/// (`text`): smaps at vm.max_map_count is some 1.5 million lines.
pub(super) fn proc_lines(path: &str, mut line: impl FnMut(&[u8])) -> Result<(), String> {
    let fd = sys::open(path, (libc::O_RDONLY | libc::O_CLOEXEC) as u64, 0)
        .map_err(|e| format!("cannot open {path}: {}", crate::names::errno_name(e)))?
        as i32;
    let mut buf = [0u8; 64 * 1024];
    let mut filled = 0;
    let result = loop {
        let n = match sys::read_into(fd, &mut buf[filled..], None) {
            Ok(n) => n as usize,
            Err(libc::EINTR) => continue,
            Err(e) => {
                break Err(format!(
                    "cannot read {path}: {}",
                    crate::names::errno_name(e)
                ))
            }
        };
        filled += n;
        let mut start = 0;
        while let Some(nl) = memchr::memchr(b'\n', &buf[start..filled]) {
            line(&buf[start..start + nl]);
            start += nl + 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if n == 0 || filled == buf.len() {
            if filled > 0 {
                line(&buf[..filled]);
            }
            break Ok(());
        }
    };
    sys::close(fd);
    result
}

pub(super) fn maps(addr: u64, len: u64) -> Obs {
    let end = addr.saturating_add(len);
    let mut entries = Vec::new();
    // The harness's own executable: where its code lies in the file depends on the build (the
    // test binary, the static one), so its mappings are shown without a path or an offset.
    let exe = std::fs::read_link("/proc/self/exe")
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    let read = proc_lines("/proc/self/maps", |l| {
        // A process at vm.max_map_count has 65530 lines here: only those of the range are parsed.
        if range_of(l).is_some_and(|(start, stop)| start >= end || stop <= addr) {
            return;
        }
        if let Some(mut m) = parse_maps_line(&text(l)) {
            if exe.as_deref() == Some(m.path.as_str()) {
                m.path = "[mmcheck]".into();
            }
            if m.start < end && m.end > addr {
                entries.push(MapsEntry {
                    // Clipping moves the start: the file offset moves with it.
                    offset: m.offset + addr.saturating_sub(m.start),
                    start: m.start.max(addr),
                    end: m.end.min(end),
                    ..m
                });
            }
        }
    });
    match read {
        Ok(()) => with(0, Data::Maps(entries)),
        Err(reason) => Obs::NotRun { reason },
    }
}

pub(super) fn smaps(addr: u64, len: u64) -> Obs {
    let end = addr.saturating_add(len);
    let mut entries: Vec<SmapsEntry> = Vec::new();
    // Whether the mapping being read overlaps the range; its detail lines follow its head.
    let mut keep = false;
    let kb = |rest: &str| {
        rest.trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
            * 1024
    };
    let read = proc_lines("/proc/self/smaps", |bytes| {
        // Detail lines (`Rss:`, `VmFlags:`, ...) start with a capital, a mapping's head with its
        // hexadecimal start address in small letters. A process at vm.max_map_count has some
        // 1.5 million detail lines here: those of other mappings are passed over as bytes.
        if bytes.first().is_some_and(u8::is_ascii_uppercase) {
            if !keep {
                return;
            }
        } else if let Some((start, stop)) = range_of(bytes) {
            if start >= end || stop <= addr {
                keep = false;
                return;
            }
        }
        let line = text(bytes);
        let l: &str = &line;
        if let Some(head) = parse_maps_line(l) {
            keep = head.start < end && head.end > addr;
            if keep {
                entries.push(SmapsEntry {
                    start: head.start.max(addr),
                    end: head.end.min(end),
                    vmflags: Vec::new(),
                    rss: 0,
                    locked: 0,
                    anon_huge: 0,
                    pkey: None,
                    kernel_page: None,
                    mmu_page: None,
                    mapping: Some((head.start, head.end)),
                });
            }
            return;
        }
        let Some(last) = entries.last_mut().filter(|_| keep) else {
            return;
        };
        if let Some(rest) = l.strip_prefix("VmFlags:") {
            last.vmflags = rest.split_whitespace().map(str::to_string).collect();
        } else if let Some(rest) = l.strip_prefix("KernelPageSize:") {
            last.kernel_page = Some(kb(rest));
        } else if let Some(rest) = l.strip_prefix("MMUPageSize:") {
            last.mmu_page = Some(kb(rest));
        } else if let Some(rest) = l.strip_prefix("Rss:") {
            last.rss = kb(rest);
        } else if let Some(rest) = l.strip_prefix("Locked:") {
            last.locked = kb(rest);
        } else if let Some(rest) = l.strip_prefix("AnonHugePages:") {
            last.anon_huge = kb(rest);
        } else if let Some(rest) = l.strip_prefix("ProtectionKey:") {
            last.pkey = rest.trim().parse().ok();
        }
    });
    match read {
        Ok(()) => with(0, Data::Smaps(entries)),
        Err(reason) => Obs::NotRun { reason },
    }
}

/// The pagemap entries of the pages of [addr, addr+len), with only their flag bits: the page
/// frame number (shown to CAP_SYS_ADMIN) and the swap location change from run to run.
pub(super) fn pagemap(addr: u64, len: u64, page: u64) -> Obs {
    let first = addr / page;
    let pages = addr
        .saturating_add(len)
        .div_ceil(page)
        .saturating_sub(first);
    let mut raw = match buffer(pages.saturating_mul(8)) {
        Ok(b) => b,
        Err(obs) => return obs,
    };
    let fd = match sys::open(
        "/proc/self/pagemap",
        (libc::O_RDONLY | libc::O_CLOEXEC) as u64,
        0,
    ) {
        Ok(fd) => fd as i32,
        Err(errno) => return Obs::Err { errno },
    };
    let read = sys::read_into(fd, &mut raw, Some(first.saturating_mul(8)));
    sys::close(fd);
    match read {
        Ok(n) if n as usize == raw.len() => with(
            0,
            Data::Pagemap(
                raw.chunks_exact(8)
                    .map(|e| {
                        u64::from_ne_bytes(e.try_into().expect("8 bytes"))
                            & crate::names::PAGEMAP_FLAG_BITS
                    })
                    .collect(),
            ),
        ),
        Ok(n) => Obs::NotRun {
            reason: format!("/proc/self/pagemap gave {n} bytes of {}", raw.len()),
        },
        Err(errno) => Obs::Err { errno },
    }
}

/// Writes `value`, in decimal, to /proc/self/clear_refs.
pub(super) fn clear_refs(value: u64) -> Obs {
    let fd = match sys::open(
        "/proc/self/clear_refs",
        (libc::O_WRONLY | libc::O_CLOEXEC) as u64,
        0,
    ) {
        Ok(fd) => fd as i32,
        Err(errno) => return Obs::Err { errno },
    };
    let wrote = sys::write_from(fd, value.to_string().as_bytes(), None);
    sys::close(fd);
    match wrote {
        Ok(_) => ok(0),
        Err(errno) => Obs::Err { errno },
    }
}

/// Parses one /proc/self/maps line: `start-end perms offset dev inode path`.
pub fn parse_maps_line(line: &str) -> Option<MapsEntry> {
    let mut f = line.split_whitespace();
    let (start, end) = f.next()?.split_once('-')?;
    let perms = f.next()?.to_string();
    let offset = u64::from_str_radix(f.next()?, 16).ok()?;
    let _dev = f.next()?;
    let _inode = f.next()?;
    let path = f.collect::<Vec<_>>().join(" ");
    Some(MapsEntry {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        offset,
        path,
    })
}

/// The `start-end` that opens a maps line, without parsing the rest of it.
fn range_of(line: &[u8]) -> Option<(u64, u64)> {
    let range = &line[..memchr::memchr(b' ', line)?];
    let dash = memchr::memchr(b'-', range)?;
    Some((hex(&range[..dash])?, hex(&range[dash + 1..])?))
}

/// A hexadecimal number of /proc (no sign, no prefix, at most 16 digits).
fn hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    digits.iter().try_fold(0u64, |v, &d| {
        Some(v << 4 | (d as char).to_digit(16)? as u64)
    })
}

/// A line of /proc as text: borrowed when it is UTF-8 (only a path in it can fail to be), with
/// replacement characters otherwise.
fn text(line: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(line)
}

/// Parses a whole /proc/self/maps text.
pub fn parse_maps(text: &str) -> Vec<MapsEntry> {
    text.lines().filter_map(parse_maps_line).collect()
}

/// VmLck of /proc/self/status, in bytes.
pub(super) fn vmlck() -> Option<u64> {
    sys::status_number("VmLck").map(|kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_lines_reads_long_files_through_its_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines");
        let lines: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, format!("{lines}last without newline")).unwrap();
        let mut seen = Vec::new();
        proc_lines(path.to_str().unwrap(), |l| seen.push(text(l).into_owned())).unwrap();
        assert_eq!(seen.len(), 50_001);
        assert_eq!(seen[49_999], "line 49999");
        assert_eq!(seen[50_000], "last without newline");
        assert!(proc_lines("/nonexistent", |_| {})
            .unwrap_err()
            .contains("ENOENT"));
    }

    #[test]
    fn a_line_opens_with_its_range_or_has_none() {
        let head = b"7f0000000000-7f0000002000 rw-s 00001000 00:05 123 /dev/shm/x";
        assert_eq!(range_of(head), Some((0x7f00_0000_0000, 0x7f00_0000_2000)));
        assert_eq!(
            range_of(b"ffffffffff600000-ffffffffff601000 --xp 0 00:00 0 [vsyscall]"),
            Some((0xffff_ffff_ff60_0000, 0xffff_ffff_ff60_1000))
        );
        for not_a_head in [
            &b"Rss:                   4 kB"[..],
            b"VmFlags: rd wr mr mw me ac",
            b"7f00-7f01",
            b"-7f01 rw-p",
            b"7f00-+7f01 rw-p",
            b"10000000000000000-10000000000000001 rw-p",
            b"",
        ] {
            assert_eq!(range_of(not_a_head), None, "{:?}", text(not_a_head));
        }
        // A path that is not UTF-8 still makes a line, with the bytes replaced.
        assert_eq!(text(b"/tmp/\xff"), "/tmp/\u{fffd}");
    }

    #[test]
    fn maps_lines_parse() {
        let m = parse_maps(
            "7f0000000000-7f0000002000 rw-s 00001000 00:05 123 /dev/shm/x (deleted)\n\
             7ffd00000000-7ffd00001000 ---p 00000000 00:00 0 \n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].start, 0x7f00_0000_0000);
        assert_eq!(m[0].offset, 0x1000);
        assert_eq!(m[0].path, "/dev/shm/x (deleted)");
        assert_eq!(m[1].perms, "---p");
        assert_eq!(m[1].path, "");
    }
}
