//! Pure parsers for handshake message bodies and extensions, after Zeek's binpac grammar
//! (`tls-handshake-protocol.pac`). They keep no state: the state machine in `proto.rs` drives them.
//! An error is what binpac reports as an exception (out of bounds), which Zeek turns into a violation.

use crate::wire::{Reader, Short};

pub const DTLSV10: u16 = 0xfeff;
pub const DTLSV12: u16 = 0xfefd;
pub const DTLSV13: u16 = 0xfefc;
pub const TLSV13: u16 = 0x0304;

/// An extension as it appears in a hello, with the typed content Zeek's grammar gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Extension<'a> {
    pub code: u16,
    pub data: &'a [u8],
    pub content: ExtContent<'a>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExtContent<'a> {
    None,
    Alpn(Vec<&'a [u8]>),
    EllipticCurves(Vec<u16>),
    EcPointFormats(Vec<u8>),
    /// (name_type, host name if type 0)
    ServerName(Vec<(u8, Option<&'a [u8]>)>),
    SignatureAlgorithms(Vec<u16>),
    KeyShareClient(Vec<u16>),
    KeyShareServer(u16),
    SupportedVersionsClient(Vec<u16>),
    SupportedVersionServer(u16),
    PskModes(Vec<u8>),
    PskClient,
    PskServer(u16),
    ConnectionId(&'a [u8]),
    /// ECH: type, and (kdf_id, aead_id) for the outer form (type 0)
    Ech(u8, Option<(u16, u16)>),
    /// signed_certificate_timestamp: the SCTs of the list.
    Scts(Vec<Sct<'a>>),
}

/// One Signed Certificate Timestamp (RFC 6962 3.2), as in the TLS extension and the X.509 / OCSP
/// extensions (`tls-handshake-signed_certificate_timestamp.pac`).
#[derive(Clone, Debug, PartialEq)]
pub struct Sct<'a> {
    pub version: u8,
    pub log_id: &'a [u8],
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    pub hash_alg: u8,
    pub sig_alg: u8,
    pub signature: &'a [u8],
}

/// A `SignedCertificateTimestampList`: `length: uint16` then SCTs, each `length: uint16` framed, until the
/// list's length is used up (bytes after it are ignored, as binpac's `&length` does).
pub fn parse_sct_list(data: &[u8]) -> Result<Vec<Sct<'_>>, Short> {
    let (list, end) = parse_sct_list_partial(data);
    end.map(|()| list)
}

/// [`parse_sct_list`], keeping the SCTs parsed before an error (binpac has raised their events by then).
pub fn parse_sct_list_partial(data: &[u8]) -> (Vec<Sct<'_>>, Result<(), Short>) {
    let mut out = Vec::new();
    let end = sct_list(data, &mut out);
    (out, end)
}

fn sct_list<'a>(data: &'a [u8], out: &mut Vec<Sct<'a>>) -> Result<(), Short> {
    let mut r = Reader::new(data);
    let len = r.u16()? as usize;
    let mut list = Reader::new(r.bytes(len)?);
    while list.remaining() > 0 {
        let l = list.u16()? as usize;
        let mut one = Reader::new(list.bytes(l)?);
        let version = one.u8()?;
        let log_id = one.bytes(32)?;
        let timestamp = u64::from(one.u32()?) << 32 | u64::from(one.u32()?);
        let ext_len = one.u16()? as usize;
        one.bytes(ext_len)?;
        let hash_alg = one.u8()?;
        let sig_alg = one.u8()?;
        let sig_len = one.u16()? as usize;
        let signature = one.bytes(sig_len)?;
        out.push(Sct {
            version,
            log_id,
            timestamp,
            hash_alg,
            sig_alg,
            signature,
        });
    }
    Ok(())
}

pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_ELLIPTIC_CURVES: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_ALPN: u16 = 16;
pub const EXT_SCT: u16 = 18;
pub const EXT_SESSION_TICKET: u16 = 35;
pub const EXT_KEY_SHARE_OLD: u16 = 40;
pub const EXT_PRE_SHARED_KEY: u16 = 41;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
pub const EXT_SIGNATURE_ALGORITHMS_CERT: u16 = 50;
pub const EXT_KEY_SHARE: u16 = 51;
pub const EXT_CONNECTION_ID: u16 = 54;
pub const EXT_ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelloKind {
    Client,
    Server,
    Other,
}

/// Parses the extensions that follow a hello: binpac's `ext_len: uint16[] &until(true)` then
/// `SSLExtension[] &until($input.length() == 0)` (the total length field is read, not checked).
/// `server_side`: the sender is the responder (after direction correction), for supported_versions.
pub fn parse_extensions<'a>(
    r: &mut Reader<'a>,
    kind: HelloKind,
    server_side: bool,
) -> Result<Vec<Extension<'a>>, Short> {
    let mut exts = Vec::new();
    if r.remaining() == 0 {
        return Ok(exts);
    }
    r.u16()?; // ext_len
    while r.remaining() > 0 {
        let code = r.u16()?;
        let len = r.u16()? as usize;
        let data = r.bytes(len)?;
        let content = parse_ext_content(code, data, kind, server_side)?;
        exts.push(Extension { code, data, content });
    }
    Ok(exts)
}

fn u16_list(r: &mut Reader<'_>) -> Result<Vec<u16>, Short> {
    let mut v = Vec::new();
    while r.remaining() > 0 {
        v.push(r.u16()?);
    }
    Ok(v)
}

fn parse_ext_content<'a>(
    code: u16,
    data: &'a [u8],
    kind: HelloKind,
    server_side: bool,
) -> Result<ExtContent<'a>, Short> {
    if data.is_empty() {
        return Ok(ExtContent::None);
    }
    let mut r = Reader::new(data);
    Ok(match code {
        EXT_ALPN => {
            let len = r.u16()? as usize;
            let mut inner = Reader::new(r.bytes(len)?);
            let mut names = Vec::new();
            while inner.remaining() > 0 {
                let l = inner.u8()? as usize;
                names.push(inner.bytes(l)?);
            }
            ExtContent::Alpn(names)
        }
        EXT_ELLIPTIC_CURVES => {
            let len = r.u16()? as usize;
            let mut v = Vec::new();
            for _ in 0..len / 2 {
                v.push(r.u16()?);
            }
            ExtContent::EllipticCurves(v)
        }
        EXT_EC_POINT_FORMATS => {
            let len = r.u8()? as usize;
            ExtContent::EcPointFormats(r.bytes(len)?.to_vec())
        }
        EXT_SERVER_NAME => {
            let len = r.u16()? as usize;
            let mut inner = Reader::new(r.bytes(len)?);
            let mut names = Vec::new();
            while inner.remaining() > 0 {
                let t = inner.u8()?;
                if t == 0 {
                    let l = inner.u16()? as usize;
                    names.push((0, Some(inner.bytes(l)?)));
                } else {
                    inner.rest();
                    names.push((t, None));
                }
            }
            ExtContent::ServerName(names)
        }
        EXT_SIGNATURE_ALGORITHMS | EXT_SIGNATURE_ALGORITHMS_CERT => {
            let len = r.u16()? as usize;
            ExtContent::SignatureAlgorithms(u16_list(&mut Reader::new(r.bytes(len)?))?)
        }
        EXT_KEY_SHARE | EXT_KEY_SHARE_OLD => match kind {
            HelloKind::Client => {
                let len = r.u16()? as usize;
                let mut inner = Reader::new(r.bytes(len)?);
                let mut groups = Vec::new();
                while inner.remaining() > 0 {
                    groups.push(inner.u16()?);
                    let l = inner.u16()? as usize;
                    inner.bytes(l)?;
                }
                ExtContent::KeyShareClient(groups)
            }
            HelloKind::Server => {
                let g = r.u16()?;
                if data.len() != 2 {
                    let l = r.u16()? as usize;
                    r.bytes(l)?;
                }
                ExtContent::KeyShareServer(g)
            }
            HelloKind::Other => ExtContent::None,
        },
        EXT_SUPPORTED_VERSIONS => {
            if !server_side {
                let len = r.u8()? as usize;
                ExtContent::SupportedVersionsClient(u16_list(&mut Reader::new(r.bytes(len)?))?)
            } else {
                ExtContent::SupportedVersionServer(r.u16()?)
            }
        }
        EXT_PSK_KEY_EXCHANGE_MODES => {
            let len = r.u8()? as usize;
            ExtContent::PskModes(r.bytes(len)?.to_vec())
        }
        EXT_PRE_SHARED_KEY => match kind {
            HelloKind::Client => {
                let l = r.u16()? as usize;
                let mut ids = Reader::new(r.bytes(l)?);
                while ids.remaining() > 0 {
                    let il = ids.u16()? as usize;
                    ids.bytes(il)?;
                    ids.u32()?;
                }
                let l = r.u16()? as usize;
                let mut b = Reader::new(r.bytes(l)?);
                while b.remaining() > 0 {
                    let bl = b.u8()? as usize;
                    b.bytes(bl)?;
                }
                ExtContent::PskClient
            }
            HelloKind::Server => ExtContent::PskServer(r.u16()?),
            HelloKind::Other => ExtContent::None,
        },
        EXT_SCT => ExtContent::Scts(parse_sct_list(data)?),
        EXT_CONNECTION_ID => {
            let l = r.u8()? as usize;
            ExtContent::ConnectionId(r.bytes(l)?)
        }
        EXT_ENCRYPTED_CLIENT_HELLO => {
            let t = r.u8()?;
            let mut ids = None;
            if t == 0 {
                let kdf = r.u16()?;
                let aead = r.u16()?;
                r.u8()?;
                let l = r.u16()? as usize;
                r.bytes(l)?;
                let l = r.u16()? as usize;
                r.bytes(l)?;
                ids = Some((kdf, aead));
            }
            ExtContent::Ech(t, ids)
        }
        _ => ExtContent::None,
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClientHello<'a> {
    pub version: u16,
    pub gmt_unix_time: u32,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub ciphers: Vec<u32>,
    pub compression: Vec<u8>,
    pub extensions: Vec<Extension<'a>>,
}

pub fn parse_client_hello<'a>(body: &'a [u8], server_side: bool) -> Result<ClientHello<'a>, Short> {
    let mut r = Reader::new(body);
    let version = r.u16()?;
    let gmt_unix_time = r.u32()?;
    let random = r.bytes(28)?;
    let sl = r.u8()? as usize;
    let session_id = r.bytes(sl)?;
    if version == DTLSV10 || version == DTLSV12 {
        let cl = r.u8()? as usize;
        r.bytes(cl)?;
    }
    let cl = r.u16()? as usize;
    let mut ciphers = Vec::with_capacity(cl / 2);
    for _ in 0..cl / 2 {
        ciphers.push(u32::from(r.u16()?));
    }
    let ml = r.u8()? as usize;
    let compression = r.bytes(ml)?.to_vec();
    let extensions = parse_extensions(&mut r, HelloKind::Client, server_side)?;
    Ok(ClientHello {
        version,
        gmt_unix_time,
        random,
        session_id,
        ciphers,
        compression,
        extensions,
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServerHello<'a> {
    pub version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub cipher: u32,
    pub compression: u8,
    pub extensions: Vec<Extension<'a>>,
}

pub fn parse_server_hello<'a>(body: &'a [u8], server_side: bool) -> Result<ServerHello<'a>, Short> {
    let mut r = Reader::new(body);
    let v0 = r.u8()?;
    let v1 = r.u8()?;
    let version = u16::from(v0) << 8 | u16::from(v1);
    let parsed = if v0 == 0x7f { 0x7f00 } else { version };
    if parsed == TLSV13 || parsed == 0x7f00 {
        let random = r.bytes(32)?;
        let cipher = u32::from(r.u16()?);
        let extensions = parse_extensions(&mut r, HelloKind::Server, server_side)?;
        Ok(ServerHello {
            version,
            random,
            session_id: &[],
            cipher,
            compression: 0,
            extensions,
        })
    } else {
        let random = r.bytes(32)?;
        let sl = r.u8()? as usize;
        let session_id = r.bytes(sl)?;
        let cipher = u32::from(r.u16()?);
        let compression = r.u8()?;
        let extensions = parse_extensions(&mut r, HelloKind::Server, server_side)?;
        Ok(ServerHello {
            version,
            random,
            session_id,
            cipher,
            compression,
            extensions,
        })
    }
}

/// Certificate message: `length: uint24; certificates: X509Certificate[] &until(input empty)`, with
/// `&length = length + 3`.
pub fn parse_certificate_list(body: &[u8]) -> Result<Vec<&[u8]>, Short> {
    let mut r = Reader::new(body);
    let len = r.u24()? as usize;
    let mut inner = Reader::new(r.bytes(len)?);
    let mut certs = Vec::new();
    while inner.remaining() > 0 {
        let l = inner.u24()? as usize;
        certs.push(inner.bytes(l)?);
    }
    Ok(certs)
}

/// How a cipher suite's ServerKeyExchange is laid out (binpac's case lists in `ServerKeyExchange`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kex {
    Ecdhe,
    EcdhAnon,
    Dhe,
    DhAnon,
    Other,
}

#[rustfmt::skip]
pub fn kex_kind(c: u32) -> Kex {
    match c {
        0xC006 | 0xC007 | 0xC008 | 0xC009 | 0xC00A | 0xC010 | 0xC011 | 0xC012 | 0xC013 | 0xC014 | 0xC023 | 0xC024 | 0xC027 | 0xC028 | 0xC02B | 0xC02C | 0xC02F | 0xC030 | 0xC033 | 0xC034 | 0xC035 | 0xC036 | 0xC037 | 0xC038 | 0xC039 | 0xC03A | 0xC03B | 0xC048 | 0xC049 | 0xC04C | 0xC04D | 0xC05C | 0xC05D | 0xC060 | 0xC061 | 0xC070 | 0xC071 | 0xC072 | 0xC073 | 0xC076 | 0xC077 | 0xC086 | 0xC087 | 0xC08A | 0xC08B | 0xC09A | 0xC09B | 0xC0AC | 0xC0AD | 0xC0AE | 0xC0AF | 0xCC13 | 0xCC14 | 0xCCA8 | 0xCCA9 | 0xD001 | 0xD002 | 0xD003 | 0xD005 => Kex::Ecdhe,
        0xC015..=0xC019 => Kex::EcdhAnon,
        0x0011 | 0x0012 | 0x0013 | 0x0014 | 0x0015 | 0x0016 | 0x0032 | 0x0033 | 0x0038 | 0x0039 | 0x0040 | 0x0044 | 0x0045 | 0x0063 | 0x0065 | 0x0066 | 0x0067 | 0x006A | 0x006B | 0x0072 | 0x0073 | 0x0074 | 0x0077 | 0x0078 | 0x0079 | 0x0087 | 0x0088 | 0x008E | 0x008F | 0x0090 | 0x0091 | 0x0099 | 0x009A | 0x009E | 0x009F | 0x00A2 | 0x00A3 | 0x00AA | 0x00AB | 0x00B2 | 0x00B3 | 0x00B4 | 0x00B5 | 0x00BD | 0x00BE | 0x00C3 | 0x00C4 | 0xC042 | 0xC043 | 0xC044 | 0xC045 | 0xC052 | 0xC053 | 0xC056 | 0xC057 | 0xC066 | 0xC067 | 0xC06C | 0xC06D | 0xC07C | 0xC07D | 0xC080 | 0xC081 | 0xC090 | 0xC091 | 0xC096 | 0xC097 | 0xC09E | 0xC09F | 0xC0A2 | 0xC0A3 | 0xC0A6 | 0xC0A7 | 0xC0AA | 0xC0AB | 0xCC15 | 0xCCAA | 0xCCAD => Kex::Dhe,
        0x0017 | 0x0018 | 0x0019 | 0x001A | 0x001B | 0x0034 | 0x003A | 0x0046 | 0x006C | 0x006D | 0x0089 | 0x009B | 0x00A6 | 0x00A7 | 0x00BF | 0x00C5 | 0xC046 | 0xC047 | 0xC05A | 0xC05B | 0xC084 | 0xC085 => Kex::DhAnon,
        _ => Kex::Other,
    }
}

/// What a ServerKeyExchange told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KexParams {
    /// A named ECDH curve.
    Curve(u16),
    /// DH parameters: the length of Ys in bytes.
    Dh {
        ys_len: usize,
    },
    None,
}

/// Parses a ServerKeyExchange.
pub fn parse_server_key_exchange(body: &[u8], kex: Kex, uses_sig_alg: bool) -> Result<KexParams, Short> {
    let mut r = Reader::new(body);
    match kex {
        Kex::Ecdhe | Kex::EcdhAnon => {
            let t = r.u8()?;
            if t != 3 {
                return Ok(KexParams::None);
            }
            let curve = r.u16()?;
            let pl = r.u8()? as usize;
            r.bytes(pl)?;
            if kex == Kex::Ecdhe {
                if uses_sig_alg {
                    r.u16()?;
                }
                let sl = r.u16()? as usize;
                r.bytes(sl)?;
            }
            Ok(KexParams::Curve(curve))
        }
        Kex::Dhe | Kex::DhAnon => {
            let mut ys_len = 0;
            for _ in 0..3 {
                let l = r.u16()? as usize;
                r.bytes(l)?;
                ys_len = l;
            }
            if kex == Kex::Dhe {
                if uses_sig_alg {
                    r.u16()?;
                }
                let sl = r.u16()? as usize;
                r.bytes(sl)?;
            }
            Ok(KexParams::Dh { ys_len })
        }
        Kex::Other => Ok(KexParams::None),
    }
}
