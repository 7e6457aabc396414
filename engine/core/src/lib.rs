//! # weir-engine
