//! `policy/protocols/ssl/validate-certs.zeek`: ssl.log's `validation_status`, the result of verifying the
//! server's certificate chain ([`crate::verify`]) against the root certificates (`SSL::root_certs`) at the
//! network time the row is written (Zeek's `x509_verify` defaults to `network_time()` in `ssl_finishing`).
//!
//! The script's two caches are kept per worker (as in a Zeek cluster whose workers have not exchanged
//! intermediates yet; weir's workers share nothing, so results do not depend on thread timing):
//! * results by chain (the SHA-1s of its certificates), read-expiring after 5 minutes
//!   (`recently_validated_certs`);
//! * with `SSL::ssl_cache_intermediate_ca` (default T), the intermediates of every chain that verified, by
//!   the subject of the host certificate's issuer (`intermediate_cache`): a later host certificate from the
//!   same issuer is first tried with them, which validates servers that do not send their intermediates.
//!
//! Root certificates: Zeek loads Mozilla's list (`base/protocols/ssl/mozilla-ca-list.zeek`); weir has the
//! same list built in (the `webpki-root-certs` crate, from Mozilla's CA program). `SSL::root_certs=FILE`
//! replaces it by the certificates of a PEM bundle (`{}`: none), `SSL::root_certs+=FILE` adds a bundle.

use crate::verify::{self, Cert, RootStore, VerifyError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// `&read_expire=5mins` of `recently_validated_certs`.
const RESULT_READ_EXPIRE: f64 = 300.0;
/// Bound on cached results per worker (Zeek's table is unbounded): when full, expired entries are dropped,
/// and if none are, the new result is not cached (it is computed again next time). An entry is the chain id
/// and the result, with the issuer's key hash when verified (no certificates: a few hundred bytes).
const MAX_CACHED_RESULTS: usize = 100_000;
/// Bound on cached intermediate chains per worker (Zeek's table is unbounded and never expires); when full,
/// new ones are not cached.
const MAX_CACHED_INTERMEDIATES: usize = 10_000;

/// Which root certificates to trust: Mozilla's built-in list or not, plus PEM bundle files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RootCerts {
    /// Without the built-in list (`SSL::root_certs=...`).
    pub replace_builtin: bool,
    /// PEM bundles, in order.
    pub files: Vec<String>,
}

impl RootCerts {
    /// From `SSL::root_certs` (`=`: replaces the built-in list; `{}` for none) and its `+=` additions.
    pub fn from_settings(set: Option<&str>, added: &[String]) -> RootCerts {
        RootCerts {
            replace_builtin: set.is_some(),
            files: setting_files(set, added),
        }
    }

    /// Loads the certificates; an unreadable or damaged bundle is an error naming the file.
    pub fn load(&self) -> Result<RootStore, String> {
        let mut store = RootStore::new();
        if !self.replace_builtin {
            for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
                store.add_der(der.as_ref());
            }
        }
        for f in &self.files {
            let text = std::fs::read(f).map_err(|e| format!("SSL::root_certs: {f}: {e}"))?;
            store.add_pem(&text).map_err(|e| format!("SSL::root_certs: {f}: {e}"))?;
        }
        Ok(store)
    }

    /// The store for these settings, loaded once per process and shared by all workers.
    pub fn store(&self) -> Arc<Result<RootStore, String>> {
        static STORES: Loaded<RootCerts, RootStore> = OnceLock::new();
        load_once(&STORES, self, RootCerts::load)
    }
}

/// Files loaded once per process, by the settings that name them.
pub type Loaded<K, V> = OnceLock<Mutex<HashMap<K, Arc<Result<V, String>>>>>;

/// The value loaded for `key`, loading it on first use.
pub fn load_once<K: Clone + Eq + std::hash::Hash, V>(
    cache: &Loaded<K, V>,
    key: &K,
    load: impl FnOnce(&K) -> Result<V, String>,
) -> Arc<Result<V, String>> {
    let mut map = cache
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(key.clone()).or_insert_with(|| Arc::new(load(key))).clone()
}

/// The files of a table setting given as files: the `NAME=FILE` one (`{}`: none) then the `NAME+=FILE` ones.
pub fn setting_files(set: Option<&str>, added: &[String]) -> Vec<String> {
    set.into_iter()
        .chain(added.iter().map(String::as_str))
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "{}" && *v != "{ }")
        .map(str::to_string)
        .collect()
}

/// The string ssl.log's `validation_status` shows for a result.
pub fn status_string<T>(r: &Result<T, VerifyError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.as_str(),
    }
}

/// `X509::Result` as the scripts use it: OpenSSL's result and, for a verified chain, the SHA-256 of the
/// SubjectPublicKeyInfo of the host certificate's issuer in it (`x509_spki_hash(valid_chain[1], 4)`, what
/// validate-sct.zeek needs of `valid_chain`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validated {
    pub result: Result<(), VerifyError>,
    pub issuer_key_hash: Option<[u8; 32]>,
}

impl Validated {
    /// OpenSSL's result code (`validation_code`): 0 for OK.
    pub fn code(&self) -> i64 {
        self.result.map_or_else(|e| e.code(), |()| 0)
    }
}

/// validate-certs.zeek's caches of one worker.
#[derive(Debug, Default)]
pub struct Caches {
    /// Chain id (SHA-1s of its certificates) -> (result, last access).
    recent: HashMap<Vec<[u8; 20]>, (Validated, f64)>,
    /// Subject name (DER) of an intermediate that issued a host certificate -> the intermediates of the
    /// chain that verified (host certificate and trust anchor left out).
    intermediates: HashMap<Vec<u8>, Vec<Arc<Cert>>>,
}

impl Caches {
    pub fn new() -> Caches {
        Caches::default()
    }

    /// The `ssl_finishing` hook: validates the server's chain (the certificates sent that parsed, the host
    /// certificate first) at network time `now`.
    pub fn validate(
        &mut self,
        certs: &[Arc<Cert>],
        store: &RootStore,
        cache_intermediates: bool,
        now: f64,
    ) -> Validated {
        let Some(leaf) = certs.first() else {
            return Validated {
                result: Err(VerifyError::UnableToGetIssuerCertLocally),
                issuer_key_hash: None,
            };
        };
        if cache_intermediates {
            if let Some(cached) = self.intermediates.get(&leaf.issuer_der) {
                let mut with_cached = vec![leaf.clone()];
                with_cached.extend(cached.iter().cloned());
                let r = self.cache_validate(&with_cached, store, cache_intermediates, now);
                if r.result.is_ok() {
                    return r;
                }
            }
        }
        self.cache_validate(certs, store, cache_intermediates, now)
    }

    /// The SPKI hash of the first cached intermediate for certificates issued by `issuer` (DER name).
    pub fn cached_intermediate_key_hash(&self, issuer: &[u8]) -> Option<[u8; 32]> {
        self.intermediates
            .get(issuer)
            .and_then(|v| v.first())
            .map(|c| c.spki_sha256())
    }

    /// `cache_validate`: a recent result for the same chain, else `x509_verify` (and caching of the
    /// intermediates of a chain that verified).
    fn cache_validate(
        &mut self,
        chain: &[Arc<Cert>],
        store: &RootStore,
        cache_intermediates: bool,
        now: f64,
    ) -> Validated {
        let id: Vec<[u8; 20]> = chain.iter().map(|c| verify::sha1(c.der())).collect();
        if let Some((v, last)) = self.recent.get_mut(&id) {
            if now - *last <= RESULT_READ_EXPIRE {
                *last = now;
                return v.clone();
            }
        }
        // Zeek passes network_time() as a double; x509_verify casts it to time_t.
        let verdict = verify::verify(chain, store, now.trunc() as i64);
        let validated = Validated {
            result: verdict.as_ref().map(|_| ()).map_err(|e| *e),
            issuer_key_hash: verdict.as_ref().ok().and_then(|p| p.get(1)).map(|c| c.spki_sha256()),
        };
        self.remember(id, validated.clone(), now);
        if let (true, Ok(path)) = (cache_intermediates, &verdict) {
            if path.len() > 2 && self.intermediates.len() < MAX_CACHED_INTERMEDIATES {
                self.intermediates
                    .entry(path[1].subject_der.clone())
                    .or_insert_with(|| path[1..path.len() - 1].to_vec());
            }
        }
        validated
    }

    fn remember(&mut self, id: Vec<[u8; 20]>, validated: Validated, now: f64) {
        if self.recent.len() >= MAX_CACHED_RESULTS {
            self.recent.retain(|_, (_, last)| now - *last <= RESULT_READ_EXPIRE);
        }
        if self.recent.len() < MAX_CACHED_RESULTS || self.recent.contains_key(&id) {
            self.recent.insert(id, (validated, now));
        }
    }
}
