//! Zeek's log rotation schedule and rotated file names, for the rotation that live capture will do
//! on an interval and on SIGHUP once `weir-logs` can close and reopen its files (see the README).
//!
//! * When: `Log::default_rotation_interval`, aligned as Zeek's `calc_next_rotate` aligns it: on
//!   multiples of the interval counted from local midnight plus `log_rotate_base_time` (0:00).
//! * Name: the ASCII writer's default, `<path>.<open time as %Y-%m-%d-%H-%M-%S>.log`
//!   (`Log::rotation_format_func` with `Log::default_rotation_date_format`), open time in local time.

fn local_tm(t: f64) -> libc::tm {
    let secs = t.floor() as libc::time_t;
    // SAFETY: localtime_r writes into our tm.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    }
}

/// Start of the local day containing `t`.
fn start_of_day(t: f64) -> f64 {
    let mut tm = local_tm(t);
    tm.tm_hour = 0;
    tm.tm_min = 0;
    tm.tm_sec = 0;
    // SAFETY: mktime normalises our tm.
    unsafe { libc::mktime(&mut tm) as f64 }
}

/// The next rotation after `now` for `interval` seconds and a base offset from local midnight
/// (`log_rotate_base_time`, 0 by default): `start_of_day + base + k * interval`, the first one after
/// `now`.
pub fn next_rotation(now: f64, interval: f64, base: f64) -> f64 {
    let sod = start_of_day(now);
    let k = ((now - sod - base) / interval).floor() + 1.0;
    sod + base + k * interval
}

/// `conn.2026-11-23-12-00-00.log` for path `conn` opened at that (local) time.
pub fn rotated_name(path: &str, open: f64, ext: &str) -> String {
    let tm = local_tm(open);
    format!(
        "{path}.{:04}-{:02}-{:02}-{:02}-{:02}-{:02}.{ext}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_and_names() {
        // The tests of this module use UTC.
        std::env::set_var("TZ", "UTC");
        extern "C" {
            fn tzset();
        }
        // SAFETY: re-reads TZ.
        unsafe { tzset() };
        let t = 1_763_900_000.5; // 2025-11-23 12:13:20.5 UTC
        assert_eq!(next_rotation(t, 3600.0, 0.0), 1_763_902_800.0); // 13:00
        assert_eq!(next_rotation(t, 900.0, 0.0), 1_763_900_100.0); // 12:15
        assert_eq!(next_rotation(1_763_902_800.0, 3600.0, 0.0), 1_763_906_400.0);
        assert_eq!(
            rotated_name("conn", 1_763_899_200.0, "log"),
            "conn.2025-11-23-12-00-00.log"
        );
    }
}
