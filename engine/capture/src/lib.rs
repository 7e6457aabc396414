//! # weir-capture: packet sources
