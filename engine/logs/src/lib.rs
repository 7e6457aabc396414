//! # weir-logs: Zeek-compatible log writers
