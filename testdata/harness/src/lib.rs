//! weir-golden: replays Zeek's btest corpus (testdata/zeek) against the `weir` binary and
//! compares the logs with Zeek's baselines (see testdata/zeek/README.md).
//!
//! * [`shell`] interprets the tests' `@TEST-EXEC` lines, with `zeek` replaced by weir
//!   ([`zeek::translate`]).
//! * [`canon`] reimplements Zeek's canonifiers and parses logs.
//! * [`compare`] maps uids to connection keys and compares rows field by field.
//! * [`roots`] turns root certificates that test scripts add to `SSL::root_certs` into PEM bundles.
//! * [`suite`] runs tests, checks `testdata/known-differences.tsv` and renders the report.

pub mod canon;
pub mod compare;
pub mod manifest;
pub mod roots;
pub mod shell;
pub mod suite;
pub mod zeek;
