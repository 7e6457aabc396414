//! Optional client/server fingerprints, named as the popular Zeek packages name them in ssl.log:
//! `ja3`/`ja3s` (salesforce/ja3) and `ja4`/`ja4s` (FoxIO ja4).

use md5::Digest as _;

fn is_grease(v: u32) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) & 0xff == v & 0xff
}

fn md5_hex(s: &str) -> String {
    crate::x509::hex(&md5::Md5::digest(s.as_bytes()))
}

fn sha256_12(s: &str) -> String {
    use sha2::Digest;
    crate::x509::hex(&sha2::Sha256::digest(s.as_bytes()))[..12].to_string()
}

fn join<T: std::fmt::Display>(v: impl Iterator<Item = T>) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join("-")
}

/// JA3 and JA3S (md5 of `version,ciphers,extensions,curves,point_formats` / `version,cipher,extensions`).
#[derive(Debug, Default)]
pub struct Ja3 {
    client: Option<(u16, Vec<u32>, Vec<u16>)>,
    curves: Vec<u16>,
    formats: Vec<u8>,
    server: Option<(u16, u32, Vec<u16>)>,
}

impl Ja3 {
    pub fn client_hello(&mut self, version: u16, ciphers: &[u32], exts: &[u16]) {
        self.client = Some((version, ciphers.to_vec(), exts.to_vec()));
    }
    pub fn curves(&mut self, c: &[u16]) {
        self.curves = c.to_vec();
    }
    pub fn point_formats(&mut self, f: &[u8]) {
        self.formats = f.to_vec();
    }
    pub fn server_hello(&mut self, version: u16, cipher: u32, exts: &[u16]) {
        self.server = Some((version, cipher, exts.to_vec()));
    }
    /// The JA3 string before hashing.
    pub fn client_string(&self) -> Option<String> {
        let (v, ciphers, exts) = self.client.as_ref()?;
        Some(format!(
            "{},{},{},{},{}",
            v,
            join(ciphers.iter().filter(|&&c| !is_grease(c))),
            join(exts.iter().filter(|&&e| !is_grease(u32::from(e)))),
            join(self.curves.iter().filter(|&&c| !is_grease(u32::from(c)))),
            join(self.formats.iter())
        ))
    }
    pub fn client(&self) -> Option<String> {
        self.client_string().map(|s| md5_hex(&s))
    }
    pub fn server(&self) -> Option<String> {
        let (v, c, exts) = self.server.as_ref()?;
        Some(md5_hex(&format!("{},{},{}", v, c, join(exts.iter()))))
    }
}

/// JA4 and JA4S (FoxIO).
#[derive(Debug, Default)]
pub struct Ja4 {
    client: Option<(u16, Vec<u32>, Vec<u16>, bool)>,
    versions: Vec<u16>,
    sni: bool,
    alpn: Option<Vec<u8>>,
    sig_algs: Vec<u16>,
    server: Option<(u16, u32, Vec<u16>)>,
    server_version: Option<u16>,
    server_alpn: Option<Vec<u8>>,
}

fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn ja4_alpn(a: Option<&[u8]>) -> String {
    match a {
        None | Some([]) => "00".into(),
        Some(p) => {
            let (f, l) = (p[0], p[p.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                format!("{}{}", f as char, l as char)
            } else {
                let h = crate::x509::hex(&[f, l]);
                format!("{}{}", &h[..1], &h[3..])
            }
        }
    }
}

impl Ja4 {
    pub fn client_hello(&mut self, version: u16, ciphers: &[u32], exts: &[u16], dtls: bool) {
        self.client = Some((version, ciphers.to_vec(), exts.to_vec(), dtls));
    }
    pub fn client_versions(&mut self, v: &[u16]) {
        self.versions = v.to_vec();
    }
    pub fn sni(&mut self, present: bool) {
        self.sni |= present;
    }
    pub fn alpn(&mut self, p: Option<&[u8]>) {
        self.alpn = p.map(<[u8]>::to_vec);
    }
    pub fn server_alpn(&mut self, p: Option<&[u8]>) {
        self.server_alpn = p.map(<[u8]>::to_vec);
    }
    pub fn sig_algs(&mut self, a: &[u16]) {
        self.sig_algs = a.to_vec();
    }
    pub fn server_hello(&mut self, version: u16, cipher: u32, exts: &[u16]) {
        self.server = Some((version, cipher, exts.to_vec()));
    }
    pub fn server_version(&mut self, v: Option<u16>) {
        self.server_version = v;
    }

    pub fn client(&self) -> Option<String> {
        let (v, ciphers, exts, dtls) = self.client.as_ref()?;
        let proto = if *dtls { 'd' } else { 't' };
        let version = self
            .versions
            .iter()
            .copied()
            .filter(|&x| !is_grease(u32::from(x)))
            .max()
            .unwrap_or(*v);
        let ciphers: Vec<u32> = ciphers.iter().copied().filter(|&c| !is_grease(c)).collect();
        let exts: Vec<u16> = exts.iter().copied().filter(|&e| !is_grease(u32::from(e))).collect();
        let sni = if exts.contains(&0) || self.sni { 'd' } else { 'i' };
        let a = format!(
            "{proto}{}{sni}{:02}{:02}{}",
            ja4_version(version),
            ciphers.len().min(99),
            exts.len().min(99),
            ja4_alpn(self.alpn.as_deref())
        );
        let mut sc: Vec<String> = ciphers.iter().map(|c| format!("{c:04x}")).collect();
        sc.sort();
        let b = if sc.is_empty() {
            "000000000000".to_string()
        } else {
            sha256_12(&sc.join(","))
        };
        let mut se: Vec<String> = exts
            .iter()
            .filter(|&&e| e != 0 && e != 16)
            .map(|e| format!("{e:04x}"))
            .collect();
        se.sort();
        let c = if se.is_empty() {
            "000000000000".to_string()
        } else {
            let mut s = se.join(",");
            let sigs: Vec<String> = self.sig_algs.iter().map(|x| format!("{x:04x}")).collect();
            if !sigs.is_empty() {
                s.push('_');
                s.push_str(&sigs.join(","));
            }
            sha256_12(&s)
        };
        Some(format!("{a}_{b}_{c}"))
    }

    pub fn server(&self) -> Option<String> {
        let (v, cipher, exts) = self.server.as_ref()?;
        let dtls = self.client.as_ref().is_some_and(|c| c.3);
        let proto = if dtls { 'd' } else { 't' };
        let version = self.server_version.unwrap_or(*v);
        let a = format!(
            "{proto}{}{:02}{}",
            ja4_version(version),
            exts.len().min(99),
            ja4_alpn(self.server_alpn.as_deref())
        );
        let e: Vec<String> = exts.iter().map(|e| format!("{e:04x}")).collect();
        let c = if e.is_empty() {
            "000000000000".to_string()
        } else {
            sha256_12(&e.join(","))
        };
        Some(format!("{a}_{cipher:04x}_{c}"))
    }
}
