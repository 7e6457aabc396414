//! The calling thread's CPU time, and (feature `criterion`) a criterion measurement built on it.
//!
//! This project's machines are shared: another job on the same cores stretches wall-clock time, and
//! criterion's default measurement is wall-clock time. A benchmark thread's CPU time does not count the
//! time it waited for a core, so it moves much less with the load (caches and memory bandwidth are
//! still shared). The engine crates' benchmarks use [`criterion`] for their configuration.

use std::time::Duration;

#[cfg(target_os = "linux")]
mod sys {
    #[repr(C)]
    pub struct Timespec {
        pub sec: i64,
        pub nsec: i64,
    }

    /// `CLOCK_THREAD_CPUTIME_ID` in Linux's `<time.h>`.
    pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

    extern "C" {
        pub fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
}

/// CPU time (user + system) the calling thread has used.
#[cfg(target_os = "linux")]
pub fn thread_cpu_time() -> Duration {
    let mut ts = sys::Timespec { sec: 0, nsec: 0 };
    // SAFETY: plain syscall wrapper with a valid pointer to a local; this clock always exists on Linux.
    let r = unsafe { sys::clock_gettime(sys::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.sec as u64, ts.nsec as u32)
}

/// Fallback without a thread CPU clock: wall-clock time since the first call.
#[cfg(not(target_os = "linux"))]
pub fn thread_cpu_time() -> Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

#[cfg(feature = "criterion")]
pub use measurement::{criterion, ThreadCpu};

#[cfg(feature = "criterion")]
mod measurement {
    use super::thread_cpu_time;
    use criterion::measurement::{Measurement, ValueFormatter, WallTime};
    use criterion::Criterion;
    use std::time::Duration;

    /// Criterion's measurement as the benchmark thread's CPU time (shown in the same units as wall time).
    pub struct ThreadCpu;

    /// Lends its duration formatter to [`ThreadCpu`].
    static WALL: WallTime = WallTime;

    impl Measurement for ThreadCpu {
        type Intermediate = Duration;
        type Value = Duration;

        fn start(&self) -> Duration {
            thread_cpu_time()
        }
        fn end(&self, start: Duration) -> Duration {
            thread_cpu_time().saturating_sub(start)
        }
        fn add(&self, a: &Duration, b: &Duration) -> Duration {
            *a + *b
        }
        fn zero(&self) -> Duration {
            Duration::ZERO
        }
        fn to_f64(&self, d: &Duration) -> f64 {
            d.as_nanos() as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            WALL.formatter()
        }
    }

    /// Criterion's defaults (and its command-line options), measuring thread CPU time.
    pub fn criterion() -> Criterion<ThreadCpu> {
        Criterion::default().with_measurement(ThreadCpu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_time_grows_with_work() {
        let before = thread_cpu_time();
        let mut x = 1u64;
        let mut n = 0u64;
        // Spin until the clock moves (its resolution is at most a scheduler tick).
        while thread_cpu_time() == before {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            n += 1;
        }
        assert!(thread_cpu_time() > before, "after {n} rounds ({x})");
    }
}
