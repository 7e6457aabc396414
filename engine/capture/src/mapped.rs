//! Reading a capture file through memory mappings instead of `read` copies.
//!
//! `read` copies every byte of the file from the page cache into the reader's buffer: on the generated
//! benchmark workload that copy was the largest single cost of a run (bench/RESULTS.md). A mapping lets
//! packets borrow the page cache directly, and lets the dispatcher hand a worker thread a packet by
//! reference ([`Window`] is shared by `Arc`) instead of copying it into a batch.
//!
//! The file is mapped in windows of [`WINDOW`] bytes, one after the other, so the address space and the
//! resident pages a run holds stay bounded whatever the file's size: a window is unmapped when the
//! reader has moved on and no batch in flight still refers to it. The file's size is looked up again
//! before each window is mapped, so a file that grows while it is read is read on, as with `read`.
//!
//! The one hazard of mappings: if the file is truncated *while* weir reads it, touching a page past the
//! new end raises `SIGBUS`. The `weir` command turns that signal into a clear error message; `--no-mmap`
//! reads with copies instead.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

/// Bytes mapped at a time (a record larger than this gets a window of its own size). The pages of the
/// windows in use count in the process's resident size: one window with one worker, a few more while
/// batches for worker threads still hold older ones.
pub const WINDOW: usize = 8 * 1024 * 1024;

/// One read-only mapping of a stretch of a capture file.
pub struct Window {
    ptr: *const u8,
    len: usize,
    /// Offset in the file of the window's first byte.
    file_offset: u64,
}

// SAFETY: the mapping is read-only and private, and it is unmapped only by `Drop`, when no reference to
// the `Window` remains: sharing the bytes between threads is sharing an immutable `[u8]`.
unsafe impl Send for Window {}
// SAFETY: as above; nothing mutates a `Window` after it is created.
unsafe impl Sync for Window {}

impl Window {
    /// Maps `len` bytes of `file` from `file_offset`, which must be a multiple of the page size.
    fn map(file: &File, file_offset: u64, len: usize) -> io::Result<Window> {
        // SAFETY: a fresh private read-only mapping of an open file descriptor; the kernel picks the
        // address. The result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                // Populated at once: mapping the window's pages in one call costs less than a page fault
                // every 16 pages as the reader goes.
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                file_offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // The reader goes through the window once, front to back: ask for read-ahead. Advice only.
        // SAFETY: the range was just mapped.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Ok(Window {
            ptr: ptr as *const u8,
            len,
            file_offset,
        })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self` lives (see `Drop`).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Where `data` starts in [`Window::bytes`], if it lies wholly inside them.
    pub fn place(&self, data: &[u8]) -> Option<usize> {
        let at = (data.as_ptr() as usize).checked_sub(self.ptr as usize)?;
        (at.checked_add(data.len())? <= self.len).then_some(at)
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what `mmap` returned, unmapped once.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

impl fmt::Debug for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Window({} bytes at file offset {})", self.len, self.file_offset)
    }
}

/// Asks the CPU to start loading the cache line that holds `b[at]`: a hint, nothing when `at` is out of
/// bounds. Bytes of a mapped file are first touched where they are used (no copy has brought them into
/// the cache), so readers ask ahead of time.
#[inline]
pub fn prefetch(b: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = b.get(at) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is part of x86_64's baseline; a prefetch of an address in bounds is only a hint.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const u8).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (b, at);
}

/// A file read through successive [`Window`]s.
pub(crate) struct MappedFile {
    file: File,
    page: u64,
    /// Bytes mapped at a time: [`WINDOW`] (tests use less, to move through many windows).
    window_len: usize,
    window: Option<Arc<Window>>,
}

impl MappedFile {
    /// `None` when the file cannot be mapped (not a regular file, or the system refuses): read it instead.
    pub(crate) fn new(file: &File) -> Option<MappedFile> {
        MappedFile::with_window(file, WINDOW)
    }

    pub(crate) fn with_window(file: &File, window_len: usize) -> Option<MappedFile> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        let file = file.try_clone().ok()?;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page = u64::try_from(page).ok().filter(|p| p.is_power_of_two())?;
        Some(MappedFile {
            file,
            page,
            window_len,
            window: None,
        })
    }

    /// The current window, if any.
    pub(crate) fn window(&self) -> Option<&Arc<Window>> {
        self.window.as_ref()
    }

    /// Maps a window that holds the file's bytes from `offset` on, at least `n` of them if the file has
    /// them. Returns the index of `offset` in the new window and the number of bytes the window holds
    /// from there; zero when the file ends at `offset`.
    pub(crate) fn remap(&mut self, offset: u64, n: usize) -> io::Result<(usize, usize)> {
        let size = self.file.metadata()?.len();
        let base = offset & !(self.page - 1);
        let skip = (offset - base) as usize;
        if offset >= size {
            self.window = None;
            return Ok((0, 0));
        }
        let want = (skip + n).max(self.window_len) as u64;
        let len = want.min(size - base) as usize;
        // Release the old window first: it is unmapped now unless a batch in flight still holds it.
        self.window = None;
        let w = Window::map(&self.file, base, len)?;
        self.window = Some(Arc::new(w));
        Ok((skip, len - skip))
    }
}
