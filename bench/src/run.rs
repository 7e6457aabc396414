//! Running a process and measuring it: wall time, CPU time and peak RSS from `wait4`'s rusage.

use std::io;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default)]
pub struct Measured {
    pub wall: Duration,
    pub user: Duration,
    pub sys: Duration,
    /// Peak resident set size of the process, in KiB (`ru_maxrss`).
    pub maxrss_kib: u64,
    /// Exit code, or 128 + signal number.
    pub code: i32,
}

#[cfg(target_os = "linux")]
mod sys {
    #[repr(C)]
    #[derive(Default)]
    pub struct Timeval {
        pub sec: i64,
        pub usec: i64,
    }

    /// `struct rusage` on 64-bit Linux: two timevals and fourteen longs.
    #[repr(C)]
    #[derive(Default)]
    pub struct Rusage {
        pub utime: Timeval,
        pub stime: Timeval,
        pub maxrss: i64,
        pub rest: [i64; 13],
    }

    extern "C" {
        pub fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
    }
}

/// Spawns `cmd`, waits for it with `wait4` and returns its measurements.
#[cfg(target_os = "linux")]
pub fn measure(cmd: &mut Command) -> io::Result<Measured> {
    let start = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    let mut status = 0i32;
    let mut ru = sys::Rusage::default();
    loop {
        // SAFETY: plain syscall wrapper with valid pointers to locals.
        let r = unsafe { sys::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let wall = start.elapsed();
    // The child has been reaped; `Child` does not wait on drop.
    drop(child);
    let code = if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    };
    let tv = |t: &sys::Timeval| Duration::from_micros((t.sec * 1_000_000 + t.usec) as u64);
    Ok(Measured {
        wall,
        user: tv(&ru.utime),
        sys: tv(&ru.stime),
        maxrss_kib: ru.maxrss as u64,
        code,
    })
}

/// Fallback without rusage: wall time and exit code only.
#[cfg(not(target_os = "linux"))]
pub fn measure(cmd: &mut Command) -> io::Result<Measured> {
    let start = Instant::now();
    let st = cmd.status()?;
    Ok(Measured {
        wall: start.elapsed(),
        code: st.code().unwrap_or(128),
        ..Measured::default()
    })
}

/// Looks `name` up on PATH.
pub fn which(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// The median of `v` (the mean of the two middle values for an even count).
pub fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    match s.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_child() {
        let m = measure(Command::new("sh").args(["-c", "exit 3"])).unwrap();
        assert_eq!(m.code, 3);
        #[cfg(target_os = "linux")]
        assert!(m.maxrss_kib > 0);
    }

    #[test]
    fn median_of_even_and_odd() {
        let d = Duration::from_millis;
        assert_eq!(median(&[d(3), d(1), d(2)]), d(2));
        assert_eq!(median(&[d(4), d(1), d(2), d(3)]), Duration::from_micros(2500));
    }
}
