//! Sprig integer and float arithmetic (spf13/cast conversions; float ops via exact decimals).

use rand::Rng;

use super::{FuncDef, def, i, s, to_float64, to_int64};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("add1", [Any], |a| Ok(Value::Int(
        to_int64(&a[0]).wrapping_add(1)
    ))),
    def!("add", [], ...Any, |a| Ok(Value::Int(a.iter().map(to_int64).fold(0i64, i64::wrapping_add)))),
    def!("sub", [Any, Any], |a| Ok(Value::Int(
        to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))
    ))),
    def!("mul", [Any], ...Any, |a| Ok(Value::Int(a.iter().map(to_int64).fold(1i64, i64::wrapping_mul)))),
    def!("div", [Any, Any], |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_int64(&a[0]).wrapping_div(d)))
    }),
    def!("mod", [Any, Any], |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_int64(&a[0]).wrapping_rem(d)))
    }),
    def!("max", [Any], ...Any, |a| Ok(Value::Int(a.iter().map(to_int64).max().unwrap_or(0)))),
    def!("biggest", [Any], ...Any, |a| Ok(Value::Int(a.iter().map(to_int64).max().unwrap_or(0)))),
    def!("min", [Any], ...Any, |a| Ok(Value::Int(a.iter().map(to_int64).min().unwrap_or(0)))),
    def!("maxf", [Any], ...Any, |a| Ok(Value::Float(a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max)))),
    def!("minf", [Any], ...Any, |a| Ok(Value::Float(a.iter().map(to_float64).fold(f64::INFINITY, f64::min)))),
    def!("add1f", [Any], |a| Ok(Value::Float(dec_op(
        to_float64(&a[0]),
        1.0,
        '+'
    )))),
    def!("addf", [], ...Any, |a| Ok(Value::Float(fold_dec(&a, 0.0, '+')))),
    def!("subf", [Any], ...Any, |a| Ok(Value::Float(fold_dec(&a[1..], to_float64(&a[0]), '-')))),
    def!("mulf", [Any], ...Any, |a| Ok(Value::Float(fold_dec(&a[1..], to_float64(&a[0]), '*')))),
    def!("divf", [Any], ...Any, |a| {
        let mut acc = to_float64(&a[0]);
        for d in &a[1..] {
            let d = to_float64(d);
            if d == 0.0 {
                return Err("decimal division by 0".into());
            }
            acc /= d;
        }
        Ok(Value::Float(acc))
    }),
    def!("ceil", [Any], |a| Ok(Value::Float(
        to_float64(&a[0]).ceil()
    ))),
    def!("floor", [Any], |a| Ok(Value::Float(
        to_float64(&a[0]).floor()
    ))),
    def!("round", [Any, Int], ...Float, |a| {
        let round_on = a.get(2).map(to_float64).unwrap_or(0.5);
        let val = to_float64(&a[0]);
        let pow = 10f64.powi(i(&a[1]) as i32);
        let digit = pow * val;
        let (int, frac) = (digit.trunc(), digit.fract());
        let r = if frac.abs() >= round_on { if digit >= 0.0 { int + 1.0 } else { int - 1.0 } } else { int };
        Ok(Value::Float(r / pow))
    }),
    def!("atoi", [Str], |a| Ok(Value::Int(
        s(&a[0]).parse::<i64>().unwrap_or(0)
    ))),
    def!("int", [Any], |a| Ok(Value::Int(to_int64(&a[0])))),
    def!("int64", [Any], |a| Ok(Value::Int(to_int64(&a[0])))),
    def!("float64", [Any], |a| Ok(Value::Float(to_float64(&a[0])))),
    def!("toDecimal", [Any], |a| {
        let st = super::strval(&a[0]);
        Ok(Value::Int(i64::from_str_radix(&st, 8).unwrap_or(0)))
    }),
    def!("randInt", [Int, Int], |a| {
        let (lo, hi) = (i(&a[0]), i(&a[1]));
        if hi <= lo {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(rand::rng().random_range(lo..hi)))
    }),
];

/// A float as shopspring/decimal's `NewFromFloat` sees it: its shortest decimal representation,
/// as (mantissa, base-10 exponent).
fn to_dec(f: f64) -> Option<(i128, i32)> {
    let s = format!("{f:e}");
    let (m, e) = s.split_once('e')?;
    let e: i32 = e.parse().ok()?;
    let neg = m.starts_with('-');
    let m = m.trim_start_matches('-');
    let (ip, fp) = m.split_once('.').unwrap_or((m, ""));
    let digits = format!("{ip}{fp}");
    let mant: i128 = digits.parse().ok()?;
    Some((if neg { -mant } else { mant }, e - fp.len() as i32))
}

fn dec_op(a: f64, b: f64, op: char) -> f64 {
    let (Some((ma, ea)), Some((mb, eb))) = (to_dec(a), to_dec(b)) else {
        return match op {
            '+' => a + b,
            '-' => a - b,
            _ => a * b,
        };
    };
    let (m, e) = if op == '*' {
        (ma.checked_mul(mb), ea + eb)
    } else {
        let e = ea.min(eb);
        let sa = ma.checked_mul(10i128.pow((ea - e).min(30) as u32));
        let sb = mb.checked_mul(10i128.pow((eb - e).min(30) as u32));
        let r = match (sa, sb) {
            (Some(x), Some(y)) if op == '+' => x.checked_add(y),
            (Some(x), Some(y)) => x.checked_sub(y),
            _ => None,
        };
        (r, e)
    };
    match m {
        Some(m) => format!("{m}e{e}").parse().unwrap_or(f64::NAN),
        None => match op {
            '+' => a + b,
            '-' => a - b,
            _ => a * b,
        },
    }
}

fn fold_dec(rest: &[Value], init: f64, op: char) -> f64 {
    rest.iter()
        .fold(init, |acc, v| dec_op(acc, to_float64(v), op))
}
