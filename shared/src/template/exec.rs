//! Tree-walking executor with Go's evaluation order, argument checking, `missingkey=error`
//! semantics and error texts (`template: NAME:LINE:COL: executing "NAME" at <NODE>: ...`).

use super::Template;
use super::TemplateError;
use super::ast::{Arg, Branch, Command, Node, NodeDisplay, Pipe};
use super::fmt::{quote, sprintf, write_v};
use super::funcs::{FuncRef, Ty};
use super::value::Value;

/// Go's limit is 100000; ours is lower so deep recursion ends in an error, not a stack overflow.
pub(crate) const MAX_EXEC_DEPTH: usize = 1000;

pub(crate) enum Flow {
    Err(TemplateError),
    Break,
    Continue,
}

type R<T> = Result<T, Flow>;

#[derive(Clone, Copy)]
enum Cur<'a> {
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Arg(&'a Arg),
}

pub(crate) struct State<'a> {
    tmpl: &'a Template,
    name: &'a str,
    pub out: Vec<u8>,
    vars: Vec<(String, Value)>,
    depth: usize,
    node: Option<Cur<'a>>,
    /// Whether dot is an interface-typed value (a range element) rather than a concrete one;
    /// Go's error texts then name the type `interface {}`.
    dot_iface: bool,
}

impl<'a> State<'a> {
    pub fn new(tmpl: &'a Template, name: &'a str, dot: Value) -> Self {
        State {
            tmpl,
            name,
            out: Vec::with_capacity(256),
            vars: vec![("$".into(), dot)],
            depth: 0,
            node: None,
            dot_iface: false,
        }
    }

    fn at(&mut self, c: Cur<'a>) {
        self.node = Some(c);
    }

    fn errorf(&self, msg: impl std::fmt::Display) -> Flow {
        let Some(cur) = self.node else {
            return Flow::Err(TemplateError::new(format!(
                "template: {}: {msg}",
                self.name
            )));
        };
        let (pos, context) = match cur {
            Cur::Node(n) => (node_pos(n), NodeDisplay(n, &self.tmpl.delims).to_string()),
            Cur::Pipe(p) => (p.pos, p.to_string()),
            Cur::Cmd(c) => (c.pos, c.to_string()),
            Cur::Arg(a) => (a.pos(), a.to_string()),
        };
        let text = &self.tmpl.text[..pos.min(self.tmpl.text.len())];
        let col = match text.rfind('\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        let line = 1 + text.matches('\n').count();
        Flow::Err(TemplateError::new(format!(
            "template: {}:{}:{}: executing {} at <{}>: {}",
            self.tmpl.name,
            line,
            col,
            quote(self.name),
            context,
            msg
        )))
    }

    pub fn walk_list(&mut self, dot: &Value, list: &'a [Node]) -> R<()> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &'a Node) -> R<()> {
        self.at(Cur::Node(node));
        match node {
            Node::Text { text } => {
                self.out.extend_from_slice(text.as_bytes());
                Ok(())
            }
            Node::Action { pipe, .. } => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at(Cur::Node(node));
                    match v {
                        Value::Nil => self.out.extend_from_slice(b"<no value>"),
                        v => write_v(&mut self.out, &v),
                    }
                }
                Ok(())
            }
            Node::If(b) => self.walk_if_with(dot, b, false),
            Node::With(b) => self.walk_if_with(dot, b, true),
            Node::Range(b) => self.walk_range(dot, node, b),
            Node::Template { name, pipe, .. } => {
                let Some(tree) = self.tmpl.trees.get(name) else {
                    return Err(self.errorf(format_args!("template {} not defined", quote(name))));
                };
                if self.depth >= MAX_EXEC_DEPTH {
                    return Err(self.errorf(format_args!(
                        "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
                    )));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                let vars = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
                let old_name = std::mem::replace(&mut self.name, name.as_str());
                self.depth += 1;
                let iface = std::mem::replace(&mut self.dot_iface, false);
                let r = self.walk_list(&new_dot, &tree.root);
                self.dot_iface = iface;
                self.depth -= 1;
                self.name = old_name;
                self.vars = vars;
                r
            }
            Node::Break { .. } => Err(Flow::Break),
            Node::Continue { .. } => Err(Flow::Continue),
        }
    }

    fn walk_if_with(&mut self, dot: &Value, b: &'a Branch, with: bool) -> R<()> {
        let mark = self.vars.len();
        let r = (|| {
            let v = self.eval_pipeline(dot, &b.pipe)?;
            if v.truth() {
                if with {
                    let iface = std::mem::replace(&mut self.dot_iface, false);
                    let r = self.walk_list(&v, &b.list);
                    self.dot_iface = iface;
                    r
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(())
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, node: &'a Node, b: &'a Branch) -> R<()> {
        self.at(Cur::Node(node));
        let mark = self.vars.len();
        let r = self.walk_range_inner(dot, b);
        self.vars.truncate(mark);
        match r {
            Err(Flow::Break) => Ok(()),
            other => other,
        }
    }

    fn set_var(&mut self, name: &str, v: Value) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => Err(self.errorf(format_args!("undefined variable: {name}"))),
        }
    }

    fn set_top_var(&mut self, n: usize, v: Value) {
        let len = self.vars.len();
        self.vars[len - n].1 = v;
    }

    fn one_iteration(&mut self, b: &'a Branch, index: Value, elem: Value, mark: usize) -> R<()> {
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone())?;
                } else {
                    self.set_var(&decl[0], elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let iface = std::mem::replace(&mut self.dot_iface, true);
        let r = self.walk_list(&elem, &b.list);
        self.dot_iface = iface;
        self.vars.truncate(mark);
        match r {
            Err(Flow::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_range_inner(&mut self, dot: &Value, b: &'a Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let ran = match &val {
            Value::Int(n) => {
                if b.pipe.decl.len() > 1 {
                    let s = String::from_utf8_lossy(&sprintf(b"%v", std::slice::from_ref(&val)))
                        .into_owned();
                    return Err(self.errorf(format_args!(
                        "can't use {s} to iterate over more than one variable"
                    )));
                }
                for i in 0..*n {
                    self.one_iteration(b, Value::Nil, Value::Int(i), mark)?;
                }
                *n > 0
            }
            Value::List(l) => {
                for (i, e) in l.iter().enumerate() {
                    self.one_iteration(b, Value::Int(i as i64), e.clone(), mark)?;
                }
                !l.is_empty()
            }
            Value::Map(m) => {
                for (k, e) in m.iter() {
                    self.one_iteration(b, Value::String(k.clone()), e.clone(), mark)?;
                }
                !m.is_empty()
            }
            Value::Nil => false,
            other => {
                let s = String::from_utf8_lossy(&sprintf(b"%v", std::slice::from_ref(other)))
                    .into_owned();
                return Err(self.errorf(format_args!("range can't iterate over {s}")));
            }
        };
        if !ran && let Some(e) = &b.else_list {
            return self.walk_list(dot, e);
        }
        Ok(())
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        self.at(Cur::Pipe(pipe));
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or_default();
        for v in &pipe.decl {
            if pipe.is_assign {
                self.set_var(v, value.clone())?;
            } else {
                self.vars.push((v.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Value>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.errorf(format_args!(
                "can't give argument to non-function {}",
                args[0]
            )));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Command, final_: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at(Cur::Arg(first));
                let iface = self.dot_iface;
                return self.eval_field_chain(
                    dot,
                    dot.clone(),
                    first,
                    idents,
                    &cmd.args,
                    final_,
                    iface,
                );
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, final_),
            Arg::Ident { func, name, .. } => {
                self.at(Cur::Arg(first));
                return self.eval_call(dot, func, Cur::Cmd(cmd), name, &cmd.args[1..], final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Var { .. } => return self.eval_variable(dot, first, &cmd.args, final_),
            _ => {}
        }
        self.at(Cur::Arg(first));
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.errorf("nil is not a command")),
            Arg::Number { .. } => self.ideal_constant(first),
            Arg::Str { text, .. } => Ok(Value::String(text.clone())),
            _ => Err(self.errorf(format_args!(
                "can't evaluate command {}",
                quote(&first.to_string())
            ))),
        }
    }

    fn ideal_constant(&mut self, n: &'a Arg) -> R<Value> {
        self.at(Cur::Arg(n));
        let Arg::Number { text, num, .. } = n else {
            return Ok(Value::Nil);
        };
        let is_hex_int = text.len() > 2
            && text.starts_with('0')
            && matches!(text.as_bytes()[1], b'x' | b'X')
            && !text.contains(['p', 'P']);
        let is_rune = text.starts_with('\'');
        if num.is_float && !is_hex_int && !is_rune && text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(num.float));
        }
        if num.is_int {
            return Ok(Value::Int(num.int));
        }
        if num.is_uint {
            return Err(self.errorf(format_args!("{text} overflows int")));
        }
        Ok(Value::Nil)
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        self.at(Cur::Arg(chain));
        let Arg::Chain { node, fields, .. } = chain else {
            return Ok(Value::Nil);
        };
        if let Arg::Nil { .. } = node.as_ref() {
            return Err(self.errorf(format_args!("indirection through explicit nil in {chain}")));
        }
        let recv = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, recv, chain, fields, args, final_, false)
    }

    fn var_value(&self, name: &str) -> R<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.errorf(format_args!("undefined variable: {name}"))),
        }
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        var: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        self.at(Cur::Arg(var));
        let Arg::Var { idents, .. } = var else {
            return Ok(Value::Nil);
        };
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            if !args.is_empty() {
                self.not_a_function(args, &final_)?;
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &idents[1..], args, final_, false)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        _dot: &Value,
        mut recv: Value,
        node: &'a Arg,
        idents: &'a [String],
        args: &'a [Arg],
        final_: Option<Value>,
        mut from_map: bool,
    ) -> R<Value> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            recv = self.eval_field(ident, node, &[], None, recv, from_map)?;
            from_map = true;
        }
        self.eval_field(&idents[n - 1], node, args, final_, recv, from_map)
    }

    fn eval_field(
        &mut self,
        field: &str,
        _node: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value>,
        recv: Value,
        from_map: bool,
    ) -> R<Value> {
        match &recv {
            Value::Nil if from_map => Err(self.errorf(format_args!(
                "nil pointer evaluating interface {{}}.{field}"
            ))),
            Value::Nil => {
                Err(self.errorf(format_args!("nil data; no entry for key {}", quote(field))))
            }
            Value::Map(m) => {
                if args.len() > 1 || final_.is_some() {
                    return Err(
                        self.errorf(format_args!("{field} is not a method but has arguments"))
                    );
                }
                match m.get(field) {
                    Some(v) => Ok(v.clone()),
                    None => {
                        Err(self.errorf(format_args!("map has no entry for key {}", quote(field))))
                    }
                }
            }
            other => Err(self.errorf(format_args!(
                "can't evaluate field {field} in type {}",
                if from_map {
                    "interface {}"
                } else {
                    other.go_type()
                }
            ))),
        }
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        func: FuncRef,
        node: Cur<'a>,
        name: &str,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let num_in = args.len() + final_.is_some() as usize;
        let num_fixed = if func.variadic.is_some() {
            func.params.len()
        } else {
            args.len()
        };
        if func.variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.errorf(format_args!(
                    "wrong number of args for {name}: want at least {} got {}",
                    func.params.len(),
                    args.len()
                )));
            }
        } else if num_in != func.params.len() {
            return Err(self.errorf(format_args!(
                "wrong number of args for {name}: want {} got {num_in}",
                func.params.len()
            )));
        }
        if name == "and" || name == "or" {
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, Some(Ty::Refl), a)?;
                if v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, Some(func.params[i]), &args[i])?);
            i += 1;
        }
        if let Some(vt) = func.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(vt), &args[i])?);
                i += 1;
            }
        }
        if let Some(f) = final_ {
            let mut t = func.params.last().copied().unwrap_or(Ty::Any);
            if let Some(vt) = func.variadic {
                t = if num_in - 1 < num_fixed {
                    func.params[num_in - 1]
                } else {
                    vt
                };
            }
            argv.push(self.validate_type(f, Some(t))?);
        }
        if name == "call" {
            let callee = match args.first() {
                Some(a) => a.to_string(),
                None => format!("<{} Value>", argv[0].go_type()),
            };
            self.at(node);
            let msg = match &argv[0] {
                Value::Nil => "call of nil".to_string(),
                v => format!("non-function {callee} of type {}", v.go_type()),
            };
            return Err(self.errorf(format_args!("error calling call: {msg}")));
        }
        match (func.f)(argv) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at(node);
                Err(self.errorf(format_args!("error calling {name}: {e}")))
            }
        }
    }

    fn validate_type(&self, v: Value, t: Option<Ty>) -> R<Value> {
        let Some(t) = t else { return Ok(v) };
        if let Value::Nil = v {
            if t.can_be_nil() {
                return Ok(Value::Nil);
            }
            return Err(self.errorf(format_args!("invalid value; expected {}", t.go_name())));
        }
        if !t.accepts(&v) {
            return Err(self.errorf(format_args!(
                "wrong type for value; expected {}; got {}",
                t.go_name(),
                v.go_type()
            )));
        }
        Ok(v)
    }

    fn eval_arg(&mut self, dot: &Value, t: Option<Ty>, n: &'a Arg) -> R<Value> {
        self.at(Cur::Arg(n));
        match n {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), t),
            Arg::Nil { .. } => {
                return match t {
                    Some(t) if !t.can_be_nil() => {
                        Err(self.errorf(format_args!("cannot assign nil to {}", t.go_name())))
                    }
                    _ => Ok(Value::Nil),
                };
            }
            Arg::Field { idents, .. } => {
                let iface = self.dot_iface;
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    n,
                    idents,
                    std::slice::from_ref(n),
                    None,
                    iface,
                )?;
                return self.validate_type(v, t);
            }
            Arg::Var { .. } => {
                let v = self.eval_variable(dot, n, &[], None)?;
                return self.validate_type(v, t);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(v, t);
            }
            Arg::Ident { func, name, .. } => {
                let v = self.eval_call(dot, func, Cur::Arg(n), name, &[], None)?;
                return self.validate_type(v, t);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, n, &[], None)?;
                return self.validate_type(v, t);
            }
            _ => {}
        }
        let t = t.unwrap_or(Ty::Any);
        match (t, n) {
            (Ty::Bool, Arg::Bool { val, .. }) => Ok(Value::Bool(*val)),
            (Ty::Bool, _) => Err(self.errorf(format_args!("expected bool; found {n}"))),
            (Ty::Float, Arg::Number { num, .. }) if num.is_float => Ok(Value::Float(num.float)),
            (Ty::Float, _) => Err(self.errorf(format_args!("expected float; found {n}"))),
            (Ty::Int, Arg::Number { num, .. }) if num.is_int => Ok(Value::Int(num.int)),
            (Ty::Int, _) => Err(self.errorf(format_args!("expected integer; found {n}"))),
            (Ty::Str, Arg::Str { text, .. }) => Ok(Value::String(text.clone())),
            (Ty::Str, _) => Err(self.errorf(format_args!("expected string; found {n}"))),
            (Ty::Any | Ty::Refl, Arg::Bool { val, .. }) => Ok(Value::Bool(*val)),
            (Ty::Any | Ty::Refl, Arg::Number { .. }) => self.ideal_constant(n),
            (Ty::Any | Ty::Refl, Arg::Str { text, .. }) => Ok(Value::String(text.clone())),
            _ => Err(self.errorf(format_args!(
                "can't handle {n} for arg of type {}",
                t.go_name()
            ))),
        }
    }
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Text { .. } => 0,
        Node::Action { pos, .. }
        | Node::Template { pos, .. }
        | Node::Break { pos }
        | Node::Continue { pos } => *pos,
        Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
    }
}
