//! The function table: Go's built-ins, sprig v3 as ESO vendors it (minus `env`, `expandenv`,
//! `getHostByName`) and ESO's own extras. Each entry declares its Go parameter types so the
//! executor can reproduce Go's argument checking and error texts.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::value::Value;

pub(crate) mod aes;
pub(crate) mod builtin;
pub(crate) mod crypto;
pub(crate) mod dates;
pub(crate) mod der;
pub(crate) mod dicts;
pub(crate) mod encoding;
pub(crate) mod json;
pub(crate) mod keys;
pub(crate) mod lists;
pub(crate) mod math;
pub(crate) mod pem;
pub(crate) mod pkcs12;
mod pkcs12_pbe;
mod pkcs12_pfx;
pub(crate) mod strings;
pub(crate) mod x509;
pub(crate) mod yaml;

/// Go parameter types, as far as the data model can tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    /// `interface {}`
    Any,
    /// `reflect.Value` (Go's builtins that take any value untouched)
    Refl,
    Str,
    Int,
    Float,
    Bool,
    /// `map[string]interface {}`
    Map,
    /// `time.Time`
    Time,
}

impl Ty {
    pub fn go_name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Refl => "reflect.Value",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Float => "float64",
            Ty::Bool => "bool",
            Ty::Map => "map[string]interface {}",
            Ty::Time => "time.Time",
        }
    }

    pub fn can_be_nil(self) -> bool {
        matches!(self, Ty::Any | Ty::Refl | Ty::Map)
    }

    /// Whether a (non-nil) value is assignable to a parameter of this type.
    pub fn accepts(self, v: &Value) -> bool {
        match self {
            Ty::Any | Ty::Refl => true,
            Ty::Str => v.is_string(),
            // The model has one integer type; Go's int64 results are modelled as int.
            Ty::Int => matches!(v, Value::Int(_)),
            Ty::Float => matches!(v, Value::Float(_)),
            Ty::Bool => matches!(v, Value::Bool(_)),
            Ty::Map => matches!(v, Value::Map(_)),
            Ty::Time => matches!(v, Value::Time(_)),
        }
    }
}

pub(crate) type FnImpl = fn(Vec<Value>) -> Result<Value, String>;

pub(crate) struct FuncDef {
    pub name: &'static str,
    pub params: &'static [Ty],
    pub variadic: Option<Ty>,
    pub f: FnImpl,
}

impl std::fmt::Debug for FuncDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "func {}", self.name)
    }
}

pub(crate) type FuncRef = &'static FuncDef;

/// Declares a function table entry: `def!("name", [Str, Int], |a| ...)`,
/// `def!("name", [Str], ...Any, |a| ...)` for variadics.
macro_rules! def {
    ($name:expr, [$($t:ident),*], ...$v:ident, $f:expr) => {
        $crate::template::funcs::FuncDef {
            name: $name,
            params: &[$($crate::template::funcs::Ty::$t),*],
            variadic: Some($crate::template::funcs::Ty::$v),
            f: $f,
        }
    };
    ($name:expr, [$($t:ident),*], $f:expr) => {
        $crate::template::funcs::FuncDef {
            name: $name,
            params: &[$($crate::template::funcs::Ty::$t),*],
            variadic: None,
            f: $f,
        }
    };
}
pub(crate) use def;

fn all_tables() -> Vec<&'static [FuncDef]> {
    vec![
        builtin::FUNCS,
        strings::FUNCS,
        lists::FUNCS,
        dicts::FUNCS,
        math::FUNCS,
        encoding::FUNCS,
        json::FUNCS,
        yaml::FUNCS,
        dates::FUNCS,
        crypto::FUNCS,
        pem::FUNCS,
        aes::FUNCS,
        keys::FUNCS,
        x509::FUNCS,
        pkcs12::FUNCS,
    ]
}

fn table() -> &'static HashMap<&'static str, &'static FuncDef> {
    static TABLE: OnceLock<HashMap<&'static str, &'static FuncDef>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = HashMap::new();
        for t in all_tables() {
            for f in t {
                m.insert(f.name, f);
            }
        }
        m
    })
}

pub(crate) fn lookup(name: &str) -> Option<FuncRef> {
    table().get(name).copied()
}

/// Every function name a template may call, sorted.
pub fn function_names() -> Vec<&'static str> {
    let mut v: Vec<_> = table().keys().copied().collect();
    v.sort_unstable();
    v
}

// ---- helpers shared by the function modules ------------------------------------------------

/// A Go string argument (already type-checked by the executor).
pub(crate) fn s(v: &Value) -> String {
    v.as_str_lossy().map(|c| c.into_owned()).unwrap_or_default()
}

pub(crate) fn i(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        _ => 0,
    }
}

pub(crate) fn sv(s: impl Into<String>) -> Result<Value, String> {
    Ok(Value::String(s.into()))
}

/// spf13/cast `ToString` as sprig's `toString`/`strval` use it.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => {
            let mut out = Vec::new();
            super::fmt::write_v(&mut out, other);
            String::from_utf8_lossy(&out).into_owned()
        }
    }
}

/// The bytes of `fmt.Sprint(v)` / `fmt.Sprintf("%v", v)` (nil prints `<nil>`).
pub(crate) fn sprint_v(v: &Value) -> String {
    let mut out = Vec::new();
    super::fmt::write_v(&mut out, v);
    String::from_utf8_lossy(&out).into_owned()
}

/// spf13/cast `ToInt64` (errors become 0, as sprig ignores them).
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => *b as i64,
        Value::String(s) => parse_cast_int(s).unwrap_or(0),
        Value::Bytes(b) => parse_cast_int(&String::from_utf8_lossy(b)).unwrap_or(0),
        _ => 0,
    }
}

fn parse_cast_int(s: &str) -> Option<i64> {
    let t = s.trim_start_matches('+');
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(b) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        i64::from_str_radix(b, 2).ok()?
    } else if let Some(o) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
        i64::from_str_radix(o, 8).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// spf13/cast `ToFloat64`.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        Value::String(s) => s.parse::<f64>().unwrap_or(0.0),
        Value::Bytes(b) => String::from_utf8_lossy(b).parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Time(_) => false,
        other => !other.truth(),
    }
}
