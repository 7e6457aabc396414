//! The ports Zeek's scripts register for its analyzers (Zeek's `register_for_ports` calls), which
//! become Zeek's `likely_server_ports` and so decide originator/responder flips.
//! Extracted from Zeek 9.1's scripts (zeek/zeek a13de64f); each entry names its script.
//!
//! How Zeek fills `likely_server_ports` (declared empty, `&redef`, in `base/init-bare.zeek`):
//!
//! * `Analyzer::register_for_ports(tag, server_ports, non_server_ports)`
//!   (`base/frameworks/analyzer/main.zeek`) does `likely_server_ports += server_ports`
//!   unconditionally (even if registering a port with the analyzer failed); the
//!   `non_server_ports` are attached to the analyzer but are *not* likely server ports.
//! * `PacketAnalyzer::register_for_ports(parent, child, server_ports, non_server_ports)`
//!   (`base/packet-protocols/main.zeek`) does the same. The tunnel packet protocols below are
//!   loaded by `base/init-bare.zeek` (`@load base/packet-protocols`), so they apply even with `-b`.
//! * All registrations happen in `zeek_init` handlers; the C++ side
//!   (`IPBasedAnalyzer::IsLikelyServerPort`) caches the table on first use, after `zeek_init`.
//!
//! Completeness (checked by grepping the whole `scripts/` tree at this commit):
//! * No `register_for_ports` call outside `base/packet-protocols/*/main.zeek` and
//!   `base/protocols/*/main.zeek`: none in `base/files`, none in `base/frameworks` (other than the
//!   definitions), none in `policy/` or `site/`. No script does `redef likely_server_ports` or
//!   redefines any of the port constants used below (QUIC only suggests it in a doc comment).
//! * `base/frameworks/spicy/init-framework.zeek` forwards Spicy `.evt` `port` clauses to
//!   `Analyzer::register_for_port` (singular: never touches likely_server_ports), and none of the
//!   bundled `.evt` files in `src/` has a `port` clause anyway.
//! * Protocol directories with no port registration (signature/DPD only or no analyzer of their
//!   own): conn, ntlm, pop3, rfb, tunnels, websocket.
//!
//! Naming: `name` is the directory name. Several directories register more than one analyzer,
//! so the name alone is ambiguous there (each entry's comment gives the Zeek analyzer tag):
//! krb (KRB, KRB_TCP), ldap (LDAP_TCP, LDAP_UDP), rdp (RDP, RDPEUDP), ssl (SSL, DTLS),
//! syslog (SYSLOG, SYSLOG_TCP), quic (QUIC twice: server and non-server sets).
//! The directory `dce-rpc` has a hyphen while its analyzer tag is `DCE_RPC`.
//!
//! Port-set order: Zeek sets are unordered; `server_ports` keeps the order the script's literal
//! lists them, as asked. Ports shared by several registrations: 1080/tcp (http, socks),
//! 443/udp (ssl/DTLS, quic).

/// Transport of a registered port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortProto {
    Tcp,
    Udp,
}

pub struct Registration {
    /// The `--analyzers` name: the lower-case protocol directory name under base/protocols (http, dns, ssl, ...),
    /// or the packet-protocol name (vxlan, geneve, ...).
    pub name: &'static str,
    /// The script that registers it, e.g. "base/protocols/http/main.zeek".
    pub script: &'static str,
    /// true for base/packet-protocols registrations, which Zeek loads even in bare mode.
    pub always_loaded: bool,
    /// Only the server ports (what goes into likely_server_ports), in the order the script lists them.
    pub server_ports: &'static [(PortProto, u16)],
}

use PortProto::{Tcp, Udp};

pub static REGISTRATIONS: &[Registration] = &[
    // ---- base/packet-protocols (loaded by init-bare; in base/packet-protocols/__load__.zeek order).
    // All are `PacketAnalyzer::register_for_ports(PacketAnalyzer::ANALYZER_UDP, <child>, <set>)`
    // with no non-server ports.
    Registration {
        // ANALYZER_GRE, `gre_ports`
        name: "gre",
        script: "base/packet-protocols/gre/main.zeek",
        always_loaded: true,
        server_ports: &[(Udp, 4754)],
    },
    Registration {
        // ANALYZER_AYIYA, `ayiya_ports`
        name: "ayiya",
        script: "base/packet-protocols/ayiya/main.zeek",
        always_loaded: true,
        server_ports: &[(Udp, 5072)],
    },
    Registration {
        // ANALYZER_GENEVE, `geneve_ports`
        name: "geneve",
        script: "base/packet-protocols/geneve/main.zeek",
        always_loaded: true,
        server_ports: &[(Udp, 6081)],
    },
    Registration {
        // ANALYZER_VXLAN, `vxlan_ports`
        name: "vxlan",
        script: "base/packet-protocols/vxlan/main.zeek",
        always_loaded: true,
        server_ports: &[(Udp, 4789)],
    },
    Registration {
        // ANALYZER_TEREDO, `teredo_ports`
        name: "teredo",
        script: "base/packet-protocols/teredo/main.zeek",
        always_loaded: true,
        server_ports: &[(Udp, 3544)],
    },
    Registration {
        // ANALYZER_GTPV1, `gtpv1_ports`
        name: "gtpv1",
        script: "base/packet-protocols/gtpv1/main.zeek",
        always_loaded: true,
        server_ports: &[(Udp, 2152), (Udp, 2123)],
    },
    // ---- base/protocols (loaded by init-default, i.e. not in bare mode unless @loaded).
    // Each set is a `const ... &redef` in the `export` block of the same main.zeek.
    Registration {
        // ANALYZER_DCE_RPC, DCE_RPC::ports. Directory name has a hyphen.
        name: "dce-rpc",
        script: "base/protocols/dce-rpc/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 135)],
    },
    Registration {
        // ANALYZER_DHCP, DHCP::server_ports; the call also passes DHCP::client_ports
        // = { 68/udp } as non_server_ports, which is NOT a likely server port.
        name: "dhcp",
        script: "base/protocols/dhcp/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 67), (Udp, 4011)],
    },
    Registration {
        // ANALYZER_DNP3_TCP, DNP3::ports. Note the set holds 20000/udp too, although the tag is
        // the TCP analyzer; it still goes into likely_server_ports (the += is unconditional).
        name: "dnp3",
        script: "base/protocols/dnp3/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 20000), (Udp, 20000)],
    },
    Registration {
        // ANALYZER_DNS, DNS::ports
        name: "dns",
        script: "base/protocols/dns/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 53), (Tcp, 53), (Udp, 137), (Udp, 5353), (Udp, 5355)],
    },
    Registration {
        // ANALYZER_FINGER, Finger::ports
        name: "finger",
        script: "base/protocols/finger/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 79)],
    },
    Registration {
        // ANALYZER_FTP, FTP::ports
        name: "ftp",
        script: "base/protocols/ftp/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 21), (Tcp, 2811)],
    },
    Registration {
        // ANALYZER_HTTP, HTTP::ports
        name: "http",
        script: "base/protocols/http/main.zeek",
        always_loaded: false,
        server_ports: &[
            (Tcp, 80),
            (Tcp, 81),
            (Tcp, 631),
            (Tcp, 1080),
            (Tcp, 3128),
            (Tcp, 8000),
            (Tcp, 8080),
            (Tcp, 8888),
        ],
    },
    Registration {
        // ANALYZER_IMAP, IMAP::ports
        name: "imap",
        script: "base/protocols/imap/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 143)],
    },
    Registration {
        // ANALYZER_IRC, IRC::ports
        name: "irc",
        script: "base/protocols/irc/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 6666), (Tcp, 6667), (Tcp, 6668), (Tcp, 6669)],
    },
    Registration {
        // ANALYZER_KRB, KRB::udp_ports (first of two calls in this script).
        name: "krb",
        script: "base/protocols/krb/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 88)],
    },
    Registration {
        // ANALYZER_KRB_TCP, KRB::tcp_ports
        name: "krb",
        script: "base/protocols/krb/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 88)],
    },
    Registration {
        // ANALYZER_LDAP_TCP, LDAP::ports_tcp
        name: "ldap",
        script: "base/protocols/ldap/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 389), (Tcp, 3268)],
    },
    Registration {
        // ANALYZER_LDAP_UDP, LDAP::ports_udp
        name: "ldap",
        script: "base/protocols/ldap/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 389)],
    },
    Registration {
        // ANALYZER_MODBUS, Modbus::ports
        name: "modbus",
        script: "base/protocols/modbus/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 502)],
    },
    Registration {
        // ANALYZER_MQTT, MQTT::ports
        name: "mqtt",
        script: "base/protocols/mqtt/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 1883)],
    },
    Registration {
        // ANALYZER_MYSQL, MySQL::ports
        name: "mysql",
        script: "base/protocols/mysql/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 1434), (Tcp, 3306)],
    },
    Registration {
        // ANALYZER_NTP, NTP::ports
        name: "ntp",
        script: "base/protocols/ntp/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 123)],
    },
    Registration {
        // ANALYZER_POSTGRESQL, PostgreSQL::ports
        name: "postgresql",
        script: "base/protocols/postgresql/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 5432)],
    },
    Registration {
        // ANALYZER_QUIC, QUIC::quic_ports (first call).
        name: "quic",
        script: "base/protocols/quic/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 443)],
    },
    Registration {
        // ANALYZER_QUIC, second call: `register_for_ports(ANALYZER_QUIC, set(), doq_ports)`.
        // No server ports: QUIC::doq_ports = { 853/udp, 784/udp } are deliberately passed as
        // non_server_ports, so they are NOT likely server ports (the script says so explicitly).
        // Kept as an entry only so every call is listed; it contributes nothing.
        name: "quic",
        script: "base/protocols/quic/main.zeek",
        always_loaded: false,
        server_ports: &[],
    },
    Registration {
        // ANALYZER_RADIUS, RADIUS::ports
        name: "radius",
        script: "base/protocols/radius/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 1812)],
    },
    Registration {
        // ANALYZER_RDP, RDP::rdp_ports
        name: "rdp",
        script: "base/protocols/rdp/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 3389)],
    },
    Registration {
        // ANALYZER_RDPEUDP, RDP::rdpeudp_ports
        name: "rdp",
        script: "base/protocols/rdp/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 3389)],
    },
    Registration {
        // ANALYZER_REDIS, Redis::ports
        name: "redis",
        script: "base/protocols/redis/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 6379)],
    },
    Registration {
        // ANALYZER_SIP, SIP::ports
        name: "sip",
        script: "base/protocols/sip/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 5060)],
    },
    Registration {
        // ANALYZER_SMB, SMB::ports
        name: "smb",
        script: "base/protocols/smb/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 139), (Tcp, 445)],
    },
    Registration {
        // ANALYZER_SMTP, SMTP::ports
        name: "smtp",
        script: "base/protocols/smtp/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 25), (Tcp, 587)],
    },
    Registration {
        // ANALYZER_SNMP, SNMP::ports
        name: "snmp",
        script: "base/protocols/snmp/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 161), (Udp, 162)],
    },
    Registration {
        // ANALYZER_SOCKS, SOCKS::ports
        name: "socks",
        script: "base/protocols/socks/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 1080)],
    },
    Registration {
        // ANALYZER_SSH, SSH::ports
        name: "ssh",
        script: "base/protocols/ssh/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 22)],
    },
    Registration {
        // ANALYZER_SSL, SSL::ssl_ports
        name: "ssl",
        script: "base/protocols/ssl/main.zeek",
        always_loaded: false,
        server_ports: &[
            (Tcp, 443),
            (Tcp, 465),
            (Tcp, 563),
            (Tcp, 585),
            (Tcp, 614),
            (Tcp, 636),
            (Tcp, 989),
            (Tcp, 990),
            (Tcp, 992),
            (Tcp, 993),
            (Tcp, 995),
            (Tcp, 5223),
        ],
    },
    Registration {
        // ANALYZER_DTLS, SSL::dtls_ports (same directory, so also named "ssl").
        name: "ssl",
        script: "base/protocols/ssl/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 443)],
    },
    Registration {
        // ANALYZER_SYSLOG, Syslog::ports
        name: "syslog",
        script: "base/protocols/syslog/main.zeek",
        always_loaded: false,
        server_ports: &[(Udp, 514)],
    },
    Registration {
        // ANALYZER_SYSLOG_TCP, Syslog::tcp_ports
        name: "syslog",
        script: "base/protocols/syslog/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 514)],
    },
    Registration {
        // ANALYZER_XMPP, XMPP::ports
        name: "xmpp",
        script: "base/protocols/xmpp/main.zeek",
        always_loaded: false,
        server_ports: &[(Tcp, 5222), (Tcp, 5269)],
    },
    // ---- policy/: no script registers ports at this commit.
];

#[cfg(test)]
mod tests {
    use super::*;

    fn ports_of(name: &str) -> Vec<(PortProto, u16)> {
        REGISTRATIONS
            .iter()
            .filter(|r| r.name == name)
            .flat_map(|r| r.server_ports.iter().copied())
            .collect()
    }

    #[test]
    fn http_has_80() {
        assert!(ports_of("http").contains(&(Tcp, 80)));
        assert!(ports_of("http").contains(&(Tcp, 8080)));
    }

    #[test]
    fn dns_has_53_both() {
        let p = ports_of("dns");
        assert!(p.contains(&(Udp, 53)));
        assert!(p.contains(&(Tcp, 53)));
        assert!(p.contains(&(Udp, 5353)));
    }

    #[test]
    fn vxlan_always_loaded() {
        let r = REGISTRATIONS.iter().find(|r| r.name == "vxlan").unwrap();
        assert!(r.always_loaded);
        assert_eq!(r.server_ports, &[(Udp, 4789)]);
        assert!(r.script.starts_with("base/packet-protocols/"));
    }

    #[test]
    fn always_loaded_iff_packet_protocol() {
        for r in REGISTRATIONS {
            assert_eq!(
                r.always_loaded,
                r.script.starts_with("base/packet-protocols/"),
                "{}",
                r.name
            );
            assert!(r.script.ends_with("/main.zeek"));
            assert!(r.script.contains(&format!("/{}/", r.name)), "{}", r.name);
        }
    }

    #[test]
    fn non_server_ports_excluded() {
        // DHCP client port and DNS-over-QUIC ports are registered as non-server ports.
        assert!(!ports_of("dhcp").contains(&(Udp, 68)));
        assert!(ports_of("dhcp").contains(&(Udp, 67)));
        let q = ports_of("quic");
        assert_eq!(q, vec![(Udp, 443)]);
    }

    #[test]
    fn ssl_dir_holds_ssl_and_dtls() {
        let p = ports_of("ssl");
        assert!(p.contains(&(Tcp, 443)));
        assert!(p.contains(&(Udp, 443)));
        assert_eq!(REGISTRATIONS.iter().filter(|r| r.name == "ssl").count(), 2);
    }

    #[test]
    fn no_duplicate_ports_within_an_entry() {
        for r in REGISTRATIONS {
            let mut v = r.server_ports.to_vec();
            v.sort_by_key(|&(p, n)| (p as u8, n));
            v.dedup();
            assert_eq!(v.len(), r.server_ports.len(), "{}", r.name);
        }
    }

    #[test]
    fn entry_count() {
        // 35 `Analyzer::register_for_ports` calls in base/protocols + 6 packet-protocol calls.
        assert_eq!(REGISTRATIONS.len(), 41);
        assert_eq!(REGISTRATIONS.iter().filter(|r| r.always_loaded).count(), 6);
    }
}
