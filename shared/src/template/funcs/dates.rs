use super::FuncDef;
use chrono::{DateTime, FixedOffset};

pub(crate) static FUNCS: &[FuncDef] = &[];

pub(crate) fn go_time_string(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.f %z").to_string()
}
