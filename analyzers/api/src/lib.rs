//! # weir-api: the public analyzer API
//!
//! This is the one crate a protocol analyzer depends on. It holds:
//!
//! * [`Weird`]: the typed names of everything unusual an analyzer (or the engine) notices;
//! * [`log`]: log schemas and row values, which analyzers emit and the engine's writers format;
//! * [`analyzer`]: the [`Analyzer`] trait a session analyzer implements and the [`Context`] it is
//!   called with (confirmation, violation, weird, log), after Zeek's `DeliverPacket` / `DeliverStream` /
//!   `Undelivered` / `EndOfData` / `FlipRoles` contract.
//!
//! The engine's internals (decoding, flow tables, workers) are not visible from here.
//!
//! ```
//! use weir_api::{log::{Field, FieldType, Schema, Value}, Weird};
//! let schema = Schema::new("example", &[Field::new("name", FieldType::String)]);
//! assert_eq!(schema.index_of("name"), Some(0));
//! let row = [Some(Value::str(Weird::bad_TCP_checksum.name()))];
//! assert_eq!(row.len(), schema.fields.len());
//! ```

pub mod analyzer;
pub mod log;
pub mod testing;
mod weird;

pub use analyzer::{Analyzer, AnalyzerInfo, ConnInfo, Context, Probe, Settings, Transport};
pub use weird::Weird;
