//! Comparison of a canonified baseline with our output: uids replaced by connection keys,
//! rows compared as multisets, then paired (connection key + position, then similarity)
//! so that field-level statistics survive one wrong field.

use crate::canon::{Parsed, Row};
use std::collections::{BTreeMap, HashMap};

/// uid -> connection key; `None` when one uid names several keys (seeded uids repeat across runs).
/// Keys from conn.log and tunnel.log win over keys from other logs (a weird.log row may carry the
/// connection's ids before Zeek flipped its direction).
#[derive(Debug, Clone, Default)]
pub struct UidMap {
    pub primary: HashMap<String, Option<String>>,
    pub secondary: HashMap<String, Option<String>>,
}

/// True for conn.log and tunnel.log content (by `#path`) or log type.
pub fn is_primary(p: &Parsed, log_type: Option<&str>) -> bool {
    matches!(log_type, Some("conn") | Some("tunnel"))
        || p.headers.iter().any(|h| h == "#path\tconn" || h == "#path\ttunnel")
}

const ID_FIELDS: [&str; 4] = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"];
/// Fields holding connection uids (single or a set).
pub const UID_FIELDS: &[&str] = &["uid", "tunnel_parents", "conn_uids", "uids"];
/// Fields holding file ids, which we cannot map: compared for presence only.
pub const FUID_FIELDS: &[&str] = &[
    "fuid",
    "parent_fuid",
    "cert_chain_fuids",
    "client_cert_chain_fuids",
    "orig_fuids",
    "resp_fuids",
];

/// The connection key of a row from its own `id.*` fields (all four needed).
pub fn own_key(row: &Row) -> Option<String> {
    let mut parts = Vec::new();
    for f in ID_FIELDS {
        let v = row.get(f)?;
        if v == "-" || v.is_empty() {
            return None;
        }
        parts.push(v.to_string());
    }
    Some(format!("{}:{}>{}:{}", parts[0], parts[1], parts[2], parts[3]))
}

impl UidMap {
    /// Adds the uid -> key pairs of a log; `log_type` when known from elsewhere (cut files).
    pub fn add_parsed_typed(&mut self, p: &Parsed, log_type: Option<&str>) {
        let map = if is_primary(p, log_type) {
            &mut self.primary
        } else {
            &mut self.secondary
        };
        for row in &p.rows {
            let (Some(uid), Some(key)) = (row.get("uid"), own_key(row)) else {
                continue;
            };
            if uid == "-" {
                continue;
            }
            match map.get(uid) {
                None => {
                    map.insert(uid.to_string(), Some(key));
                }
                Some(Some(k)) if *k == key => {}
                Some(_) => {
                    map.insert(uid.to_string(), None);
                }
            }
        }
    }

    pub fn add_parsed(&mut self, p: &Parsed) {
        self.add_parsed_typed(p, None)
    }

    pub fn resolve(&self, uid: &str) -> Option<&str> {
        match self.primary.get(uid) {
            Some(k) => k.as_deref(),
            None => self.secondary.get(uid).and_then(|k| k.as_deref()),
        }
    }

    /// True if every uid value in the file resolves to exactly one key.
    pub fn resolves_all(&self, p: &Parsed) -> bool {
        for row in &p.rows {
            for f in UID_FIELDS {
                if let Some(v) = row.get(f) {
                    for u in split_set(v) {
                        if self.resolve(u).is_none() {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }
}

fn split_set(v: &str) -> Vec<&str> {
    if v == "-" || v == "(empty)" || v.is_empty() {
        return Vec::new();
    }
    v.split(',').collect()
}

/// Whether uid values become connection keys or are only checked for presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UidMode {
    Keys,
    Presence,
}

/// A row ready for comparison: uids substituted, pairing key computed.
#[derive(Debug, Clone)]
pub struct CRow {
    pub cols: std::rc::Rc<Vec<String>>,
    pub vals: Vec<String>,
    pub key: Option<String>,
}

impl CRow {
    fn line(&self) -> String {
        self.vals.join("\t")
    }
    fn canon(&self) -> String {
        format!("{}\u{1}{}", self.cols.join("\t"), self.vals.join("\t"))
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.cols
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.vals.get(i))
            .map(|s| s.as_str())
    }
}

pub fn prepare(p: &Parsed, map: &UidMap, mode: UidMode) -> Vec<CRow> {
    p.rows
        .iter()
        .map(|row| {
            let mut vals = row.vals.clone();
            for (i, c) in row.cols.iter().enumerate() {
                let Some(v) = vals.get_mut(i) else { continue };
                if UID_FIELDS.contains(&c.as_str()) {
                    let parts = split_set(v);
                    if !parts.is_empty() {
                        let mut mapped: Vec<String> = parts
                            .iter()
                            .map(|u| match (mode, map.resolve(u)) {
                                (UidMode::Keys, Some(k)) => format!("{{{k}}}"),
                                _ => "<uid>".to_string(),
                            })
                            .collect();
                        // A set (tunnel_parents) has no order of its own: Zeek writes it in hash order.
                        if c != "uid" {
                            mapped.sort();
                        }
                        *v = mapped.join(",");
                    }
                } else if FUID_FIELDS.contains(&c.as_str()) {
                    let n = split_set(v).len();
                    if n > 0 {
                        *v = vec!["<fuid>"; n].join(",");
                    }
                }
            }
            // dns.log's `auth` and `addl` (policy/protocols/dns/auth-addl) are sets: Zeek writes them in
            // hash order, so compare them sorted.
            if row.cols.iter().any(|c| c == "qtype_name") {
                for (c, v) in row.cols.iter().zip(vals.iter_mut()) {
                    if (c == "auth" || c == "addl") && v.contains(',') {
                        let mut parts: Vec<&str> = v.split(',').collect();
                        parts.sort();
                        *v = parts.join(",");
                    }
                }
            }
            let key = own_key(row).or_else(|| {
                row.get("uid")
                    .filter(|_| mode == UidMode::Keys)
                    .and_then(|u| map.resolve(u))
                    .map(String::from)
            });
            CRow {
                cols: row.cols.clone(),
                vals,
                key,
            }
        })
        .collect()
}

/// Result of comparing one expected file with our file.
#[derive(Debug, Clone, Default)]
pub struct FileCompare {
    pub pass: bool,
    pub expected_rows: usize,
    pub actual_rows: usize,
    /// Expected rows with no partner.
    pub missing_rows: usize,
    /// Our rows with no partner.
    pub extra_rows: usize,
    /// field -> (matched, total) over the expected rows, in column order.
    pub fields: Vec<(String, usize, usize)>,
    pub header_diffs: Vec<String>,
    /// Human-readable differences (all; callers truncate).
    pub diffs: Vec<String>,
}

fn multiset(lines: &[String]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        *m.entry(l.as_str()).or_insert(0) += 1;
    }
    m
}

fn header_diffs(exp: &[String], act: &[String]) -> Vec<String> {
    // #open/#close are masked already; compare the rest as multisets.
    let skip = |l: &&String| !l.starts_with("#open") && !l.starts_with("#close");
    let e: Vec<String> = exp.iter().filter(skip).cloned().collect();
    let a: Vec<String> = act.iter().filter(skip).cloned().collect();
    let (me, ma) = (multiset(&e), multiset(&a));
    let mut out = Vec::new();
    for (l, n) in &me {
        let k = ma.get(l).copied().unwrap_or(0);
        if k < *n {
            out.push(format!("header missing: {l}"));
        }
    }
    for (l, n) in &ma {
        let k = me.get(l).copied().unwrap_or(0);
        if k < *n {
            out.push(format!("header extra:   {l}"));
        }
    }
    out
}

fn score(e: &CRow, a: &CRow) -> usize {
    e.cols
        .iter()
        .zip(&e.vals)
        .filter(|(c, v)| a.get(c) == Some(v.as_str()))
        .count()
}

/// Greedy pairing of `exp` rows with `act` rows (indices), best score first per expected row.
fn pair_greedy(
    exp: &[CRow],
    act: &[CRow],
    e_idx: &[usize],
    a_free: &mut Vec<usize>,
    pairs: &mut Vec<(usize, usize)>,
    require_half: bool,
) -> Vec<usize> {
    let mut unpaired = Vec::new();
    let big = e_idx.len().saturating_mul(a_free.len()) > 2_000_000;
    for &ei in e_idx {
        if a_free.is_empty() {
            unpaired.push(ei);
            continue;
        }
        let pos = if big && !require_half {
            0
        } else if big {
            // Too many rows for the quadratic search: first row with half the fields equal.
            match a_free
                .iter()
                .position(|&ai| 2 * score(&exp[ei], &act[ai]) >= exp[ei].vals.len())
            {
                Some(p) => p,
                None => {
                    unpaired.push(ei);
                    continue;
                }
            }
        } else {
            let mut best = 0;
            let mut best_s = None;
            for (p, &ai) in a_free.iter().enumerate() {
                let s = score(&exp[ei], &act[ai]);
                if best_s.map(|b| s > b).unwrap_or(true) {
                    best = p;
                    best_s = Some(s);
                }
            }
            if require_half && 2 * best_s.unwrap_or(0) < exp[ei].vals.len() {
                // Rows of different connections with little in common: not a pair.
                unpaired.push(ei);
                continue;
            }
            best
        };
        let ai = a_free.remove(pos);
        pairs.push((ei, ai));
    }
    unpaired
}

pub fn compare(exp_hdr: &[String], exp: &[CRow], act_hdr: &[String], act: &[CRow]) -> FileCompare {
    let mut r = FileCompare {
        expected_rows: exp.len(),
        actual_rows: act.len(),
        header_diffs: header_diffs(exp_hdr, act_hdr),
        ..Default::default()
    };
    // Field order: first appearance in expected rows.
    let mut order: Vec<String> = Vec::new();
    let mut stats: HashMap<String, (usize, usize)> = HashMap::new();
    for e in exp {
        for c in e.cols.iter() {
            if !stats.contains_key(c) {
                order.push(c.clone());
                stats.insert(c.clone(), (0, 0));
            }
        }
    }
    // 1. exact multiset matches.
    let mut act_by_canon: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, a) in act.iter().enumerate() {
        act_by_canon.entry(a.canon()).or_default().push(i);
    }
    let mut a_used = vec![false; act.len()];
    let mut e_left = Vec::new();
    for (i, e) in exp.iter().enumerate() {
        match act_by_canon
            .get_mut(&e.canon())
            .and_then(|v| if v.is_empty() { None } else { Some(v.remove(0)) })
        {
            Some(ai) => {
                a_used[ai] = true;
                for c in e.cols.iter() {
                    let s = stats.get_mut(c).unwrap();
                    s.0 += 1;
                    s.1 += 1;
                }
            }
            None => e_left.push(i),
        }
    }
    // 2. pair leftovers by connection key (in order), then by similarity.
    let mut pairs = Vec::new();
    let mut by_key_a: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut a_nokey = Vec::new();
    for (i, a) in act.iter().enumerate() {
        if a_used[i] {
            continue;
        }
        match &a.key {
            Some(k) => by_key_a.entry(k.clone()).or_default().push(i),
            None => a_nokey.push(i),
        }
    }
    let mut by_key_e: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut e_rest = Vec::new();
    for &i in &e_left {
        match &exp[i].key {
            Some(k) if by_key_a.contains_key(k) => by_key_e.entry(k.clone()).or_default().push(i),
            _ => e_rest.push(i),
        }
    }
    for (k, eis) in &by_key_e {
        let mut free = by_key_a.remove(k).unwrap_or_default();
        let un = pair_greedy(exp, act, eis, &mut free, &mut pairs, false);
        e_rest.extend(un);
        a_nokey.extend(free);
    }
    for (_, v) in by_key_a {
        a_nokey.extend(v);
    }
    a_nokey.sort_unstable();
    e_rest.sort_unstable();
    let unpaired = pair_greedy(exp, act, &e_rest, &mut a_nokey, &mut pairs, true);
    pairs.sort_unstable();
    for (ei, ai) in &pairs {
        let (e, a) = (&exp[*ei], &act[*ai]);
        let mut d = Vec::new();
        for (c, v) in e.cols.iter().zip(&e.vals) {
            let s = stats.get_mut(c).unwrap();
            s.1 += 1;
            match a.get(c) {
                Some(av) if av == v => s.0 += 1,
                Some(av) => d.push(format!("{c}: expected `{v}` got `{av}`")),
                None => d.push(format!("{c}: expected `{v}`, column absent")),
            }
        }
        let who = e.key.clone().unwrap_or_else(|| format!("row {}", ei + 1));
        r.diffs.push(format!("~ {who}: {}", d.join("; ")));
    }
    for ei in &unpaired {
        let e = &exp[*ei];
        for c in e.cols.iter() {
            stats.get_mut(c).unwrap().1 += 1;
        }
        r.diffs.push(format!("- {}", e.line()));
    }
    for ai in &a_nokey {
        r.diffs.push(format!("+ {}", act[*ai].line()));
    }
    r.missing_rows = unpaired.len();
    r.extra_rows = a_nokey.len();
    r.fields = order
        .into_iter()
        .map(|c| {
            let (m, t) = stats[&c];
            (c, m, t)
        })
        .collect();
    r.pass = r.header_diffs.is_empty() && pairs.is_empty() && unpaired.is_empty() && a_nokey.is_empty();
    r
}

/// Multiset of canonical rows (for comparing two runs of ours).
pub fn row_multiset(hdr: &[String], rows: &[CRow]) -> Vec<String> {
    let mut v: Vec<String> = hdr
        .iter()
        .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
        .cloned()
        .collect();
    v.extend(rows.iter().map(|r| r.canon()));
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canon::{parse_log, Canon};

    const CONN: &str = "### BTest baseline data generated by btest-diff. Do not edit.\n#separator \\x09\n#path\tconn\n#open\t2020-01-01-00-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\thistory\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\n1300475167.096535\tCAAA\t10.0.0.1\t1234\t10.0.0.2\t80\ttcp\tShAdDaFf\n1300475168.000000\tCBBB\t10.0.0.1\t1235\t10.0.0.2\t80\ttcp\tS\n1300475169.000000\tCCCC\t10.0.0.3\t53\t10.0.0.2\t53\tudp\tDd\n#close\t2020-01-01-00-00-01\n";

    fn run(exp: &str, act: &str) -> FileCompare {
        let c = Canon::from_spec("default");
        let (pe, pa) = (parse_log(exp, c, None), parse_log(act, c, None));
        let (mut me, mut ma) = (UidMap::default(), UidMap::default());
        me.add_parsed(&pe);
        ma.add_parsed(&pa);
        let mode = if me.resolves_all(&pe) {
            UidMode::Keys
        } else {
            UidMode::Presence
        };
        compare(
            &pe.headers,
            &prepare(&pe, &me, mode),
            &pa.headers,
            &prepare(&pa, &ma, mode),
        )
    }

    fn field(r: &FileCompare, f: &str) -> (usize, usize) {
        let x = r.fields.iter().find(|x| x.0 == f).unwrap();
        (x.1, x.2)
    }

    #[test]
    fn identical_passes() {
        let r = run(CONN, CONN);
        assert!(r.pass, "{:?}", r);
        assert_eq!(field(&r, "history"), (3, 3));
    }

    #[test]
    fn other_uids_times_and_order_still_pass() {
        let act = CONN
            .replace("CAAA", "Cxyz1")
            .replace("CBBB", "Cxyz2")
            .replace("CCCC", "Cxyz3")
            .replace("1300475168.000000", "1300475999.123456")
            .replace("#open\t2020-01-01-00-00-00", "#open\t2026-11-23-12-00-00");
        let mut lines: Vec<&str> = act.lines().collect();
        lines.swap(7, 9); // reorder data rows
        let r = run(CONN, &(lines.join("\n") + "\n"));
        assert!(r.pass, "{:?}", r);
    }

    #[test]
    fn one_wrong_field_counts_once() {
        let act = CONN.replace("\tShAdDaFf", "\tShAdDaFfR");
        let r = run(CONN, &act);
        assert!(!r.pass);
        assert_eq!(field(&r, "history"), (2, 3));
        assert_eq!(field(&r, "proto"), (3, 3));
        assert_eq!(field(&r, "uid"), (3, 3));
        assert_eq!(r.missing_rows, 0);
        assert_eq!(r.extra_rows, 0);
        assert!(r.diffs[0].contains("10.0.0.1:1234>10.0.0.2:80"), "{:?}", r.diffs);
        assert!(r.diffs[0].contains("history"));
    }

    #[test]
    fn missing_and_extra_rows() {
        let act = CONN.replace("1300475169.000000\tCCCC\t10.0.0.3\t53\t10.0.0.2\t53\tudp\tDd\n", "");
        let r = run(CONN, &act);
        assert!(!r.pass);
        assert_eq!(r.missing_rows, 1);
        assert_eq!(field(&r, "proto"), (2, 3));
        let r = run(&act, CONN);
        assert_eq!(r.extra_rows, 1);
        assert_eq!(field(&r, "proto"), (2, 2));
    }

    #[test]
    fn header_difference_fails() {
        let act = CONN.replace("#path\tconn", "#path\tconn2");
        let r = run(CONN, &act);
        assert!(!r.pass);
        assert_eq!(r.header_diffs.len(), 2);
    }

    #[test]
    fn uid_referring_rows_use_conn_keys() {
        // A weird row without id fields, referring to a conn uid.
        let mut m = UidMap::default();
        let c = Canon::from_spec("default");
        m.add_parsed(&parse_log(CONN, c, None));
        let cut = crate::canon::CutSpec::from_cmd("zeek-cut -m uid name");
        let w = parse_log("uid\tname\nCBBB\tbad_thing\n", c, Some(&cut));
        assert!(m.resolves_all(&w));
        let rows = prepare(&w, &m, UidMode::Keys);
        assert_eq!(rows[0].vals[0], "{10.0.0.1:1235>10.0.0.2:80}");
        assert_eq!(rows[0].key.as_deref(), Some("10.0.0.1:1235>10.0.0.2:80"));
        let rows = prepare(&w, &m, UidMode::Presence);
        assert_eq!(rows[0].vals[0], "<uid>");
    }

    #[test]
    fn ambiguous_uids_are_unresolved() {
        let c = Canon::from_spec("default");
        let mut m = UidMap::default();
        m.add_parsed(&parse_log(CONN, c, None));
        m.add_parsed(&parse_log(&CONN.replace("10.0.0.1\t1234", "10.9.9.9\t1"), c, None));
        assert!(m.resolve("CAAA").is_none());
        assert!(m.resolve("CBBB").is_some());
    }

    #[test]
    fn conn_log_keys_win_over_weird_log_keys() {
        let c = Canon::from_spec("default");
        let conn = "#path\tconn\n#fields\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\nC1\ta\t1\tb\t2\n";
        let weird =
            "#path\tweird\n#fields\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\nC1\tb\t2\ta\t1\nC2\tx\t1\ty\t2\n";
        let mut m = UidMap::default();
        m.add_parsed(&parse_log(weird, c, None));
        m.add_parsed(&parse_log(conn, c, None));
        assert_eq!(m.resolve("C1"), Some("a:1>b:2"));
        assert_eq!(m.resolve("C2"), Some("x:1>y:2"));
    }

    #[test]
    fn unrelated_rows_are_not_paired() {
        let act = CONN.replace(
            "1300475169.000000\tCCCC\t10.0.0.3\t53\t10.0.0.2\t53\tudp\tDd",
            "1300475169.000000\tCCCC\t10.9.9.9\t0\t10.8.8.8\t0\tunknown_transport\t-",
        );
        let r = run(CONN, &act);
        assert_eq!(r.missing_rows, 1);
        assert_eq!(r.extra_rows, 1);
        assert_eq!(field(&r, "proto"), (2, 3));
        // Same key, many differences: still paired.
        let act = CONN.replace("udp\tDd", "tcp\tS");
        let r = run(CONN, &act);
        assert_eq!(r.missing_rows, 0);
        assert_eq!(field(&r, "proto"), (2, 3));
    }
}
