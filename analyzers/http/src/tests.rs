use super::*;
use weir_api::testing::{chunk, drive, RecordingContext};

fn run(chunks: &[(bool, &[u8])]) -> RecordingContext {
    let mut script = Vec::new();
    for (o, d) in chunks {
        script.extend(chunk(*o, false, d));
    }
    let mut cx = RecordingContext::new(Transport::Tcp, 80);
    drive(&mut HttpAnalyzer::new(), &mut cx, &script);
    cx
}

#[test]
fn request_confirms() {
    let cx = run(&[(true, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")]);
    assert!(cx.confirmed);
    assert!(cx.violations.is_empty());
}

#[test]
fn garbage_request_is_a_violation() {
    let cx = run(&[(true, b"\x16\x03\x01\x00\x05hello\r\n")]);
    assert!(!cx.confirmed);
    assert_eq!(cx.violations, ["not a http request line"]);
    assert_eq!(cx.weirds, ["bad_HTTP_request"]);
}

#[test]
fn reply_without_request_does_not_confirm() {
    let cx = run(&[(false, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]);
    assert!(!cx.confirmed);
    let cx = run(&[(false, b"SSH-2.0-OpenSSH\r\n")]);
    assert_eq!(cx.violations, ["not a http reply line"]);
}

#[test]
fn pipelined_requests_with_bodies_stay_in_sync() {
    let cx = run(&[
        (
            true,
            b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nab\ncdPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nx\ny\r\n0\r\n\r\nGET /c HTTP/1.1\r\n\r\n",
        ),
        (
            false,
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n",
        ),
    ]);
    assert!(cx.confirmed);
    assert!(cx.violations.is_empty(), "{:?}", cx.violations);
    assert!(cx.weirds.is_empty(), "{:?}", cx.weirds);
}

#[test]
fn head_reply_has_no_body() {
    let cx = run(&[
        (true, b"HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
        (
            false,
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        ),
    ]);
    assert!(cx.violations.is_empty(), "{:?}", cx.violations);
}

#[test]
fn second_request_without_keep_alive_is_weird() {
    let cx = run(&[(true, b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n")]);
    assert_eq!(cx.weirds, ["unexpected_multiple_HTTP_requests"]);
}

#[test]
fn bad_content_length_and_chunk_size() {
    let cx = run(&[(
        true,
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\nPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
    )]);
    assert_eq!(cx.weirds, ["HTTP_bad_content_length", "HTTP_bad_chunk_size"]);
}

#[test]
fn http09() {
    let cx = run(&[(true, b"GET /\r\n"), (false, b"<html>")]);
    assert!(cx.confirmed);
    assert!(cx.violations.is_empty());
}

#[test]
fn gap_in_body_is_skipped() {
    let mut script = chunk(true, false, b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab");
    script.extend([4 | 1, 0, 5]);
    script.extend(chunk(true, false, b"cdeGET / HTTP/1.1\r\n\r\n"));
    let mut cx = RecordingContext::new(Transport::Tcp, 80);
    drive(&mut HttpAnalyzer::new(), &mut cx, &script);
    assert!(cx.violations.is_empty(), "{:?}", cx.violations);
}

#[test]
fn probe_matches_both_signatures() {
    assert_eq!(probe(Transport::Tcp, true, b"  GET / HTTP/1.1"), Probe::Yes);
    assert_eq!(probe(Transport::Tcp, true, b"PROPFIND /"), Probe::Yes);
    assert_eq!(probe(Transport::Tcp, true, b"HELO x"), Probe::No);
    assert_eq!(probe(Transport::Tcp, true, b"GE"), Probe::Unsure);
    assert_eq!(probe(Transport::Tcp, false, b"hTtP/1.1 200"), Probe::Yes);
    assert_eq!(probe(Transport::Tcp, false, b"HTTP/x"), Probe::No);
    assert_eq!(probe(Transport::Udp, true, b"GET /"), Probe::No);
}
