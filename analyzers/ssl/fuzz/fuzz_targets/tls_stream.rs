#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = weir_ssl::fuzzing::fuzz_tls_stream(data);
});
