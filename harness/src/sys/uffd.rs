//! userfaultfd(2) and the ioctls of ioctl_userfaultfd(2), with the kernel's structures
//! (include/uapi/linux/userfaultfd.h) spelled out here, since libc does not carry them.

use super::*;

#[repr(C)]
#[derive(Default)]
struct Api {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
#[derive(Default)]
struct Range {
    start: u64,
    len: u64,
}

#[repr(C)]
#[derive(Default)]
struct Register {
    range: Range,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
#[derive(Default)]
struct Copy {
    dst: u64,
    src: u64,
    len: u64,
    mode: u64,
    copy: i64,
}

#[repr(C)]
#[derive(Default)]
struct Zeropage {
    range: Range,
    mode: u64,
    zeropage: i64,
}

#[repr(C)]
#[derive(Default)]
struct Writeprotect {
    range: Range,
    mode: u64,
}

/// `_IOWR(0xAA, nr, size)`, `_IOR(0xAA, nr, size)`: powerpc puts the direction in three bits
/// at 29 (read 2, write 4), the others in two bits at 30 (read 2, write 1).
#[cfg(target_arch = "powerpc64")]
const fn ioc(read_write: bool, nr: u64, size: usize) -> u64 {
    let dir: u64 = if read_write { 6 } else { 2 };
    dir << 29 | (size as u64) << 16 | 0xaa << 8 | nr
}
#[cfg(not(target_arch = "powerpc64"))]
const fn ioc(read_write: bool, nr: u64, size: usize) -> u64 {
    let dir: u64 = if read_write { 3 } else { 2 };
    dir << 30 | (size as u64) << 16 | 0xaa << 8 | nr
}

const UFFDIO_API: u64 = ioc(true, 0x3f, std::mem::size_of::<Api>());
const UFFDIO_REGISTER: u64 = ioc(true, 0x00, std::mem::size_of::<Register>());
const UFFDIO_UNREGISTER: u64 = ioc(false, 0x01, std::mem::size_of::<Range>());
const UFFDIO_COPY: u64 = ioc(true, 0x03, std::mem::size_of::<Copy>());
const UFFDIO_ZEROPAGE: u64 = ioc(true, 0x04, std::mem::size_of::<Zeropage>());
const UFFDIO_WRITEPROTECT: u64 = ioc(true, 0x06, std::mem::size_of::<Writeprotect>());

fn ioctl<T>(fd: i32, request: u64, arg: &mut T) -> SysResult {
    // SAFETY: `arg` is the structure the kernel expects for `request` (sizes are part of the
    // request number), borrowed mutably for the call; the kernel reads and writes only it, and
    // the memory a structure points at (UFFDIO_COPY's source) is checked by the kernel.
    let r = unsafe { libc::ioctl(fd, request as _, arg as *mut T) };
    if r == -1 {
        Err(errno())
    } else {
        Ok(r as u64)
    }
}

/// `userfaultfd(flags)`; yields the descriptor.
pub fn userfaultfd(flags: u64) -> SysResult {
    raw(libc::SYS_userfaultfd, [flags, 0, 0, 0, 0, 0])
}

/// UFFDIO_API: the handshake; yields the features the kernel reports.
pub fn api(fd: i32, api: u64, features: u64) -> SysResult {
    let mut a = Api {
        api,
        features,
        ioctls: 0,
    };
    ioctl(fd, UFFDIO_API, &mut a).map(|_| a.features)
}

/// UFFDIO_REGISTER; yields the ioctls the kernel offers for the range.
pub fn register(fd: i32, start: u64, len: u64, mode: u64) -> SysResult {
    let mut r = Register {
        range: Range { start, len },
        mode,
        ioctls: 0,
    };
    ioctl(fd, UFFDIO_REGISTER, &mut r).map(|_| r.ioctls)
}

/// UFFDIO_UNREGISTER, which also wakes the threads waiting on faults in the range.
pub fn unregister(fd: i32, start: u64, len: u64) -> SysResult {
    ioctl(fd, UFFDIO_UNREGISTER, &mut Range { start, len })
}

/// UFFDIO_COPY of `src` to `dst`; yields the bytes copied.
pub fn copy(fd: i32, dst: u64, src: &[u8], mode: u64) -> SysResult {
    let mut c = Copy {
        dst,
        src: src.as_ptr() as u64,
        len: src.len() as u64,
        mode,
        copy: 0,
    };
    ioctl(fd, UFFDIO_COPY, &mut c).map(|_| c.copy as u64)
}

/// UFFDIO_ZEROPAGE; yields the bytes zeroed.
pub fn zeropage(fd: i32, start: u64, len: u64, mode: u64) -> SysResult {
    let mut z = Zeropage {
        range: Range { start, len },
        mode,
        zeropage: 0,
    };
    ioctl(fd, UFFDIO_ZEROPAGE, &mut z).map(|_| z.zeropage as u64)
}

/// UFFDIO_WRITEPROTECT: protects with UFFDIO_WRITEPROTECT_MODE_WP, else unprotects (and wakes).
pub fn writeprotect(fd: i32, start: u64, len: u64, mode: u64) -> SysResult {
    ioctl(
        fd,
        UFFDIO_WRITEPROTECT,
        &mut Writeprotect {
            range: Range { start, len },
            mode,
        },
    )
}

/// One `struct uffd_msg`: its event, and for a page fault its flags and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    pub event: u8,
    pub flags: u64,
    pub address: u64,
}

/// Waits up to `timeout_ms` for the descriptor to be readable and reads one message;
/// `Ok(None)` when none came in time.
pub fn read_message(fd: i32, timeout_ms: u16) -> Result<Option<Message>, i32> {
    // SAFETY: the descriptor stays open for the call; the borrow does not outlive it.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    if !poll_in(borrowed, timeout_ms) {
        return Ok(None);
    }
    let mut msg = [0u8; 32];
    let n = read_into(fd, &mut msg, None)?;
    if n < 32 {
        return Err(libc::EIO);
    }
    let word = |at: usize| u64::from_ne_bytes(msg[at..at + 8].try_into().expect("8 bytes"));
    Ok(Some(Message {
        event: msg[0],
        flags: word(8),
        address: word(16),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_are_the_kernels() {
        // From the uapi header on x86_64 (the same on arm64): _IOWR(0xAA, 0x3F, 24) and so on.
        #[cfg(not(target_arch = "powerpc64"))]
        {
            assert_eq!(UFFDIO_API, 0xc018_aa3f);
            assert_eq!(UFFDIO_REGISTER, 0xc020_aa00);
            assert_eq!(UFFDIO_UNREGISTER, 0x8010_aa01);
            assert_eq!(UFFDIO_COPY, 0xc028_aa03);
            assert_eq!(UFFDIO_ZEROPAGE, 0xc020_aa04);
            assert_eq!(UFFDIO_WRITEPROTECT, 0xc018_aa06);
        }
    }
}
