//! The engine's log rows: conn.log's schema and row, and the weird path from a raised weird through
//! [`WeirdPolicy`] to weird.log.

use crate::config::EngineConfig;
use crate::conn::{Conn, ConnCore, PendingWeird};
use weir_api::log::{Field, FieldType, Schema, Value, CONN_PREFIX};
use weir_decode::{DecodeWeird, WeirdScope as DScope};
use weir_logs::{LogHandle, StreamId, WeirdEvent, WeirdName, WeirdPolicy, WeirdScope};

static STRING: FieldType = FieldType::String;

/// conn.log's columns with base scripts (base/protocols/conn/main.zeek), in Zeek's order.
pub fn conn_schema(community_id: bool) -> Schema {
    let mut fields = CONN_PREFIX.to_vec();
    fields.extend([
        Field::new("proto", FieldType::Enum),
        Field::new("service", FieldType::String),
        Field::new("duration", FieldType::Interval),
        Field::new("orig_bytes", FieldType::Count),
        Field::new("resp_bytes", FieldType::Count),
        Field::new("conn_state", FieldType::String),
        Field::new("local_orig", FieldType::Bool),
        Field::new("local_resp", FieldType::Bool),
        Field::new("missed_bytes", FieldType::Count),
        Field::new("history", FieldType::String),
        Field::new("orig_pkts", FieldType::Count),
        Field::new("orig_ip_bytes", FieldType::Count),
        Field::new("resp_pkts", FieldType::Count),
        Field::new("resp_ip_bytes", FieldType::Count),
        Field::new("tunnel_parents", FieldType::Set(&STRING)),
        Field::new("ip_proto", FieldType::Count),
    ]);
    if community_id {
        // policy/protocols/conn/community-id-logging.zeek
        fields.push(Field::new("community_id", FieldType::String));
    }
    Schema { path: "conn", fields }
}

/// Where a worker's rows go: its log handle, the stream ids, and its weird policy.
pub struct WeirdOut {
    pub handle: LogHandle,
    pub conn: Option<StreamId>,
    pub weird: Option<StreamId>,
    pub policy: WeirdPolicy,
    /// Analyzers' log streams, by path.
    pub named: Vec<(&'static str, StreamId)>,
}

impl WeirdOut {
    pub fn flush(&mut self) {
        self.handle.flush();
    }

    /// A row of an analyzer's log stream (ignored when the stream is disabled or unknown).
    pub fn write_named(&mut self, path: &str, row: &[Option<Value<'_>>]) {
        if let Some(&(_, id)) = self.named.iter().find(|(p, _)| *p == path) {
            self.handle.write(id, row);
        }
    }

    /// The stream of an analyzer's log, by path (None when disabled or unknown).
    pub fn named_stream(&self, path: &str) -> Option<StreamId> {
        self.named.iter().find(|(p, _)| *p == path).map(|&(_, id)| id)
    }

    /// A weird event through the policy to weird.log.
    pub fn emit_event(&mut self, ev: &WeirdEvent<'_>) {
        self.emit(ev)
    }

    fn emit(&mut self, ev: &WeirdEvent<'_>) {
        let Some(stream) = self.weird else { return };
        if let Some(row) = self.policy.decide(ev) {
            let v = row.values();
            self.handle.write(stream, &v);
        }
    }

    /// A weird from the decoder (net or flow scope).
    pub fn decode_weird(&mut self, now: f64, w: &DecodeWeird) {
        if self.weird.is_none() {
            return;
        }
        let scope = match w.scope {
            DScope::Net => WeirdScope::Net,
            DScope::Flow(src, dst) => WeirdScope::Flow { src, dst },
        };
        let text;
        let addl = match w.detail {
            weir_decode::Addl::None => None,
            weir_decode::Addl::Text(t) => Some(t),
            other => {
                text = other.to_string();
                Some(text.as_str())
            }
        };
        // Zeek names weirds about packets inside tunnels `<name>_in_tunnel`.
        let name_buf;
        let name = if w.in_tunnel {
            name_buf = w.log_name();
            WeirdName::Other(&name_buf)
        } else {
            WeirdName::Known(w.weird)
        };
        self.emit(&WeirdEvent {
            ts: now,
            name,
            scope,
            addl,
            source: w.source,
        });
    }

    /// A weird about a connection.
    pub fn conn_weird(&mut self, now: f64, c: &ConnCore, w: &PendingWeird) {
        if self.weird.is_none() {
            return;
        }
        let mut ubuf = [0u8; 24];
        let uid = c.uid.render(b'C', &mut ubuf);
        let scope = WeirdScope::Conn {
            uid,
            orig_h: c.orig_h,
            orig_p: c.orig_p,
            resp_h: c.resp_h,
            resp_p: c.resp_p,
        };
        self.emit(&WeirdEvent {
            ts: now,
            name: WeirdName::Known(w.weird),
            scope,
            addl: w.addl.as_deref(),
            source: w.source.name(),
        });
    }
}

/// Writes a connection's conn.log row (Zeek's `set_conn` at `connection_state_remove`).
pub fn conn_row(out: &mut WeirdOut, cfg: &EngineConfig, conn: &Conn, community_id: Option<&str>) {
    let mut ubuf = [0u8; 24];
    let uid = conn.core.uid.render(b'C', &mut ubuf);
    out.policy.conn_removed(uid);
    let Some(stream) = out.conn else { return };
    let c = &conn.core;
    let s = conn.summary();
    // Zeek joins the ordered service set with commas.
    let mut services: Vec<&str> = c_services(conn);
    services.dedup();
    let service = (!services.is_empty()).then(|| services.join(","));
    let parents: Vec<String> = conn
        .core
        .tunnel_parents
        .iter()
        .map(|u| {
            let mut b = [0u8; 24];
            u.render(b'C', &mut b).to_string()
        })
        .collect();
    let parent_vals: Vec<Value<'_>> = parents.iter().map(|p| Value::str(p)).collect();
    let has_duration = s.duration > 0.0;
    let history = c.history();
    let local = !cfg.local_nets.is_empty();
    let row: [Option<Value<'_>>; 23] = [
        Some(Value::Time(c.start_time)),
        Some(Value::str(uid)),
        Some(Value::Addr(c.orig_h)),
        Some(Value::Port(c.orig_p)),
        Some(Value::Addr(c.resp_h)),
        Some(Value::Port(c.resp_p)),
        Some(Value::Enum(s.proto_name)),
        service.as_deref().map(Value::str),
        has_duration.then_some(Value::Interval(s.duration)),
        has_duration.then_some(Value::Count(s.orig_bytes)),
        has_duration.then_some(Value::Count(s.resp_bytes)),
        Some(Value::str(s.conn_state)),
        local.then(|| Value::Bool(cfg.local_nets.contains(c.orig_h))),
        local.then(|| Value::Bool(cfg.local_nets.contains(c.resp_h))),
        Some(Value::Count(c.missed_bytes)),
        (!history.is_empty()).then_some(Value::Str(history)),
        Some(Value::Count(c.orig_pkts)),
        Some(Value::Count(c.orig_ip_bytes)),
        Some(Value::Count(c.resp_pkts)),
        Some(Value::Count(c.resp_ip_bytes)),
        (!parent_vals.is_empty()).then_some(Value::List(&parent_vals)),
        Some(Value::Count(c.proto as u64)),
        community_id.map(Value::str),
    ];
    let n = if community_id.is_some() || cfg.community_id_seed.is_some() {
        23
    } else {
        22
    };
    out.handle.write(stream, &row[..n]);
}

/// conn.log `service`: the tunnel analyzers' and the application analyzers' confirmations.
fn c_services(conn: &Conn) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = conn.core.services.clone();
    if let Some(a) = conn.analysis.as_ref() {
        for s in &a.service {
            if !v.contains(s) {
                v.push(s);
            }
        }
    }
    v
}
