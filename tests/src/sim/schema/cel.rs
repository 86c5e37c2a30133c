//! A small CEL evaluator for `x-kubernetes-validations`, covering what ESO's CRDs and our
//! recordings use: `self`/`oldSelf` field access, `has()`, `size()`/`.size()`, `!`, `&&`, `||`,
//! comparisons, `in`, `+ - * / %`, list/map literals, `? :`, the `all`/`exists`/`exists_one`/
//! `filter`/`map` macros and `startsWith`/`endsWith`/`contains`/`matches`.
//! Anything else is reported as an explicit "unsupported" error, never as a pass.

use serde_json::{Map, Value};

use super::errors::{BadValue, ErrorType, FieldError};

/// Checks one rule object (`rule`, `message`, `messageExpression`, `reason`, `fieldPath`)
/// against `self_v`. `None` when the rule holds (or is a transition rule without an old value).
pub fn check_rule(
    rule: &Value,
    self_v: &Value,
    old: Option<&Value>,
    _schema: &Value,
    path: &str,
) -> Option<FieldError> {
    let text = rule
        .get("rule")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    let ast = match parse(text) {
        Ok(a) => a,
        Err(e) => return Some(unsupported(path, text, &e)),
    };
    if old.is_none() && mentions_old_self(&ast) {
        return None;
    }
    let env = Env { self_v, old };
    match eval(&ast, &env, &mut Vec::new()) {
        Ok(Value::Bool(true)) => None,
        Ok(Value::Bool(false)) => Some(failure(rule, text, &env, path)),
        Ok(other) => Some(unsupported(
            path,
            text,
            &format!("rule evaluated to non-bool {other}"),
        )),
        Err(Fail::Unsupported(e)) => Some(unsupported(path, text, &e)),
        Err(Fail::Runtime(e)) => Some(FieldError::invalid(
            path,
            BadValue::Str(type_of(self_v).into()),
            &format!("{text}: evaluation error: {e}"),
        )),
    }
}

fn unsupported(path: &str, rule: &str, why: &str) -> FieldError {
    FieldError::new(
        ErrorType::Internal,
        path,
        BadValue::Omit,
        &format!("kubesim: unsupported CEL rule {rule:?}: {why}"),
    )
}

fn failure(rule: &Value, text: &str, env: &Env<'_>, path: &str) -> FieldError {
    let s = |k: &str| rule.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut message = s("message").to_owned();
    if !s("messageExpression").is_empty()
        && let Ok(ast) = parse(s("messageExpression"))
        && let Ok(Value::String(m)) = eval(&ast, env, &mut Vec::new())
        && !m.trim().is_empty()
    {
        message = m;
    }
    if message.is_empty() {
        message = format!("failed rule: {text}");
    }
    let kind = match s("reason") {
        "FieldValueForbidden" => ErrorType::Forbidden,
        "FieldValueRequired" => ErrorType::Required,
        "FieldValueDuplicate" => ErrorType::Duplicate,
        _ => ErrorType::Invalid,
    };
    let field_path = s("fieldPath").trim_start_matches('.');
    let full = match (path.is_empty(), field_path.is_empty()) {
        (_, true) => path.to_owned(),
        (true, false) => field_path.to_owned(),
        (false, false) => format!("{path}.{field_path}"),
    };
    FieldError::new(kind, &full, BadValue::Omit, &message)
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::Null => "null",
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Lit(Value),
    Ident(String),
    Select(Box<Expr>, String),
    Has(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    Macro(Box<Expr>, String, String, Box<Expr>),
    Unary(char, Box<Expr>),
    Binary(String, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
    MapLit(Vec<(Expr, Expr)>),
}

fn mentions_old_self(e: &Expr) -> bool {
    match e {
        Expr::Ident(n) => n == "oldSelf",
        Expr::Lit(_) => false,
        Expr::Select(a, _) | Expr::Has(a, _) | Expr::Unary(_, a) => mentions_old_self(a),
        Expr::Index(a, b) | Expr::Binary(_, a, b) | Expr::Macro(a, _, _, b) => {
            mentions_old_self(a) || mentions_old_self(b)
        }
        Expr::Call(t, _, args) => {
            t.as_deref().is_some_and(mentions_old_self) || args.iter().any(mentions_old_self)
        }
        Expr::Cond(a, b, c) => mentions_old_self(a) || mentions_old_self(b) || mentions_old_self(c),
        Expr::List(items) => items.iter().any(mentions_old_self),
        Expr::MapLit(kv) => kv
            .iter()
            .any(|(k, v)| mentions_old_self(k) || mentions_old_self(v)),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(Value),
    Str(String),
    Ident(String),
    Op(&'static str),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    const OPS: [&str; 24] = [
        "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", "{", "}", ",", ".",
        "?", ":", "+", "-", "*", "/", "%",
    ];
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                    s.push(match chars[i] {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                } else {
                    s.push(chars[i]);
                }
                i += 1;
            }
            if i >= chars.len() {
                return Err("unterminated string".into());
            }
            i += 1;
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            if i < chars.len() && chars[i] == 'u' {
                i += 1;
            }
            let v: Value = serde_json::from_str(&text).map_err(|_| format!("bad number {text}"))?;
            out.push(Tok::Num(v));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = OPS
                .iter()
                .find(|op| rest.starts_with(**op))
                .ok_or_else(|| format!("unexpected character {c:?}"))?;
            i += op.chars().count();
            out.push(Tok::Op(op));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn parse(src: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: lex(src)?,
        pos: 0,
    };
    let e = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected token {:?}", p.toks[p.pos]));
    }
    supported(&e)?;
    Ok(e)
}

/// Rejects unknown functions up front, so a rule is flagged even when evaluation would stop
/// earlier (e.g. on a missing field).
fn supported(e: &Expr) -> Result<(), String> {
    const FUNCTIONS: [&str; 5] = ["size", "startsWith", "endsWith", "contains", "matches"];
    match e {
        Expr::Call(t, name, args) => {
            if !FUNCTIONS.contains(&name.as_str()) {
                return Err(format!("function {name}"));
            }
            t.as_deref().map_or(Ok(()), supported)?;
            args.iter().try_for_each(supported)
        }
        Expr::Lit(_) | Expr::Ident(_) => Ok(()),
        Expr::Select(a, _) | Expr::Has(a, _) | Expr::Unary(_, a) => supported(a),
        Expr::Index(a, b) | Expr::Binary(_, a, b) | Expr::Macro(a, _, _, b) => {
            supported(a).and(supported(b))
        }
        Expr::Cond(a, b, c) => supported(a).and(supported(b)).and(supported(c)),
        Expr::List(items) => items.iter().try_for_each(supported),
        Expr::MapLit(kv) => kv
            .iter()
            .try_for_each(|(k, v)| supported(k).and(supported(v))),
    }
}

impl Parser {
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op)
    }
    fn eat(&mut self, op: &str) -> bool {
        let hit = self.peek_op(op);
        if hit {
            self.pos += 1;
        }
        hit
    }
    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(format!("expected {op}"))
        }
    }
    fn expr(&mut self) -> Result<Expr, String> {
        let c = self.binary(0)?;
        if self.eat("?") {
            let a = self.expr()?;
            self.expect(":")?;
            let b = self.expr()?;
            return Ok(Expr::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }
    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        const LEVELS: [&[&str]; 5] = [
            &["||"],
            &["&&"],
            &["==", "!=", "<", "<=", ">", ">=", "in"],
            &["+", "-"],
            &["*", "/", "%"],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        loop {
            let op = match self.toks.get(self.pos) {
                Some(Tok::Op(o)) if LEVELS[level].contains(o) => (*o).to_owned(),
                Some(Tok::Ident(i)) if i == "in" && LEVELS[level].contains(&"in") => {
                    "in".to_owned()
                }
                _ => return Ok(lhs),
            };
            self.pos += 1;
            let rhs = self.binary(level + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("!") {
            return Ok(Expr::Unary('!', Box::new(self.unary()?)));
        }
        if self.eat("-") {
            return Ok(Expr::Unary('-', Box::new(self.unary()?)));
        }
        self.member()
    }
    fn args(&mut self) -> Result<Vec<Expr>, String> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(")") {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }
    fn member(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            if self.eat(".") {
                let Some(Tok::Ident(name)) = self.toks.get(self.pos).cloned() else {
                    return Err("expected field name".into());
                };
                self.pos += 1;
                if self.eat("(") {
                    let args = self.args()?;
                    e = match (name.as_str(), args.as_slice()) {
                        (
                            "all" | "exists" | "exists_one" | "filter" | "map",
                            [Expr::Ident(var), body],
                        ) => Expr::Macro(
                            Box::new(e),
                            name.clone(),
                            var.clone(),
                            Box::new(body.clone()),
                        ),
                        _ => Expr::Call(Some(Box::new(e)), name, args),
                    };
                } else {
                    e = Expr::Select(Box::new(e), name);
                }
            } else if self.eat("[") {
                let idx = self.expr()?;
                self.expect("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else {
                return Ok(e);
            }
        }
    }
    fn primary(&mut self) -> Result<Expr, String> {
        let tok = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or("unexpected end of rule")?;
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(Expr::Lit(n)),
            Tok::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Tok::Ident(id) => match id.as_str() {
                "true" => Ok(Expr::Lit(Value::Bool(true))),
                "false" => Ok(Expr::Lit(Value::Bool(false))),
                "null" => Ok(Expr::Lit(Value::Null)),
                _ if self.eat("(") => {
                    let args = self.args()?;
                    if id == "has" {
                        return match args.as_slice() {
                            [Expr::Select(target, field)] => {
                                Ok(Expr::Has(target.clone(), field.clone()))
                            }
                            _ => Err("has() needs a field selection".into()),
                        };
                    }
                    Ok(Expr::Call(None, id, args))
                }
                _ => Ok(Expr::Ident(id)),
            },
            Tok::Op("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.eat("]") {
                    items.push(self.expr()?);
                    if !self.eat(",") {
                        self.expect("]")?;
                        break;
                    }
                }
                Ok(Expr::List(items))
            }
            Tok::Op("{") => {
                let mut kv = Vec::new();
                while !self.eat("}") {
                    let k = self.expr()?;
                    self.expect(":")?;
                    kv.push((k, self.expr()?));
                    if !self.eat(",") {
                        self.expect("}")?;
                        break;
                    }
                }
                Ok(Expr::MapLit(kv))
            }
            other => Err(format!("unexpected token {other:?}")),
        }
    }
}

struct Env<'a> {
    self_v: &'a Value,
    old: Option<&'a Value>,
}

enum Fail {
    Unsupported(String),
    Runtime(String),
}

fn rt<T>(m: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Runtime(m.into()))
}

fn eval(e: &Expr, env: &Env<'_>, vars: &mut Vec<(String, Value)>) -> Result<Value, Fail> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Ident(name) => {
            if let Some((_, v)) = vars.iter().rev().find(|(n, _)| n == name) {
                return Ok(v.clone());
            }
            match name.as_str() {
                "self" => Ok(env.self_v.clone()),
                "oldSelf" => env
                    .old
                    .cloned()
                    .ok_or_else(|| Fail::Runtime("no oldSelf".into())),
                other => Err(Fail::Unsupported(format!("unknown identifier {other}"))),
            }
        }
        Expr::Select(target, field) => match eval(target, env, vars)? {
            Value::Object(m) => m
                .get(field)
                .cloned()
                .map_or_else(|| rt(format!("no such key: {field}")), Ok),
            _ => rt(format!("no such key: {field}")),
        },
        Expr::Has(target, field) => match eval(target, env, vars)? {
            Value::Object(m) => Ok(Value::Bool(m.contains_key(field))),
            _ => rt("invalid type for field selection"),
        },
        Expr::Index(target, idx) => {
            let (t, i) = (eval(target, env, vars)?, eval(idx, env, vars)?);
            match (&t, &i) {
                (Value::Array(a), Value::Number(n)) => {
                    let k = n.as_u64().and_then(|k| usize::try_from(k).ok());
                    k.and_then(|k| a.get(k))
                        .cloned()
                        .map_or_else(|| rt(format!("index out of range: {n}")), Ok)
                }
                (Value::Object(m), Value::String(k)) => m
                    .get(k)
                    .cloned()
                    .map_or_else(|| rt(format!("no such key: {k}")), Ok),
                _ => rt("no such overload"),
            }
        }
        Expr::Unary('!', a) => match eval(a, env, vars)? {
            Value::Bool(b) => Ok(Value::Bool(!b)),
            _ => rt("no such overload"),
        },
        Expr::Unary(_, a) => match eval(a, env, vars)? {
            Value::Number(n) if n.is_i64() => Ok(Value::from(-n.as_i64().unwrap_or_default())),
            Value::Number(n) => Ok(Value::from(-n.as_f64().unwrap_or_default())),
            _ => rt("no such overload"),
        },
        Expr::Binary(op, a, b) if op == "||" || op == "&&" => {
            let want = op == "||";
            // CEL's commutative logic: an error on one side is absorbed by a decisive other side.
            let l = eval(a, env, vars);
            if let Ok(Value::Bool(x)) = l
                && x == want
            {
                return Ok(Value::Bool(want));
            }
            let r = eval(b, env, vars);
            match (l, r) {
                (_, Ok(Value::Bool(y))) if y == want => Ok(Value::Bool(want)),
                (Ok(Value::Bool(_)), Ok(Value::Bool(_))) => Ok(Value::Bool(!want)),
                (Err(e), _) | (_, Err(e)) => Err(e),
                _ => rt("no such overload"),
            }
        }
        Expr::Binary(op, a, b) => binary(op, &eval(a, env, vars)?, &eval(b, env, vars)?),
        Expr::Cond(c, a, b) => match eval(c, env, vars)? {
            Value::Bool(true) => eval(a, env, vars),
            Value::Bool(false) => eval(b, env, vars),
            _ => rt("no such overload"),
        },
        Expr::List(items) => Ok(Value::Array(
            items
                .iter()
                .map(|i| eval(i, env, vars))
                .collect::<Result<_, _>>()?,
        )),
        Expr::MapLit(kv) => {
            let mut m = Map::new();
            for (k, v) in kv {
                let Value::String(k) = eval(k, env, vars)? else {
                    return Err(Fail::Unsupported("non-string map key".into()));
                };
                m.insert(k, eval(v, env, vars)?);
            }
            Ok(Value::Object(m))
        }
        Expr::Macro(target, name, var, body) => {
            let items: Vec<Value> = match eval(target, env, vars)? {
                Value::Array(a) => a,
                Value::Object(m) => m.keys().cloned().map(Value::String).collect(),
                _ => return rt("no such overload"),
            };
            let mut results = Vec::with_capacity(items.len());
            for item in &items {
                vars.push((var.clone(), item.clone()));
                let r = eval(body, env, vars);
                vars.pop();
                results.push(r?);
            }
            let truthy = |v: &Value| *v == Value::Bool(true);
            Ok(match name.as_str() {
                "all" => Value::Bool(results.iter().all(truthy)),
                "exists" => Value::Bool(results.iter().any(truthy)),
                "exists_one" => Value::Bool(results.iter().filter(|r| truthy(r)).count() == 1),
                "filter" => Value::Array(
                    items
                        .into_iter()
                        .zip(&results)
                        .filter(|(_, r)| truthy(r))
                        .map(|(i, _)| i)
                        .collect(),
                ),
                _ => Value::Array(results),
            })
        }
        Expr::Call(target, name, args) => {
            let mut vals = Vec::new();
            if let Some(t) = target {
                vals.push(eval(t, env, vars)?);
            }
            for a in args {
                vals.push(eval(a, env, vars)?);
            }
            call(name, &vals)
        }
    }
}

fn call(name: &str, args: &[Value]) -> Result<Value, Fail> {
    match (name, args) {
        ("size", [v]) => match v {
            Value::String(s) => Ok(Value::from(s.chars().count())),
            Value::Array(a) => Ok(Value::from(a.len())),
            Value::Object(m) => Ok(Value::from(m.len())),
            _ => rt("no such overload: size"),
        },
        ("startsWith", [Value::String(s), Value::String(p)]) => {
            Ok(Value::Bool(s.starts_with(p.as_str())))
        }
        ("endsWith", [Value::String(s), Value::String(p)]) => {
            Ok(Value::Bool(s.ends_with(p.as_str())))
        }
        ("contains", [Value::String(s), Value::String(p)]) => {
            Ok(Value::Bool(s.contains(p.as_str())))
        }
        ("matches", [Value::String(s), Value::String(p)]) => regex::Regex::new(p)
            .map(|re| Value::Bool(re.is_match(s)))
            .map_err(|e| Fail::Runtime(e.to_string())),
        (other, _) => Err(Fail::Unsupported(format!(
            "function {other}/{}",
            args.len()
        ))),
    }
}

fn binary(op: &str, a: &Value, b: &Value) -> Result<Value, Fail> {
    use std::cmp::Ordering;
    let ord = || -> Result<Ordering, Fail> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .ok_or_else(|| Fail::Runtime("NaN".into())),
            (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
            (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
            _ => rt("no such overload"),
        }
    };
    let num = |f: fn(i64, i64) -> Option<i64>| -> Result<Value, Fail> {
        match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => f(x, y)
                .map(Value::from)
                .ok_or_else(|| Fail::Runtime("integer overflow or division by zero".into())),
            _ => Err(Fail::Unsupported(format!(
                "arithmetic {op} on non-integers"
            ))),
        }
    };
    Ok(match op {
        "==" => Value::Bool(a == b || (a.is_number() && b.is_number() && a.as_f64() == b.as_f64())),
        "!=" => {
            Value::Bool(!(a == b || (a.is_number() && b.is_number() && a.as_f64() == b.as_f64())))
        }
        "<" => Value::Bool(ord()? == Ordering::Less),
        "<=" => Value::Bool(ord()? != Ordering::Greater),
        ">" => Value::Bool(ord()? == Ordering::Greater),
        ">=" => Value::Bool(ord()? != Ordering::Less),
        "in" => match b {
            Value::Array(items) => Value::Bool(items.contains(a)),
            Value::Object(m) => Value::Bool(a.as_str().is_some_and(|k| m.contains_key(k))),
            _ => return rt("no such overload: in"),
        },
        "+" => match (a, b) {
            (Value::String(x), Value::String(y)) => Value::String(format!("{x}{y}")),
            (Value::Array(x), Value::Array(y)) => {
                Value::Array(x.iter().chain(y).cloned().collect())
            }
            _ => num(i64::checked_add)?,
        },
        "-" => num(i64::checked_sub)?,
        "*" => num(i64::checked_mul)?,
        "/" => num(i64::checked_div)?,
        "%" => num(i64::checked_rem)?,
        other => return Err(Fail::Unsupported(format!("operator {other}"))),
    })
}

/// Evaluates a standalone rule against `self_v` (for tests and tooling): `Ok(bool)` or the
/// reason it could not be evaluated.
pub fn evaluate(rule: &str, self_v: &Value, old: Option<&Value>) -> Result<bool, String> {
    let ast = parse(rule).map_err(|e| format!("unsupported: {e}"))?;
    match eval(&ast, &Env { self_v, old }, &mut Vec::new()) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("non-bool result {other}")),
        Err(Fail::Unsupported(e)) => Err(format!("unsupported: {e}")),
        Err(Fail::Runtime(e)) => Err(e),
    }
}
