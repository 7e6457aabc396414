//! Log records: the schema of a log stream and the values of one row.
//!
//! A row is a slice of `Option<Value>` in schema order; `None` is an unset field (Zeek's `-` in TSV, an
//! absent key in JSON). Values borrow from the caller, so building a row allocates nothing; the writers
//! format it straight into their output buffer.

use core::net::IpAddr;

/// A Zeek log type, as written in a TSV `#types` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Time,
    Interval,
    String,
    Addr,
    Subnet,
    Port,
    Count,
    Int,
    Double,
    Bool,
    Enum,
    /// `set[T]`: written in the order given (callers sort where Zeek's order is defined).
    Set(&'static FieldType),
    /// `vector[T]`.
    Vector(&'static FieldType),
}

impl FieldType {
    /// The type's name in a TSV `#types` header (`set[string]`, `time`, ...).
    pub fn zeek_name(&self) -> String {
        match self {
            FieldType::Time => "time".into(),
            FieldType::Interval => "interval".into(),
            FieldType::String => "string".into(),
            FieldType::Addr => "addr".into(),
            FieldType::Subnet => "subnet".into(),
            FieldType::Port => "port".into(),
            FieldType::Count => "count".into(),
            FieldType::Int => "int".into(),
            FieldType::Double => "double".into(),
            FieldType::Bool => "bool".into(),
            FieldType::Enum => "enum".into(),
            FieldType::Set(t) => format!("set[{}]", t.zeek_name()),
            FieldType::Vector(t) => format!("vector[{}]", t.zeek_name()),
        }
    }
}

/// One column of a log: its name exactly as Zeek spells it (`id.orig_h`) and its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
}

impl Field {
    pub const fn new(name: &'static str, ty: FieldType) -> Field {
        Field { name, ty }
    }
}

/// A log stream: its path (`conn`, `weird`; the file is `<path>.log`) and its columns in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    pub path: &'static str,
    pub fields: Vec<Field>,
}

impl Schema {
    pub fn new(path: &'static str, fields: &[Field]) -> Schema {
        Schema {
            path,
            fields: fields.to_vec(),
        }
    }

    /// A log whose rows start with the connection's columns ([`CONN_PREFIX`]), then `extra`.
    pub fn with_conn_prefix(path: &'static str, extra: &[Field]) -> Schema {
        Schema {
            path,
            fields: CONN_PREFIX.iter().chain(extra).copied().collect(),
        }
    }

    /// The position of a column, by its Zeek name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// One field's value. Strings are bytes: Zeek strings may hold anything, and the writers escape
/// what is not printable as Zeek does (`\xNN`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// Seconds since the epoch (network time).
    Time(f64),
    /// Seconds.
    Interval(f64),
    Str(&'a [u8]),
    Addr(IpAddr),
    Subnet(IpAddr, u8),
    Port(u16),
    Count(u64),
    Int(i64),
    Double(f64),
    Bool(bool),
    Enum(&'a str),
    /// The elements of a set or vector.
    List(&'a [Value<'a>]),
}

impl<'a> Value<'a> {
    pub fn str(s: &'a str) -> Value<'a> {
        Value::Str(s.as_bytes())
    }
}

/// The columns most connection logs start with: `ts`, `uid` and the connection's `id`.
pub const CONN_PREFIX: [Field; 6] = [
    Field::new("ts", FieldType::Time),
    Field::new("uid", FieldType::String),
    Field::new("id.orig_h", FieldType::Addr),
    Field::new("id.orig_p", FieldType::Port),
    Field::new("id.resp_h", FieldType::Addr),
    Field::new("id.resp_p", FieldType::Port),
];

/// A copy of a connection's uid and 4-tuple, so a row can be built while the context is borrowed
/// mutably to write it.
#[derive(Clone, Copy, Debug)]
pub struct ConnId {
    uid: [u8; 32],
    uid_len: usize,
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
}

impl ConnId {
    pub fn of(c: &crate::ConnInfo<'_>) -> ConnId {
        let mut uid = [0u8; 32];
        let uid_len = c.uid.len().min(32);
        uid[..uid_len].copy_from_slice(&c.uid.as_bytes()[..uid_len]);
        ConnId {
            uid,
            uid_len,
            orig_h: c.orig_h,
            orig_p: c.orig_p,
            resp_h: c.resp_h,
            resp_p: c.resp_p,
        }
    }

    pub fn uid(&self) -> &[u8] {
        &self.uid[..self.uid_len]
    }

    /// The values of [`CONN_PREFIX`] at time `ts`.
    pub fn prefix(&self, ts: f64) -> [Option<Value<'_>>; 6] {
        [
            Some(Value::Time(ts)),
            Some(Value::Str(self.uid())),
            Some(Value::Addr(self.orig_h)),
            Some(Value::Port(self.orig_p)),
            Some(Value::Addr(self.resp_h)),
            Some(Value::Port(self.resp_p)),
        ]
    }
}
