//! Translation of a `zeek ...` command line (plus the test's %INPUT @loads and redefs from the
//! manifest) into a weir command line.

use crate::manifest::Test;

/// btest helper scripts that only print (to stdout files the harness does not compare) and change no
/// log, so a run that loads them is still comparable. `./discarder.zeek` (core.truncation) defines
/// `discarder_check_ip` returning F: it prints each packet header and discards nothing.
const LOG_NEUTRAL_HELPERS: &[&str] = &["./discarder.zeek"];

/// Log paths weir writes (now or later); those a bare-mode run did not load are disabled.
pub const WEIR_LOGS: &[&str] = &["conn", "weird", "tunnel", "dns", "ssl", "x509", "capture_loss", "stats"];

/// Logs enabled in default (non -b) mode: base/init-default loads these, not the policy ones.
const DEFAULT_LOGS: &[&str] = &["conn", "weird", "tunnel", "dns", "ssl", "x509"];

/// What a Zeek script loads, transitively (computed from zeek/scripts at a13de64f with the
/// @load closure): the logs among WEIR_LOGS it enables and the protocol analyzers
/// (base/protocols/*) whose ports it registers. Policy scripts are listed when weir supports them.
struct ScriptInfo {
    name: &'static str,
    logs: &'static [&'static str],
    analyzers: &'static [&'static str],
}

const SCRIPTS: &[ScriptInfo] = &[
    si("base/files/hash", &[], &[]),
    si("base/files/x509", &["x509"], &[]),
    si("base/frameworks/config", &[], &[]),
    si("base/frameworks/notice", &["weird"], &[]),
    si("base/frameworks/notice/weird", &["weird"], &[]),
    si("base/frameworks/signatures", &["weird"], &[]),
    si("base/frameworks/tunnels", &["tunnel"], &[]),
    si("base/protocols/conn", &["conn"], &[]),
    si("base/protocols/dhcp", &[], &["dhcp"]),
    si("base/protocols/dns", &["dns"], &["dns"]),
    si("base/protocols/ftp", &["conn", "weird", "ssl", "x509"], &["ftp", "ssl"]),
    si(
        "base/protocols/ftp/gridftp",
        &["conn", "weird", "ssl", "x509"],
        &["ftp", "ssl"],
    ),
    si("base/protocols/http", &["weird", "tunnel"], &["http"]),
    si("base/protocols/imap", &[], &["imap"]),
    si("base/protocols/irc", &[], &["irc"]),
    si("base/protocols/krb", &["x509"], &["krb"]),
    si("base/protocols/ldap", &[], &["ldap"]),
    si("base/protocols/mysql", &[], &["mysql"]),
    si("base/protocols/ntp", &[], &["ntp"]),
    si("base/protocols/pop3", &[], &["pop3"]),
    si("base/protocols/postgresql", &[], &["postgresql"]),
    si("base/protocols/quic", &["weird"], &["quic"]),
    si("base/protocols/rdp", &[], &["rdp"]),
    si("base/protocols/redis", &["weird"], &["redis"]),
    si("base/protocols/smtp", &["weird"], &["smtp"]),
    si("base/protocols/socks", &["tunnel"], &["socks"]),
    si("base/protocols/ssh", &[], &["ssh"]),
    si("base/protocols/ssl", &["weird", "ssl", "x509"], &["ssl"]),
    si("base/protocols/syslog", &[], &["syslog"]),
    si(
        "base/protocols/tunnels",
        &[],
        &["ayiya", "teredo", "gtpv1", "vxlan", "geneve"],
    ),
    si("base/protocols/websocket", &["weird", "tunnel"], &["http", "websocket"]),
    si("base/protocols/xmpp", &[], &["xmpp"]),
    // Policy scripts weir implements.
    si("misc/capture-loss", &["weird", "capture_loss"], &[]),
    si("misc/stats", &["weird", "stats"], &[]),
    si("protocols/conn/community-id-logging", &["conn"], &[]),
    // TLS policy scripts weir-ssl implements through settings (see POLICY_SETTINGS).
    si("protocols/ssl/ssl-log-ext", &["weird", "ssl", "x509"], &["ssl"]),
    si("protocols/dns/auth-addl", &["weird", "dns"], &["dns"]),
    si("protocols/dns/log-original-query-case", &["weird", "dns"], &["dns"]),
    si("protocols/ssl/log-hostcerts-only", &["weird", "ssl", "x509"], &["ssl"]),
    si("protocols/ssl/log-certs-base64", &["weird", "ssl", "x509"], &["ssl"]),
    si(
        "protocols/ssl/certificate-request-info",
        &["weird", "ssl", "x509"],
        &["ssl"],
    ),
    si("protocols/ssl/validate-certs", &["weird", "ssl", "x509"], &["ssl"]),
    si("protocols/ssl/validate-sct", &["weird", "ssl", "x509"], &["ssl"]),
    si("protocols/ssl/validate-ocsp", &["weird", "ssl", "x509"], &["ssl"]),
];

/// Policy scripts that weir implements as settings of an analyzer: loading the script in Zeek is
/// `--set` in weir.
const POLICY_SETTINGS: &[(&str, &str)] = &[
    ("protocols/ssl/ssl-log-ext", "SSL::log_ext=T"),
    ("protocols/dns/auth-addl", "DNS::auth_addl=T"),
    ("protocols/dns/log-original-query-case", "DNS::log_original_query=T"),
    ("protocols/ssl/log-hostcerts-only", "X509::log_hostcerts_only=T"),
    ("protocols/ssl/log-certs-base64", "X509::log_cert_base64=T"),
    (
        "protocols/ssl/certificate-request-info",
        "SSL::log_requested_client_certificate_authorities=T",
    ),
    ("protocols/ssl/validate-certs", "SSL::validate_certs=T"),
    ("protocols/ssl/validate-sct", "SSL::validate_sct=T"),
    ("protocols/ssl/validate-ocsp", "SSL::validate_ocsp=T"),
];

/// btest helper scripts (testing/scripts, copied to testdata/zeek/scripts) that only add root certificates
/// (`redef SSL::root_certs += {...}`): weir gets them as a PEM bundle with `SSL::root_certs+=` (see
/// [`TABLE_FILES`]).
const ROOT_CERT_HELPERS: &[&str] = &["external-ca-list.zeek"];

/// Table settings weir reads from files, filled by multi-line redefs in Zeek scripts: the setting, the file
/// name to write, and the converter of the script's redef into the file's content.
type TableFile = (&'static str, &'static str, fn(&str) -> Option<Vec<u8>>);

const TABLE_FILES: &[TableFile] = &[
    ("SSL::root_certs", "root-certs", |t| {
        crate::roots::root_certs_in_script(t).map(|c| crate::roots::pem_bundle(&c))
    }),
    ("SSL::ct_logs", "ct-logs", |t| {
        crate::roots::ct_logs_in_script(t).map(|l| crate::roots::ct_log_list_json(&l))
    }),
];

/// `NAME+=FILE` settings for what a Zeek script adds to the tables of [`TABLE_FILES`] (`only`: that table
/// alone), with the files to write in the run directory; false when the script is not in the corpus or adds
/// nothing.
fn table_settings(
    script: &std::path::Path,
    only: Option<&str>,
    inv: &mut Invocation,
    settings: &mut Vec<(String, String)>,
) -> bool {
    let Ok(text) = std::fs::read_to_string(script) else {
        return false;
    };
    let mut found = false;
    for (setting, stem, convert) in TABLE_FILES {
        if only.is_some_and(|o| o != *setting) {
            continue;
        }
        if let Some(content) = convert(&text) {
            let ext = if *stem == "ct-logs" { "json" } else { "pem" };
            let name = format!("{stem}-{}.{ext}", inv.files.len() + 1);
            inv.files.push((name.clone(), content));
            settings.push((setting.to_string(), format!("{setting}+={name}")));
            found = true;
        }
    }
    found
}

const fn si(name: &'static str, logs: &'static [&'static str], analyzers: &'static [&'static str]) -> ScriptInfo {
    ScriptInfo { name, logs, analyzers }
}

fn normalize_script(s: &str) -> String {
    let s = s.trim_end_matches(".zeek");
    let s = s.strip_prefix("policy/").unwrap_or(s);
    s.trim_end_matches('/').to_string()
}

/// A weir invocation derived from one zeek command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// Arguments after the weir binary, except --workers (added by the runner).
    pub args: Vec<String>,
    /// Reasons why weir cannot reproduce this run (empty = supported).
    pub unsupported: Vec<String>,
    /// Log paths this run may write (for bookkeeping of unsupported runs).
    pub logs: Vec<String>,
    /// Setting names passed with --set (to recognise weir's "unknown setting" error).
    pub settings: Vec<String>,
    /// True when the trace is read from stdin (`-r -`).
    pub stdin_trace: bool,
    /// Files to write in the run directory first (name, content): root certificate bundles.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Record redefs that only add `&log` to a field weir can log, and the weir setting that stands for each
/// (spaces removed from the redef).
const RECORD_REDEF_SETTINGS: &[(&str, &str)] =
    &[("recordX509::Certificate$tbs_sig_alg+={&log}", "X509::log_tbs_sig_alg=T")];

/// Splits `redef NAME[: type] (=|+=|-=) VALUE;` into a `--set` argument.
pub fn redef_to_setting(redef: &str) -> Result<(String, String), String> {
    let r = redef.trim().trim_end_matches(';').trim();
    let body = r.strip_prefix("redef ").unwrap_or(r).trim();
    if let Some((_, set)) = RECORD_REDEF_SETTINGS
        .iter()
        .find(|(redef, _)| body.replace(' ', "") == *redef)
    {
        let name = set.split('=').next().unwrap_or(set);
        return Ok((name.to_string(), set.to_string()));
    }
    if body.starts_with("record ") || body.starts_with("enum ") {
        return Err(format!("`{r}` (record/enum redef) is not a weir setting"));
    }
    if body.contains('{') && !body.contains('}') {
        return Err(format!("multi-line `{r} ...` is not a weir setting"));
    }
    let (lhs, op, rhs) = if let Some(i) = body.find("+=") {
        (&body[..i], "+=", &body[i + 2..])
    } else if let Some(i) = body.find("-=") {
        (&body[..i], "-=", &body[i + 2..])
    } else if let Some(i) = body.find('=') {
        (&body[..i], "=", &body[i + 1..])
    } else {
        return Err(format!("cannot read `{r}` as a setting"));
    };
    // Drop a type annotation (`name: count`) but not namespaces (`A::b`).
    let mut name = lhs.trim().to_string();
    if let Some(i) = name.find(": ") {
        name.truncate(i);
    } else if name.ends_with(':') {
        name.pop();
    }
    let name = name.trim().to_string();
    if name.is_empty() || name.contains(' ') {
        return Err(format!("cannot read `{r}` as a setting"));
    }
    Ok((name.clone(), format!("{name}{op}{}", rhs.trim())))
}

/// Command-line `name=value` / `name += value` words of a zeek invocation.
fn is_setting_word(w: &str) -> bool {
    if w.starts_with('-') || w.starts_with('$') || w.starts_with('.') || w.starts_with('/') {
        return false;
    }
    match w.find('=') {
        Some(i) => {
            let n = w[..i].trim_end_matches(['+', '-']).trim();
            !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        }
        None => false,
    }
}

/// Scripts named on any zeek command line of the test (so the manifest's `scripts_loaded`
/// minus these are the %INPUT's own @loads).
pub fn cmdline_scripts(test: &Test) -> Vec<String> {
    let mut out = Vec::new();
    for c in &test.zeek_cmds {
        for w in c.split_whitespace() {
            if !w.starts_with('-')
                && !w.starts_with('$')
                && !w.starts_with('%')
                && !w.starts_with('"')
                && !w.starts_with('\'')
                && !w.contains('=')
                && (w.contains('/') || w.ends_with(".zeek"))
            {
                out.push(normalize_script(w));
            }
        }
    }
    out
}

/// Translates a zeek argv (after `zeek`) into a weir invocation; `traces` resolves `$TRACES`
/// already done by the shell, so trace paths arrive as they are.
pub fn translate(argv: &[String], test: &Test) -> Invocation {
    let mut inv = Invocation::default();
    let mut bare = false;
    let mut use_input = false;
    let mut scripts: Vec<String> = Vec::new();
    let mut settings: Vec<(String, String)> = Vec::new();
    let mut reads: Vec<String> = Vec::new();
    let mut filter: Option<String> = None;
    let mut ignore_checksums = false;
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        i += 1;
        if a == "%INPUT" {
            use_input = true;
        } else if a == "-r" || a == "--readfile" {
            if let Some(f) = argv.get(i) {
                reads.push(f.clone());
                i += 1;
            }
        } else if a == "-f" || a == "--filter" {
            filter = argv.get(i).cloned();
            i += 1;
        } else if a == "-O" {
            i += 1; // script optimisation (ZAM): irrelevant to logs
        } else if a.starts_with("-O") {
        } else if a == "-b" || a == "--bare-mode" {
            bare = true;
        } else if a == "-C" || a == "--no-checksums" {
            ignore_checksums = true;
        } else if a.starts_with('-') && a.len() > 1 && !a.starts_with("--") {
            // Combined short flags, e.g. -Cr FILE, -br FILE.
            let mut ok = true;
            for ch in a[1..].chars() {
                match ch {
                    'b' => bare = true,
                    'C' => ignore_checksums = true,
                    'r' => {
                        if let Some(f) = argv.get(i) {
                            reads.push(f.clone());
                            i += 1;
                        }
                    }
                    _ => ok = false,
                }
            }
            if !ok {
                inv.unsupported
                    .push(format!("zeek option `{a}` has no weir equivalent"));
            }
        } else if a.starts_with("--") {
            inv.unsupported
                .push(format!("zeek option `{a}` has no weir equivalent"));
        } else if is_setting_word(a) {
            let w = a.replace(" += ", "+=").replace(" = ", "=");
            match redef_to_setting(&w) {
                Ok(s) => settings.push(s),
                Err(e) => inv.unsupported.push(e),
            }
        } else if LOG_NEUTRAL_HELPERS.contains(&a.as_str()) {
            // Prints only; changes no log (see LOG_NEUTRAL_HELPERS).
        } else if let Some(h) = ROOT_CERT_HELPERS
            .iter()
            .find(|h| a.strip_prefix("$SCRIPTS/") == Some(**h))
        {
            let path = crate::suite::corpus_dir().join("scripts").join(h);
            if !table_settings(&path, None, &mut inv, &mut settings) {
                inv.unsupported
                    .push(format!("loads a btest helper script `{a}` that weir cannot run"));
            }
        } else if a.contains("$SCRIPTS") || a.contains("/scripts/") || a.starts_with("./") {
            inv.unsupported
                .push(format!("loads a btest helper script `{a}` that weir cannot run"));
        } else {
            scripts.push(normalize_script(a));
        }
    }
    if use_input {
        let from_cmdline = cmdline_scripts(test);
        for s in &test.scripts_loaded {
            let s = normalize_script(s);
            if !from_cmdline.contains(&s) && !scripts.contains(&s) {
                scripts.push(s);
            }
        }
        for r in test.script_redefs() {
            let table = TABLE_FILES
                .iter()
                .find(|(setting, ..)| r.replace(' ', "").starts_with(&format!("redef{setting}+={{")));
            if let (Err(_), Some((setting, ..))) = (redef_to_setting(&r), table) {
                // The manifest keeps only the first line; the %INPUT (testdata/zeek/inputs) has the entries.
                let dir = crate::suite::corpus_dir().join("inputs");
                let found = ["zeek", "test"].iter().any(|ext| {
                    let input = dir.join(format!("{}.{ext}", test.name));
                    table_settings(&input, Some(setting), &mut inv, &mut settings)
                });
                if found {
                    continue;
                }
            }
            match redef_to_setting(&r) {
                Ok(s) => settings.push(s),
                Err(e) => inv.unsupported.push(e),
            }
        }
        for n in &test.notes {
            if n.contains("EXTENDS log record") {
                inv.unsupported
                    .push("the %INPUT extends a log record (extra fields)".into());
            }
            if n.contains("custom log filter") {
                inv.unsupported.push("the %INPUT installs a custom log filter".into());
            }
        }
    }
    // Loaded scripts -> logs and analyzers.
    let mut logs: Vec<String> = if bare {
        Vec::new()
    } else {
        DEFAULT_LOGS.iter().map(|s| s.to_string()).collect()
    };
    let mut analyzers: Vec<String> = Vec::new();
    let mut community_id = false;
    let mut capture_loss = false;
    let mut policy_sets: Vec<String> = Vec::new();
    for s in &scripts {
        if s == "protocols/conn/community-id-logging" {
            community_id = true;
        }
        if s == "misc/capture-loss" {
            capture_loss = true;
        }
        if let Some((_, set)) = POLICY_SETTINGS.iter().find(|(p, _)| p == s) {
            policy_sets.push(set.to_string());
        }
        match SCRIPTS.iter().find(|x| x.name == s) {
            Some(info) => {
                for l in info.logs {
                    if !logs.iter().any(|x| x == l) {
                        logs.push(l.to_string());
                    }
                }
                for an in info.analyzers {
                    if !analyzers.iter().any(|x| x == an) {
                        analyzers.push(an.to_string());
                    }
                }
            }
            None if s.starts_with("base/protocols/") => {
                let an = s["base/protocols/".len()..].split('/').next().unwrap_or("");
                let an = an.replace('-', "_");
                if !analyzers.contains(&an) {
                    analyzers.push(an);
                }
            }
            None if s.starts_with("base/") => {}
            None => inv
                .unsupported
                .push(format!("loads policy script `{s}`, which weir lacks")),
        }
    }
    if reads.is_empty() {
        inv.unsupported.push("zeek run without -r (no trace)".into());
    }
    for r in &reads {
        inv.args.push("-r".into());
        inv.args.push(r.clone());
        if r == "-" {
            inv.stdin_trace = true;
        }
    }
    if ignore_checksums {
        inv.args.push("-C".into());
    }
    if let Some(f) = filter {
        inv.args.push("-f".into());
        inv.args.push(f);
    }
    inv.args
        .extend(["--logdir", ".", "--format", "tsv", "-q"].map(String::from));
    inv.args.push("--analyzers".into());
    if !bare {
        inv.args.push("all".into());
    } else if analyzers.is_empty() {
        inv.args.push("none".into());
    } else {
        inv.args.push(analyzers.join(","));
    }
    let disabled: Vec<&str> = WEIR_LOGS
        .iter()
        .copied()
        .filter(|l| !logs.iter().any(|x| x == l))
        .collect();
    if !disabled.is_empty() {
        inv.args.push("--disable-logs".into());
        inv.args.push(disabled.join(","));
    }
    for (name, s) in settings {
        inv.args.push("--set".into());
        inv.args.push(s);
        inv.settings.push(name);
    }
    if community_id {
        inv.args.push("--community-id".into());
    }
    if capture_loss {
        inv.args.push("--load".into());
        inv.args.push("misc/capture-loss".into());
    }
    for set in policy_sets {
        inv.args.push("--set".into());
        inv.args.push(set);
    }
    inv.logs = logs;
    inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse;

    fn test_row(scripts: &str, notes: &str, cmds: &str) -> Test {
        let text = format!(
            "tier\ttest\ttraces\tzeek_cmds\tscripts_loaded\texpected_files\tservices_in_baseline\tnotes\tbtest_exec_lines\ncore\tt\ta.pcap\t{cmds}\t{scripts}\t-\t-\t{notes}\t{cmds}\n"
        );
        parse(&text).unwrap().remove(0)
    }

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn val<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
        args.iter().position(|a| a == flag).map(|i| args[i + 1].as_str())
    }

    #[test]
    fn bare_conn_only() {
        let t = test_row("base/protocols/conn", "bare(-b)", "zeek -b -C -r x.pcap %INPUT");
        let inv = translate(&argv("-b -C -r x.pcap %INPUT"), &t);
        assert!(inv.unsupported.is_empty(), "{:?}", inv.unsupported);
        assert!(inv.args.contains(&"-C".to_string()));
        assert_eq!(val(&inv.args, "-r"), Some("x.pcap"));
        assert_eq!(val(&inv.args, "--analyzers"), Some("none"));
        assert_eq!(
            val(&inv.args, "--disable-logs"),
            Some("weird,tunnel,dns,ssl,x509,capture_loss,stats")
        );
        assert_eq!(val(&inv.args, "--format"), Some("tsv"));
    }

    #[test]
    fn default_mode_and_combined_flags() {
        let t = test_row("(default base scripts)", "default-scripts(no -b)", "zeek -Cr x.pcap");
        let inv = translate(&argv("-Cr x.pcap"), &t);
        assert!(inv.unsupported.is_empty());
        assert_eq!(val(&inv.args, "--analyzers"), Some("all"));
        assert_eq!(val(&inv.args, "--disable-logs"), Some("capture_loss,stats"));
        assert!(inv.args.contains(&"-C".to_string()));
    }

    #[test]
    fn settings_from_cmdline_and_redefs() {
        let t = test_row(
            "base/protocols/dns base/frameworks/notice/weird",
            "bare(-b) ; redefs: redef likely_server_ports += { 40190/udp }; | redef PacketAnalyzer::SKIP::skip_bytes: count = 38;",
            "zeek -b -r x.pcap dns_max_queries=3 %INPUT",
        );
        let inv = translate(&argv("-b -r x.pcap dns_max_queries=3 %INPUT"), &t);
        assert!(inv.unsupported.is_empty(), "{:?}", inv.unsupported);
        let sets: Vec<&String> = inv
            .args
            .iter()
            .enumerate()
            .filter(|(i, _)| *i > 0 && inv.args[i - 1] == "--set")
            .map(|(_, a)| a)
            .collect();
        assert_eq!(
            sets,
            vec![
                "dns_max_queries=3",
                "likely_server_ports+={ 40190/udp }",
                "PacketAnalyzer::SKIP::skip_bytes=38"
            ]
        );
        assert_eq!(val(&inv.args, "--analyzers"), Some("dns"));
        assert_eq!(
            val(&inv.args, "--disable-logs"),
            Some("conn,tunnel,ssl,x509,capture_loss,stats")
        );
    }

    #[test]
    fn quoted_cmdline_set_with_spaces() {
        let t = test_row("base/protocols/conn", "bare(-b)", "zeek");
        let inv = translate(
            &[
                "-b".to_string(),
                "-r".into(),
                "x.pcap".into(),
                "ignore_checksums_nets += {192.168.0.0/16}".into(),
            ],
            &t,
        );
        assert!(inv.unsupported.is_empty(), "{:?}", inv.unsupported);
        assert_eq!(val(&inv.args, "--set"), Some("ignore_checksums_nets+={192.168.0.0/16}"));
    }

    #[test]
    fn unsupported_things() {
        let t0 = test_row("base/frameworks/notice/weird", "bare(-b)", "zeek -b -r x.pcap %INPUT");
        let inv = translate(&argv("-b -r x.pcap %INPUT ./discarder.zeek"), &t0);
        assert!(
            inv.unsupported.is_empty(),
            "a log-neutral helper is not unsupported: {:?}",
            inv.unsupported
        );
        let inv = translate(&argv("-b -r x.pcap %INPUT ./other.zeek"), &t0);
        assert!(!inv.unsupported.is_empty());
        let t = test_row(
            "base/protocols/conn protocols/conn/mac-logging",
            "bare(-b) ; EXTENDS log record (extra fields) ; redefs: redef record Info += {",
            "zeek -b -r x.pcap %INPUT",
        );
        let inv = translate(&argv("-b -r x.pcap %INPUT ./other.zeek"), &t);
        let u = inv.unsupported.join(" | ");
        assert!(u.contains("mac-logging"), "{u}");
        assert!(u.contains("extends a log record"), "{u}");
        assert!(u.contains("record/enum"), "{u}");
        assert!(u.contains("./other.zeek"), "{u}");
        // Without %INPUT the script's loads and redefs do not apply.
        let inv = translate(&argv("-b -r x.pcap"), &t);
        assert!(inv.unsupported.is_empty(), "{:?}", inv.unsupported);
    }

    #[test]
    fn root_certs_from_helper_script_and_input() {
        let t = test_row("protocols/ssl/validate-certs", "bare(-b)", "zeek -b -r x.pcap %INPUT");
        let inv = translate(&argv("-b -r x.pcap $SCRIPTS/external-ca-list.zeek %INPUT"), &t);
        assert!(inv.unsupported.is_empty(), "{:?}", inv.unsupported);
        let sets: Vec<&str> = inv
            .args
            .windows(2)
            .filter(|w| w[0] == "--set")
            .map(|w| w[1].as_str())
            .collect();
        assert!(sets.contains(&"SSL::root_certs+=root-certs-1.pem"), "{sets:?}");
        assert!(sets.contains(&"SSL::validate_certs=T"), "{sets:?}");
        assert_eq!(inv.files.len(), 1);
        let pem = String::from_utf8(inv.files[0].1.clone()).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 145);

        // The %INPUT's multi-line redef, read from testdata/zeek/inputs.
        let mut t = test_row(
            "protocols/ssl/validate-certs",
            "bare(-b) ; redefs: redef SSL::root_certs += {",
            "zeek -b -r x.pcap %INPUT",
        );
        t.name = "scripts.base.protocols.ssl.cve-2015-3194".into();
        let inv = translate(&argv("-b -r x.pcap %INPUT"), &t);
        assert!(inv.unsupported.is_empty(), "{:?}", inv.unsupported);
        assert_eq!(val(&inv.args, "--set"), Some("SSL::root_certs+=root-certs-1.pem"));
        let pem = String::from_utf8(inv.files[0].1.clone()).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 1);
        // CT logs from the validate-sct %INPUT, as Google's log list.
        let mut t = test_row(
            "protocols/ssl/validate-sct",
            "bare(-b) ; redefs: redef SSL::ct_logs += {",
            "zeek -b -r x.pcap %INPUT",
        );
        t.name = "scripts.policy.protocols.ssl.validate-sct".into();
        let inv = translate(&argv("-b -r x.pcap %INPUT"), &t);
        assert!(inv.unsupported.is_empty(), "{:?}", inv.unsupported);
        assert_eq!(val(&inv.args, "--set"), Some("SSL::ct_logs+=ct-logs-1.json"));
        let json = String::from_utf8(inv.files[0].1.clone()).unwrap();
        assert_eq!(json.matches("\"log_id\"").count(), 7);
        // Without the input file the redef stays unsupported.
        t.name = "some.other.test".into();
        assert!(!translate(&argv("-b -r x.pcap %INPUT"), &t).unsupported.is_empty());
    }

    #[test]
    fn community_id_flag() {
        let t = test_row(
            "(default base scripts) + protocols/conn/community-id-logging",
            "default-scripts(no -b)",
            "zeek -r x.pcap %INPUT",
        );
        let inv = translate(&argv("-r x.pcap %INPUT"), &t);
        assert!(inv.unsupported.is_empty(), "{:?}", inv.unsupported);
        assert!(inv.args.contains(&"--community-id".to_string()));
    }
}
