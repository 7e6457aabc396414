//! # weir-capture: packet sources
//!
//! Reads packets from legacy pcap and pcapng files or streams (stdin with `-`), streaming with one reused
//! buffer, and gives every packet the timestamp Zeek would give it: libpcap hands Zeek a `struct timeval`
//! (microseconds; nanosecond files and pcapng `if_tsresol` values are scaled the way libpcap scales them)
//! and Zeek computes `double(tv_sec) + double(tv_usec) / 1e6`. [`RawPacket::ts`] is that value, bit for bit.
//!
//! Filter expressions (`-f 'tcp port 80'`) live in [`filter`]: libpcap, loaded at run time, compiles the
//! expression to classic BPF, and a Rust interpreter ([`filter::Program`]) runs it in user space.
//!
//! Damaged input never panics: a reader yields every complete packet before the damage, then a
//! [`CaptureError`] naming the input and the byte offset where the damage starts.
//!
//! ```no_run
//! use weir_capture::PcapReader;
//!
//! let mut reader = PcapReader::open("trace.pcap")?;
//! while let Some(pkt) = reader.next_packet()? {
//!     println!("{:.6} {} bytes on link type {}", pkt.ts, pkt.caplen, pkt.link.0);
//! }
//! # Ok::<(), weir_capture::CaptureError>(())
//! ```

pub mod filter;
#[doc(hidden)]
pub mod fuzzing;
pub mod mapped;
#[cfg(feature = "gzip")]
pub mod owned;
mod reader;

pub use mapped::Window;
pub use reader::{CaptureError, ErrorKind, Format, PcapReader, RawPacket, MAX_BLOCK_LEN, MAX_SNAPLEN};
pub use weir_decode::LinkType;
