//! Symbol tables: errno, signal, si_code and flag names, in both directions.
//! Values are the Linux ABI (uapi headers) of the architecture mmcheck is built for: the generic
//! values, and the few that differ by architecture in `arch` below; a unit test checks them
//! against `libc` on every architecture CI builds.

/// The namespace a symbol belongs to; an argument accepts only the families that make sense for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Prot,
    Map,
    Ms,
    Mremap,
    Madv,
    Mlock,
    Mcl,
    Seal,
    Mfd,
    Open,
    Falloc,
    Splice,
    Rlimit,
    Uffd,
    UffdFeature,
    UffdRegister,
    UffdWp,
    UffdFault,
    UffdEvent,
    Pkey,
    Pr,
    Mdwe,
    Misc,
}

impl Family {
    /// How a user would call a value of this family, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Family::Prot => "protection (PROT_*)",
            Family::Map => "mmap flag (MAP_*)",
            Family::Ms => "msync flag (MS_*)",
            Family::Mremap => "mremap flag (MREMAP_*)",
            Family::Madv => "madvise advice (MADV_*)",
            Family::Mlock => "mlock2 flag (MLOCK_*)",
            Family::Mcl => "mlockall flag (MCL_*)",
            Family::Seal => "file seal (F_SEAL_*)",
            Family::Mfd => "memfd_create flag (MFD_*)",
            Family::Open => "open flag (O_*)",
            Family::Falloc => "fallocate mode (FALLOC_FL_*)",
            Family::Splice => "splice flag (SPLICE_F_*)",
            Family::Rlimit => "resource limit (RLIMIT_*)",
            Family::Uffd => "userfaultfd flag (UFFD_USER_MODE_ONLY, O_CLOEXEC, O_NONBLOCK)",
            Family::UffdFeature => "userfaultfd feature (UFFD_FEATURE_*)",
            Family::UffdRegister => "userfaultfd register mode (UFFDIO_REGISTER_MODE_*)",
            Family::UffdWp => "write-protect mode (UFFDIO_WRITEPROTECT_MODE_*)",
            Family::UffdFault => "page-fault flag (UFFD_PAGEFAULT_FLAG_*)",
            Family::UffdEvent => "userfaultfd event (UFFD_EVENT_*)",
            Family::Pkey => "protection key access right (PKEY_*)",
            Family::Pr => "prctl option (PR_*)",
            Family::Mdwe => "memory-deny-write-execute flag (PR_MDWE_*)",
            Family::Misc => "constant",
        }
    }

    /// Whether several names of this family may be or-ed into one value, and so how a number decodes.
    pub fn is_bitmask(self) -> bool {
        !matches!(
            self,
            Family::Madv | Family::Rlimit | Family::UffdEvent | Family::Pr | Family::Misc
        )
    }
}

/// One named constant.
pub struct Constant {
    pub name: &'static str,
    pub family: Family,
    pub value: u64,
}

const fn c(name: &'static str, family: Family, value: u64) -> Constant {
    Constant {
        name,
        family,
        value,
    }
}

use Family::*;

/// The values that differ between the architectures mmcheck runs on (arch/*/include/uapi): the
/// generic value, then the architectures that have their own.
mod arch {
    /// x86 only: the kernel's own headers define it as 0 elsewhere, so it is accepted there
    /// and means nothing.
    #[cfg(target_arch = "x86_64")]
    pub const MAP_32BIT: u64 = 0x40;
    #[cfg(not(target_arch = "x86_64"))]
    pub const MAP_32BIT: u64 = 0;
    /// x86 only, like MAP_32BIT (arch/x86/include/uapi/asm/mman.h); elsewhere the kernel defines
    /// it as 0, and 0x80 is another flag (MAP_LOCKED on powerpc).
    #[cfg(target_arch = "x86_64")]
    pub const MAP_ABOVE4G: u64 = 0x80;
    #[cfg(not(target_arch = "x86_64"))]
    pub const MAP_ABOVE4G: u64 = 0;

    #[cfg(not(target_arch = "powerpc64"))]
    mod not_powerpc {
        pub const MAP_LOCKED: u64 = 0x2000;
        pub const MAP_NORESERVE: u64 = 0x4000;
        pub const MCL_CURRENT: u64 = 1;
        pub const MCL_FUTURE: u64 = 2;
        pub const MCL_ONFAULT: u64 = 4;
        pub const EDEADLOCK: i32 = 35;
    }
    #[cfg(target_arch = "powerpc64")]
    mod powerpc {
        pub const MAP_LOCKED: u64 = 0x80;
        pub const MAP_NORESERVE: u64 = 0x40;
        pub const MCL_CURRENT: u64 = 0x2000;
        pub const MCL_FUTURE: u64 = 0x4000;
        pub const MCL_ONFAULT: u64 = 0x8000;
        pub const EDEADLOCK: i32 = 58;
    }
    #[cfg(not(target_arch = "powerpc64"))]
    pub use not_powerpc::*;
    #[cfg(target_arch = "powerpc64")]
    pub use powerpc::*;

    // The open flags: x86's own values, arm64's, powerpc's.
    #[cfg(target_arch = "x86_64")]
    pub const O_DIRECT: u64 = 0o40000;
    #[cfg(target_arch = "aarch64")]
    pub const O_DIRECT: u64 = 0o200000;
    #[cfg(target_arch = "powerpc64")]
    pub const O_DIRECT: u64 = 0o400000;
    #[cfg(target_arch = "x86_64")]
    pub const O_DIRECTORY: u64 = 0o200000;
    #[cfg(not(target_arch = "x86_64"))]
    pub const O_DIRECTORY: u64 = 0o40000;
}

/// Every constant a case may name in a value expression (PAGE is not here: it is the running page size).
pub static CONSTANTS: &[Constant] = &[
    c("PROT_NONE", Prot, 0x0),
    c("PROT_READ", Prot, 0x1),
    c("PROT_WRITE", Prot, 0x2),
    c("PROT_EXEC", Prot, 0x4),
    c("PROT_SEM", Prot, 0x8),
    c("PROT_GROWSDOWN", Prot, 0x0100_0000),
    c("PROT_GROWSUP", Prot, 0x0200_0000),
    c("MAP_FILE", Map, 0x0),
    c("MAP_SHARED", Map, 0x01),
    c("MAP_PRIVATE", Map, 0x02),
    c("MAP_SHARED_VALIDATE", Map, 0x03),
    c("MAP_DROPPABLE", Map, 0x08),
    c("MAP_FIXED", Map, 0x10),
    c("MAP_ANONYMOUS", Map, 0x20),
    c("MAP_ANON", Map, 0x20),
    c("MAP_32BIT", Map, arch::MAP_32BIT),
    c("MAP_ABOVE4G", Map, arch::MAP_ABOVE4G),
    c("MAP_GROWSDOWN", Map, 0x0100),
    c("MAP_DENYWRITE", Map, 0x0800),
    c("MAP_EXECUTABLE", Map, 0x1000),
    c("MAP_LOCKED", Map, arch::MAP_LOCKED),
    c("MAP_NORESERVE", Map, arch::MAP_NORESERVE),
    c("MAP_POPULATE", Map, 0x8000),
    c("MAP_NONBLOCK", Map, 0x1_0000),
    c("MAP_STACK", Map, 0x2_0000),
    c("MAP_HUGETLB", Map, 0x4_0000),
    c("MAP_SYNC", Map, 0x8_0000),
    c("MAP_FIXED_NOREPLACE", Map, 0x10_0000),
    c("MAP_UNINITIALIZED", Map, 0x400_0000),
    c("MAP_HUGE_2MB", Map, 21 << 26),
    c("MAP_HUGE_1GB", Map, 30 << 26),
    c("MS_ASYNC", Ms, 1),
    c("MS_INVALIDATE", Ms, 2),
    c("MS_SYNC", Ms, 4),
    c("MREMAP_MAYMOVE", Mremap, 1),
    c("MREMAP_FIXED", Mremap, 2),
    c("MREMAP_DONTUNMAP", Mremap, 4),
    c("MADV_NORMAL", Madv, 0),
    c("MADV_RANDOM", Madv, 1),
    c("MADV_SEQUENTIAL", Madv, 2),
    c("MADV_WILLNEED", Madv, 3),
    c("MADV_DONTNEED", Madv, 4),
    c("MADV_FREE", Madv, 8),
    c("MADV_REMOVE", Madv, 9),
    c("MADV_DONTFORK", Madv, 10),
    c("MADV_DOFORK", Madv, 11),
    c("MADV_MERGEABLE", Madv, 12),
    c("MADV_UNMERGEABLE", Madv, 13),
    c("MADV_HUGEPAGE", Madv, 14),
    c("MADV_NOHUGEPAGE", Madv, 15),
    c("MADV_DONTDUMP", Madv, 16),
    c("MADV_DODUMP", Madv, 17),
    c("MADV_WIPEONFORK", Madv, 18),
    c("MADV_KEEPONFORK", Madv, 19),
    c("MADV_COLD", Madv, 20),
    c("MADV_PAGEOUT", Madv, 21),
    c("MADV_POPULATE_READ", Madv, 22),
    c("MADV_POPULATE_WRITE", Madv, 23),
    c("MADV_DONTNEED_LOCKED", Madv, 24),
    c("MADV_COLLAPSE", Madv, 25),
    c("MADV_HWPOISON", Madv, 100),
    c("MADV_SOFT_OFFLINE", Madv, 101),
    c("MADV_GUARD_INSTALL", Madv, 102),
    c("MADV_GUARD_REMOVE", Madv, 103),
    c("MLOCK_ONFAULT", Mlock, 1),
    c("MCL_CURRENT", Mcl, arch::MCL_CURRENT),
    c("MCL_FUTURE", Mcl, arch::MCL_FUTURE),
    c("MCL_ONFAULT", Mcl, arch::MCL_ONFAULT),
    c("F_SEAL_SEAL", Seal, 0x01),
    c("F_SEAL_SHRINK", Seal, 0x02),
    c("F_SEAL_GROW", Seal, 0x04),
    c("F_SEAL_WRITE", Seal, 0x08),
    c("F_SEAL_FUTURE_WRITE", Seal, 0x10),
    c("F_SEAL_EXEC", Seal, 0x20),
    c("MFD_CLOEXEC", Mfd, 0x01),
    c("MFD_ALLOW_SEALING", Mfd, 0x02),
    c("MFD_HUGETLB", Mfd, 0x04),
    c("MFD_NOEXEC_SEAL", Mfd, 0x08),
    c("MFD_EXEC", Mfd, 0x10),
    c("MFD_HUGE_2MB", Mfd, 21 << 26),
    c("MFD_HUGE_1GB", Mfd, 30 << 26),
    c("O_RDONLY", Open, 0o0),
    c("O_WRONLY", Open, 0o1),
    c("O_RDWR", Open, 0o2),
    c("O_CREAT", Open, 0o100),
    c("O_EXCL", Open, 0o200),
    c("O_TRUNC", Open, 0o1000),
    c("O_APPEND", Open, 0o2000),
    c("O_NONBLOCK", Open, 0o4000),
    c("O_DSYNC", Open, 0o10000),
    c("O_DIRECT", Open, arch::O_DIRECT),
    c("O_DIRECTORY", Open, arch::O_DIRECTORY),
    c("O_NOATIME", Open, 0o1000000),
    c("O_CLOEXEC", Open, 0o2000000),
    c("O_SYNC", Open, 0o4010000),
    c("O_PATH", Open, 0o10000000),
    c("FALLOC_FL_KEEP_SIZE", Falloc, 0x01),
    c("FALLOC_FL_PUNCH_HOLE", Falloc, 0x02),
    c("FALLOC_FL_COLLAPSE_RANGE", Falloc, 0x08),
    c("FALLOC_FL_ZERO_RANGE", Falloc, 0x10),
    c("FALLOC_FL_INSERT_RANGE", Falloc, 0x20),
    c("FALLOC_FL_UNSHARE_RANGE", Falloc, 0x40),
    // include/linux/splice.h; the same on every architecture.
    c("SPLICE_F_MOVE", Splice, 0x01),
    c("SPLICE_F_NONBLOCK", Splice, 0x02),
    c("SPLICE_F_MORE", Splice, 0x04),
    c("SPLICE_F_GIFT", Splice, 0x08),
    c("RLIMIT_FSIZE", Rlimit, 1),
    c("RLIMIT_DATA", Rlimit, 2),
    c("RLIMIT_STACK", Rlimit, 3),
    c("RLIMIT_NOFILE", Rlimit, 7),
    c("RLIMIT_MEMLOCK", Rlimit, 8),
    c("RLIMIT_AS", Rlimit, 9),
    c("PKEY_DISABLE_ACCESS", Pkey, 0x1),
    c("PKEY_DISABLE_WRITE", Pkey, 0x2),
    c("PR_SET_MDWE", Pr, 65),
    c("PR_GET_MDWE", Pr, 66),
    c("PR_MDWE_REFUSE_EXEC_GAIN", Mdwe, 0x1),
    c("PR_MDWE_NO_INHERIT", Mdwe, 0x2),
    c("RLIM_INFINITY", Misc, u64::MAX),
    // personality(2): include/uapi/linux/personality.h, the same on every architecture.
    c("PER_LINUX", Misc, 0),
    c("ADDR_NO_RANDOMIZE", Misc, 0x004_0000),
    c("READ_IMPLIES_EXEC", Misc, 0x040_0000),
    // userfaultfd(2) and ioctl_userfaultfd(2): include/uapi/linux/userfaultfd.h, the same on
    // every architecture.
    c("UFFD_USER_MODE_ONLY", Uffd, 1),
    c("UFFD_API", Misc, 0xaa),
    c("UFFD_FEATURE_PAGEFAULT_FLAG_WP", UffdFeature, 1 << 0),
    c("UFFD_FEATURE_EVENT_FORK", UffdFeature, 1 << 1),
    c("UFFD_FEATURE_EVENT_REMAP", UffdFeature, 1 << 2),
    c("UFFD_FEATURE_EVENT_REMOVE", UffdFeature, 1 << 3),
    c("UFFD_FEATURE_MISSING_HUGETLBFS", UffdFeature, 1 << 4),
    c("UFFD_FEATURE_MISSING_SHMEM", UffdFeature, 1 << 5),
    c("UFFD_FEATURE_EVENT_UNMAP", UffdFeature, 1 << 6),
    c("UFFD_FEATURE_SIGBUS", UffdFeature, 1 << 7),
    c("UFFD_FEATURE_THREAD_ID", UffdFeature, 1 << 8),
    c("UFFD_FEATURE_MINOR_HUGETLBFS", UffdFeature, 1 << 9),
    c("UFFD_FEATURE_MINOR_SHMEM", UffdFeature, 1 << 10),
    c("UFFD_FEATURE_EXACT_ADDRESS", UffdFeature, 1 << 11),
    c("UFFD_FEATURE_WP_HUGETLBFS_SHMEM", UffdFeature, 1 << 12),
    c("UFFD_FEATURE_WP_UNPOPULATED", UffdFeature, 1 << 13),
    c("UFFDIO_REGISTER_MODE_MISSING", UffdRegister, 1 << 0),
    c("UFFDIO_REGISTER_MODE_WP", UffdRegister, 1 << 1),
    c("UFFDIO_REGISTER_MODE_MINOR", UffdRegister, 1 << 2),
    c("UFFDIO_WRITEPROTECT_MODE_WP", UffdWp, 1 << 0),
    c("UFFDIO_WRITEPROTECT_MODE_DONTWAKE", UffdWp, 1 << 1),
    c("UFFD_PAGEFAULT_FLAG_WRITE", UffdFault, 1 << 0),
    c("UFFD_PAGEFAULT_FLAG_WP", UffdFault, 1 << 1),
    c("UFFD_PAGEFAULT_FLAG_MINOR", UffdFault, 1 << 2),
    c("UFFD_EVENT_PAGEFAULT", UffdEvent, 0x12),
    c("UFFD_EVENT_FORK", UffdEvent, 0x13),
    c("UFFD_EVENT_REMAP", UffdEvent, 0x14),
    c("UFFD_EVENT_REMOVE", UffdEvent, 0x15),
    c("UFFD_EVENT_UNMAP", UffdEvent, 0x16),
];

/// The flags of a /proc/self/pagemap entry, by the names cases use (proc(5), and
/// Documentation/admin-guide/mm/pagemap.rst for bit 58), highest bit first.
pub static PAGEMAP_FLAGS: &[(&str, u32)] = &[
    ("present", 63),
    ("swapped", 62),
    ("file-or-shared-anon", 61),
    ("guard-region", 58),
    ("uffd-wp", 57),
    ("exclusive", 56),
    ("soft-dirty", 55),
];

/// The bits of a pagemap entry that are flags (55 to 63); the rest is a page frame number or a
/// swap location.
pub const PAGEMAP_FLAG_BITS: u64 = !((1 << 55) - 1);

/// The bit of a pagemap flag name.
pub fn pagemap_flag(name: &str) -> Option<u64> {
    PAGEMAP_FLAGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bit)| 1 << bit)
}

/// A pagemap entry's flags by name, `present exclusive`, or `none`; unnamed bits as `bit N`.
pub fn pagemap_flags(entry: u64) -> String {
    let mut words = Vec::new();
    for bit in (55..64).rev() {
        if entry & (1 << bit) != 0 {
            match PAGEMAP_FLAGS.iter().find(|(_, b)| *b == bit) {
                Some((name, _)) => words.push(name.to_string()),
                None => words.push(format!("bit {bit}")),
            }
        }
    }
    if words.is_empty() {
        "none".into()
    } else {
        words.join(" ")
    }
}

/// Looks a constant up by its exact name.
pub fn constant(name: &str) -> Option<&'static Constant> {
    CONSTANTS.iter().find(|k| k.name == name)
}

/// Names a value of a family: `MAP_PRIVATE|MAP_ANONYMOUS`, `MADV_FREE`, with unknown bits as hex.
pub fn describe_value(family: Family, value: u64) -> String {
    let names: Vec<&Constant> = CONSTANTS
        .iter()
        .filter(|k| k.family == family && !is_alias(k.name))
        .collect();
    if !family.is_bitmask() {
        return match names.iter().find(|k| k.value == value) {
            Some(k) => k.name.to_string(),
            None if family == Family::Madv => {
                format!("invalid advice {value} (no MADV_* has this value: madvise gives EINVAL)")
            }
            None => format!("{value:#x} (no name has this value)"),
        };
    }
    let mut parts = Vec::new();
    let mut rest = value;
    // mmap's mapping type is one value in the low four bits, not flags: MAP_SHARED_VALIDATE is
    // 3, and 0xf is no type at all.
    if family == Family::Map {
        let kind = value & MAP_TYPE;
        rest &= !MAP_TYPE;
        parts.push(
            match names
                .iter()
                .find(|k| k.value == kind && k.value & !MAP_TYPE == 0)
            {
                Some(k) if kind != 0 => k.name.to_string(),
                _ if kind == 0 => "no mapping type (mmap gives EINVAL)".to_string(),
                _ => format!("invalid mapping type {kind:#x} (mmap gives EINVAL)"),
            },
        );
    }
    // With MAP_HUGETLB (MFD_HUGETLB), bits 26-31 are the huge page size's log2, not flags.
    let hugetlb = match family {
        Family::Map => constant("MAP_HUGETLB").map(|k| k.value),
        Family::Mfd => constant("MFD_HUGETLB").map(|k| k.value),
        _ => None,
    };
    let mut size = None;
    if hugetlb.is_some_and(|h| value & h != 0) {
        let shift = (value >> HUGE_SHIFT) & HUGE_MASK;
        rest &= !(HUGE_MASK << HUGE_SHIFT);
        if shift != 0 {
            let prefix = if family == Family::Map { "MAP" } else { "MFD" };
            size = Some(format!("{prefix}_HUGE_{}", huge_size(shift)));
        }
    }
    let mut flags: Vec<&&Constant> = names
        .iter()
        .filter(|k| k.value != 0 && !(family == Family::Map && k.value & !MAP_TYPE == 0))
        .collect();
    // Multi-bit values first (O_RDWR is 2 and O_ACCMODE 3), so they win over their bits; then by
    // value, so the names read in bit order.
    flags.sort_by_key(|k| (std::cmp::Reverse(k.value.count_ones()), k.value));
    let mut found = Vec::new();
    for k in flags {
        if rest & k.value == k.value {
            found.push((k.value, k.name.to_string()));
            rest &= !k.value;
        }
    }
    found.sort();
    parts.extend(found.into_iter().map(|(_, n)| n));
    parts.extend(size);
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        names
            .iter()
            .find(|k| k.value == 0)
            .map(|k| k.name.to_string())
            .unwrap_or_else(|| "0".to_string())
    } else {
        parts.join("|")
    }
}

/// mmap's mapping-type field.
const MAP_TYPE: u64 = 0x0f;
/// The huge page size field of mmap and memfd_create flags: log2 of the size, at bit 26.
const HUGE_SHIFT: u64 = 26;
const HUGE_MASK: u64 = 0x3f;

/// `2MB` for 21: the size as the kernel's MAP_HUGE_* names spell it.
fn huge_size(shift: u64) -> String {
    match shift {
        0..=9 => format!("{}B", 1u64 << shift),
        10..=19 => format!("{}KB", 1u64 << (shift - 10)),
        20..=29 => format!("{}MB", 1u64 << (shift - 20)),
        30..=39 => format!("{}GB", 1u64 << (shift - 30)),
        _ => format!("{}TB", 1u64 << (shift - 40)),
    }
}

/// Synonyms that must never be chosen when a number is named.
fn is_alias(name: &str) -> bool {
    matches!(
        name,
        "MAP_ANON" | "MAP_FILE" | "MAP_HUGE_2MB" | "MAP_HUGE_1GB" | "MFD_HUGE_2MB" | "MFD_HUGE_1GB"
    )
}

/// Linux errno values, from the generic uapi headers x86_64 uses.
pub static ERRNOS: &[(&str, i32)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("ESRCH", 3),
    ("EINTR", 4),
    ("EIO", 5),
    ("ENXIO", 6),
    ("E2BIG", 7),
    ("ENOEXEC", 8),
    ("EBADF", 9),
    ("ECHILD", 10),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("ENOTBLK", 15),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EXDEV", 18),
    ("ENODEV", 19),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENFILE", 23),
    ("EMFILE", 24),
    ("ENOTTY", 25),
    ("ETXTBSY", 26),
    ("EFBIG", 27),
    ("ENOSPC", 28),
    ("ESPIPE", 29),
    ("EROFS", 30),
    ("EMLINK", 31),
    ("EPIPE", 32),
    ("EDOM", 33),
    ("ERANGE", 34),
    ("EDEADLK", 35),
    ("ENAMETOOLONG", 36),
    ("ENOLCK", 37),
    ("ENOSYS", 38),
    ("ENOTEMPTY", 39),
    ("ELOOP", 40),
    ("ENOMSG", 42),
    ("EIDRM", 43),
    ("ECHRNG", 44),
    ("EL2NSYNC", 45),
    ("EL3HLT", 46),
    ("EL3RST", 47),
    ("ELNRNG", 48),
    ("EUNATCH", 49),
    ("ENOCSI", 50),
    ("EL2HLT", 51),
    ("EBADE", 52),
    ("EBADR", 53),
    ("EXFULL", 54),
    ("ENOANO", 55),
    ("EBADRQC", 56),
    ("EBADSLT", 57),
    ("EBFONT", 59),
    ("ENOSTR", 60),
    ("ENODATA", 61),
    ("ETIME", 62),
    ("ENOSR", 63),
    ("ENONET", 64),
    ("ENOPKG", 65),
    ("EREMOTE", 66),
    ("ENOLINK", 67),
    ("EADV", 68),
    ("ESRMNT", 69),
    ("ECOMM", 70),
    ("EPROTO", 71),
    ("EMULTIHOP", 72),
    ("EDOTDOT", 73),
    ("EBADMSG", 74),
    ("EOVERFLOW", 75),
    ("ENOTUNIQ", 76),
    ("EBADFD", 77),
    ("EREMCHG", 78),
    ("ELIBACC", 79),
    ("ELIBBAD", 80),
    ("ELIBSCN", 81),
    ("ELIBMAX", 82),
    ("ELIBEXEC", 83),
    ("EILSEQ", 84),
    ("ERESTART", 85),
    ("ESTRPIPE", 86),
    ("EUSERS", 87),
    ("ENOTSOCK", 88),
    ("EDESTADDRREQ", 89),
    ("EMSGSIZE", 90),
    ("EPROTOTYPE", 91),
    ("ENOPROTOOPT", 92),
    ("EPROTONOSUPPORT", 93),
    ("ESOCKTNOSUPPORT", 94),
    ("EOPNOTSUPP", 95),
    ("EPFNOSUPPORT", 96),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("EADDRNOTAVAIL", 99),
    ("ENETDOWN", 100),
    ("ENETUNREACH", 101),
    ("ENETRESET", 102),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("ENOBUFS", 105),
    ("EISCONN", 106),
    ("ENOTCONN", 107),
    ("ESHUTDOWN", 108),
    ("ETOOMANYREFS", 109),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTDOWN", 112),
    ("EHOSTUNREACH", 113),
    ("EALREADY", 114),
    ("EINPROGRESS", 115),
    ("ESTALE", 116),
    ("EUCLEAN", 117),
    ("ENOTNAM", 118),
    ("ENAVAIL", 119),
    ("EISNAM", 120),
    ("EREMOTEIO", 121),
    ("EDQUOT", 122),
    ("ENOMEDIUM", 123),
    ("EMEDIUMTYPE", 124),
    ("ECANCELED", 125),
    ("ENOKEY", 126),
    ("EKEYEXPIRED", 127),
    ("EKEYREVOKED", 128),
    ("EKEYREJECTED", 129),
    ("EOWNERDEAD", 130),
    ("ENOTRECOVERABLE", 131),
    ("ERFKILL", 132),
    ("EHWPOISON", 133),
];

/// The name of an errno value (`EINVAL`), or `errno 4242` for a value Linux does not define.
pub fn errno_name(value: i32) -> String {
    ERRNOS
        .iter()
        .find(|(_, v)| *v == value)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("errno {value}"))
}

/// The highest errno Linux defines, with its name.
pub fn last_errno() -> (i32, &'static str) {
    ERRNOS
        .iter()
        .map(|(n, v)| (*v, *n))
        .max()
        .unwrap_or((0, "none"))
}

/// Whether `value` is an errno Linux defines.
pub fn errno_known(value: i32) -> bool {
    ERRNOS.iter().any(|(_, v)| *v == value)
}

/// The value of an errno name; `EWOULDBLOCK` and `EDEADLOCK` are accepted as the aliases they are.
pub fn errno_value(name: &str) -> Option<i32> {
    match name {
        "EWOULDBLOCK" => Some(11),
        "EDEADLOCK" => Some(arch::EDEADLOCK),
        "ENOTSUP" => Some(95),
        _ => ERRNOS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
    }
}

/// Linux signal numbers on x86_64.
pub static SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
];

pub fn signal_name(value: i32) -> String {
    SIGNALS
        .iter()
        .find(|(_, v)| *v == value)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("signal {value}"))
}

pub fn signal_value(name: &str) -> Option<i32> {
    SIGNALS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// si_code values: a code means something only together with its signal.
pub static SI_CODES: &[(&str, i32, i32)] = &[
    ("SEGV_MAPERR", 11, 1),
    ("SEGV_ACCERR", 11, 2),
    ("SEGV_BNDERR", 11, 3),
    ("SEGV_PKUERR", 11, 4),
    ("SEGV_ACCADI", 11, 5),
    ("SEGV_ADIDERR", 11, 6),
    ("SEGV_ADIPERR", 11, 7),
    ("SEGV_MTEAERR", 11, 8),
    ("SEGV_MTESERR", 11, 9),
    ("SEGV_CPERR", 11, 10),
    ("BUS_ADRALN", 7, 1),
    ("BUS_ADRERR", 7, 2),
    ("BUS_OBJERR", 7, 3),
    ("BUS_MCEERR_AR", 7, 4),
    ("BUS_MCEERR_AO", 7, 5),
];

/// Codes any signal can carry (kill(2), tkill(2), the kernel itself).
pub static SI_CODES_GENERIC: &[(&str, i32)] = &[
    ("SI_USER", 0),
    ("SI_KERNEL", 0x80),
    ("SI_QUEUE", -1),
    ("SI_TKILL", -6),
];

pub fn si_code_name(signo: i32, code: i32) -> String {
    SI_CODES
        .iter()
        .find(|(_, s, v)| *s == signo && *v == code)
        .map(|(n, _, _)| n.to_string())
        .or_else(|| {
            SI_CODES_GENERIC
                .iter()
                .find(|(_, v)| *v == code)
                .map(|(n, _)| n.to_string())
        })
        .unwrap_or_else(|| format!("si_code {code}"))
}

/// The signal and value of an si_code name.
pub fn si_code_value(name: &str) -> Option<(Option<i32>, i32)> {
    SI_CODES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, s, v)| (Some(*s), *v))
        .or_else(|| {
            SI_CODES_GENERIC
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (None, *v))
        })
}

/// The known names closest to `wanted` (Levenshtein distance, at most a third of its length), best first.
pub fn nearest<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (wanted.len() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .map(|k| {
            let (w, c) = (wanted.to_ascii_uppercase(), k.to_ascii_uppercase());
            // A prefix either way (`length` for `len`) is as good as a one-letter typo.
            let d = if w.len() > 1 && c.len() > 1 && (w.starts_with(&c) || c.starts_with(&w)) {
                1
            } else {
                distance(&w, &c)
            };
            (d, k)
        })
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_agree_with_libc() {
        let checks: &[(&str, i64)] = &[
            ("PROT_READ", libc::PROT_READ as i64),
            ("PROT_GROWSDOWN", libc::PROT_GROWSDOWN as i64),
            ("MAP_SHARED_VALIDATE", libc::MAP_SHARED_VALIDATE as i64),
            ("MAP_FIXED_NOREPLACE", libc::MAP_FIXED_NOREPLACE as i64),
            #[cfg(target_arch = "x86_64")]
            ("MAP_32BIT", libc::MAP_32BIT as i64),
            ("MCL_CURRENT", libc::MCL_CURRENT as i64),
            ("MCL_FUTURE", libc::MCL_FUTURE as i64),
            ("O_DIRECT", libc::O_DIRECT as i64),
            ("MAP_GROWSDOWN", libc::MAP_GROWSDOWN as i64),
            ("MAP_STACK", libc::MAP_STACK as i64),
            ("MAP_HUGETLB", libc::MAP_HUGETLB as i64),
            ("MAP_SYNC", libc::MAP_SYNC as i64),
            ("MAP_POPULATE", libc::MAP_POPULATE as i64),
            ("MAP_NORESERVE", libc::MAP_NORESERVE as i64),
            ("MAP_LOCKED", libc::MAP_LOCKED as i64),
            ("MS_INVALIDATE", libc::MS_INVALIDATE as i64),
            ("MS_SYNC", libc::MS_SYNC as i64),
            ("MREMAP_FIXED", libc::MREMAP_FIXED as i64),
            ("MREMAP_DONTUNMAP", libc::MREMAP_DONTUNMAP as i64),
            ("MADV_FREE", libc::MADV_FREE as i64),
            ("MADV_WIPEONFORK", libc::MADV_WIPEONFORK as i64),
            ("MADV_POPULATE_WRITE", libc::MADV_POPULATE_WRITE as i64),
            ("MADV_HWPOISON", libc::MADV_HWPOISON as i64),
            ("MLOCK_ONFAULT", libc::MLOCK_ONFAULT as i64),
            ("MCL_ONFAULT", libc::MCL_ONFAULT as i64),
            ("F_SEAL_FUTURE_WRITE", libc::F_SEAL_FUTURE_WRITE as i64),
            ("MFD_ALLOW_SEALING", libc::MFD_ALLOW_SEALING as i64),
            ("O_APPEND", libc::O_APPEND as i64),
            ("O_DIRECTORY", libc::O_DIRECTORY as i64),
            ("O_SYNC", libc::O_SYNC as i64),
            ("O_PATH", libc::O_PATH as i64),
            ("FALLOC_FL_PUNCH_HOLE", libc::FALLOC_FL_PUNCH_HOLE as i64),
            ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as i64),
            ("RLIMIT_AS", libc::RLIMIT_AS as i64),
            ("PR_SET_MDWE", libc::PR_SET_MDWE as i64),
            ("PR_GET_MDWE", libc::PR_GET_MDWE as i64),
            (
                "PR_MDWE_REFUSE_EXEC_GAIN",
                libc::PR_MDWE_REFUSE_EXEC_GAIN as i64,
            ),
            ("PR_MDWE_NO_INHERIT", libc::PR_MDWE_NO_INHERIT as i64),
        ];
        for (name, want) in checks {
            assert_eq!(constant(name).unwrap().value as i64, *want, "{name}");
        }
        assert_eq!(errno_value("EOPNOTSUPP"), Some(libc::EOPNOTSUPP));
        // ENOTSUP is an alias of EOPNOTSUPP on Linux, in libc as in the kernel.
        assert_eq!(errno_value("ENOTSUP"), Some(libc::ENOTSUP));
        assert_eq!(libc::ENOTSUP, libc::EOPNOTSUPP);
        // The libc crate has no MAP_ABOVE4G: the value is the kernel's uapi header's.
        #[cfg(target_arch = "x86_64")]
        assert_eq!(constant("MAP_ABOVE4G").map(|k| k.value), Some(0x80));
        #[cfg(target_arch = "powerpc64")]
        assert_eq!(describe_value(Map, 0x82), "MAP_PRIVATE|MAP_LOCKED");
        assert_eq!(errno_value("EDEADLOCK"), Some(libc::EDEADLOCK));
        assert_eq!(errno_value("EHWPOISON"), Some(libc::EHWPOISON));
        assert_eq!(signal_value("SIGBUS"), Some(libc::SIGBUS));
    }

    #[test]
    fn names_decode_both_ways() {
        assert_eq!(errno_name(22), "EINVAL");
        assert_eq!(errno_name(4242), "errno 4242");
        assert_eq!(si_code_name(11, 2), "SEGV_ACCERR");
        assert_eq!(si_code_name(7, 2), "BUS_ADRERR");
        assert_eq!(
            describe_value(Family::Map, 0x10_0022),
            "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE"
        );
        assert_eq!(describe_value(Family::Map, 0x3), "MAP_SHARED_VALIDATE");
        assert_eq!(describe_value(Family::Prot, 0), "PROT_NONE");
        assert_eq!(describe_value(Family::Madv, 4), "MADV_DONTNEED");
        assert_eq!(
            describe_value(Family::Madv, 5),
            "invalid advice 5 (no MADV_* has this value: madvise gives EINVAL)"
        );
        assert_eq!(
            describe_value(Family::Map, 0x8000_0002),
            "MAP_PRIVATE|0x80000000"
        );
        // With MAP_HUGETLB, bits 26-31 are a size, not MAP_UNINITIALIZED and unknown bits.
        assert_eq!(
            describe_value(Family::Map, 0x5404_0022),
            "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB"
        );
        assert_eq!(
            describe_value(Family::Map, 0x7804_0022),
            "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_1GB"
        );
        assert_eq!(
            describe_value(Family::Map, 0x0400_0022),
            "MAP_PRIVATE|MAP_ANONYMOUS|MAP_UNINITIALIZED"
        );
        assert_eq!(
            describe_value(Family::Mfd, 0x4000_0004),
            "MFD_HUGETLB|MFD_HUGE_64KB"
        );
        // The mapping type is one value of the low four bits.
        assert_eq!(
            describe_value(Family::Map, 0xf),
            "invalid mapping type 0xf (mmap gives EINVAL)"
        );
        assert_eq!(
            describe_value(Family::Map, 0x20),
            "no mapping type (mmap gives EINVAL)|MAP_ANONYMOUS"
        );
    }

    #[test]
    fn pagemap_flags_read_by_name_never_as_numbers() {
        assert_eq!(pagemap_flags(0), "none");
        assert_eq!(
            pagemap_flags(1 << 63 | 1 << 61 | 1 << 56),
            "present file-or-shared-anon exclusive"
        );
        assert_eq!(pagemap_flags(1 << 59 | 1 << 57), "bit 59 uffd-wp");
        assert_eq!(pagemap_flag("soft-dirty"), Some(1 << 55));
        // Bits 0 to 54 (the PFN or swap location) are never kept; 55 to 63 all are.
        assert_eq!(PAGEMAP_FLAG_BITS, 0xff80_0000_0000_0000);
    }

    #[test]
    fn nearest_suggests_typos() {
        let names = CONSTANTS.iter().map(|k| k.name);
        assert_eq!(nearest("PROT_RAED", names)[0], "PROT_READ");
        assert!(nearest("XYZZY", CONSTANTS.iter().map(|k| k.name)).is_empty());
    }
}
