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
