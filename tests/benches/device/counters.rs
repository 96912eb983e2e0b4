//! What the benchmark counts besides time: heap allocations (a counting
//! global allocator) and system calls (a `perf_event_open` counter on the
//! `raw_syscalls:sys_enter` tracepoint, for the calling thread only).

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::io::{self, Read as _};
use std::os::fd::{FromRawFd as _, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// The system allocator, counting every allocation (and reallocation) made
/// by any thread of the process.
pub struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// Allocations so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

// SAFETY: every method forwards to `System` with the caller's arguments; the
// counter has no effect on the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator, that is from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// `struct perf_event_attr` as of `PERF_ATTR_SIZE_VER0` (linux/perf_event.h):
/// the 64-byte first version, which every later kernel still accepts.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttrV0 {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// The bit fields (`disabled`, `inherit`, ...): all 0.
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

/// `PERF_TYPE_TRACEPOINT` (linux/perf_event.h).
const PERF_TYPE_TRACEPOINT: u32 = 2;
/// `PERF_FLAG_FD_CLOEXEC` (linux/perf_event.h).
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// Where tracefs shows the `raw_syscalls:sys_enter` tracepoint's id.
const TRACEPOINT_IDS: [&str; 2] = [
    "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
    "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
];

/// Counts the system calls the calling thread makes, from its creation on;
/// created only for the counting passes (the tracepoint costs time).
pub struct SyscallCounter {
    file: File,
}

impl SyscallCounter {
    /// A counter for the calling thread, counting from now on.
    pub fn new() -> io::Result<SyscallCounter> {
        let id = TRACEPOINT_IDS
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .ok_or_else(|| io::Error::other("tracefs is not mounted (no raw_syscalls:sys_enter id)"))?;
        let id: u64 = id.trim().parse().map_err(io::Error::other)?;
        let attr = PerfEventAttrV0 {
            kind: PERF_TYPE_TRACEPOINT,
            size: size_of::<PerfEventAttrV0>() as u32,
            config: id,
            ..PerfEventAttrV0::default()
        };
        Ok(SyscallCounter { file: File::from(perf_event_open(&attr)?) })
    }

    /// The count so far, including the `read` that fetches it.
    pub fn read(&self) -> io::Result<u64> {
        let mut value = [0u8; 8];
        (&self.file).read_exact(&mut value)?;
        Ok(u64::from_ne_bytes(value))
    }

    /// The system calls made between two [`read`](Self::read)s, less the
    /// second `read` itself.
    pub fn between(before: u64, after: u64) -> u64 {
        after.saturating_sub(before).saturating_sub(1)
    }
}

/// `perf_event_open(attr, 0 /* this thread */, -1 /* any CPU */, -1, PERF_FLAG_FD_CLOEXEC)`.
fn perf_event_open(attr: &PerfEventAttrV0) -> io::Result<OwnedFd> {
    // SAFETY: `attr` points at a perf_event_attr of the size its `size` field states.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr as *const PerfEventAttrV0,
            0 as libc::pid_t,
            -1 as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor the kernel just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}
