//! Recursive-descent parser following Go's `text/template/parse` grammar, token lookahead and
//! error texts (`template: NAME:LINE: ...`).

use std::collections::HashMap;

use super::TemplateError;
use super::ast::{Arg, Branch, Command, Delims, Node, NodeDisplay, Pipe};
use super::funcs;
use super::lexer::{Item, ItemType as T, lex};
use super::literal::{parse_number, unquote};

const MAX_PAREN_DEPTH: usize = 10000;

#[derive(Debug)]
pub(crate) struct Tree {
    pub root: Vec<Node>,
}

enum Parsed {
    Node(Node),
    End,
    Else,
}

pub(crate) struct Parser<'a> {
    items: Vec<Item>,
    idx: usize,
    furthest: usize,
    parse_name: &'a str,
    delims: &'a Delims,
    pub trees: HashMap<String, Tree>,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    paren_depth: usize,
}

type R<T> = Result<T, TemplateError>;

fn is_empty_tree(list: &[Node]) -> bool {
    list.iter().all(|n| match n {
        Node::Text { text } => text.trim().is_empty(),
        _ => false,
    })
}

impl<'a> Parser<'a> {
    pub fn new(name: &'a str, text: &str, delims: &'a Delims) -> Self {
        Parser {
            items: lex(text, &delims.left, &delims.right),
            idx: 0,
            furthest: 0,
            parse_name: name,
            delims,
            trees: HashMap::new(),
            vars: vec!["$".into()],
            range_depth: 0,
            action_line: 0,
            paren_depth: 0,
        }
    }

    fn next(&mut self) -> Item {
        let i = self.idx.min(self.items.len() - 1);
        self.idx = i + 1;
        self.furthest = self.furthest.max(i);
        self.items[i].clone()
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> Item {
        let it = self.next();
        self.backup();
        it
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != T::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn err(&self, msg: impl std::fmt::Display) -> TemplateError {
        let line = self.items[self.furthest.min(self.items.len() - 1)].line;
        TemplateError::new(format!("template: {}:{}: {}", self.parse_name, line, msg))
    }

    fn unexpected(&self, tok: &Item, context: &str) -> TemplateError {
        if tok.typ == T::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != tok.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if tok.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.err(format_args!("{tok}{extra}"));
        }
        self.err(format_args!("unexpected {tok} in {context}"))
    }

    fn expect(&mut self, typ: T, context: &str) -> R<Item> {
        let t = self.next_non_space();
        if t.typ != typ {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn add(&mut self, name: String, root: Vec<Node>) -> R<()> {
        match self.trees.get(&name) {
            Some(existing) if !is_empty_tree(&existing.root) => {
                if !is_empty_tree(&root) {
                    return Err(self.err(format_args!(
                        "template: multiple definition of template {}",
                        super::fmt::quote(&name)
                    )));
                }
            }
            _ => {
                self.trees.insert(name, Tree { root });
            }
        }
        Ok(())
    }

    /// Parses the whole text; the top-level tree is registered under `self.parse_name`.
    pub fn parse(mut self) -> R<HashMap<String, Tree>> {
        let mut root = Vec::new();
        while self.peek().typ != T::Eof {
            if self.peek().typ == T::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().typ == T::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Parsed::End => {
                    return Err(self.err(format_args!(
                        "unexpected {}end{}",
                        self.delims.left, self.delims.right
                    )));
                }
                Parsed::Else => {
                    return Err(self.err(format_args!(
                        "unexpected {}else{}",
                        self.delims.left, self.delims.right
                    )));
                }
                Parsed::Node(n) => root.push(n),
            }
        }
        let name = self.parse_name.to_string();
        self.add(name, root)?;
        Ok(self.trees)
    }

    fn with_fresh_tree<X>(&mut self, f: impl FnOnce(&mut Self) -> R<X>) -> R<X> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let depth = std::mem::replace(&mut self.range_depth, 0);
        let line = std::mem::replace(&mut self.action_line, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = depth;
        self.action_line = line;
        r
    }

    fn parse_definition(&mut self) -> R<()> {
        self.with_fresh_tree(|p| {
            let context = "define clause";
            let tok = p.next_non_space();
            if tok.typ != T::String && tok.typ != T::RawString {
                return Err(p.unexpected(&tok, context));
            }
            let name = unquote(&tok.val).map_err(|e| p.err(e))?;
            p.expect(T::RightDelim, context)?;
            let (root, end) = p.item_list()?;
            if let Parsed::Else = end {
                return Err(p.err(format_args!(
                    "unexpected {}else{} in {context}",
                    p.delims.left, p.delims.right
                )));
            }
            p.add(name, root)
        })
    }

    fn item_list(&mut self) -> R<(Vec<Node>, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != T::Eof {
            match self.text_or_action()? {
                p @ (Parsed::End | Parsed::Else) => return Ok((list, p)),
                Parsed::Node(n) => list.push(n),
            }
        }
        Err(self.err("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> R<Parsed> {
        let tok = self.next_non_space();
        match tok.typ {
            T::Text => Ok(Parsed::Node(Node::Text { text: tok.val })),
            T::LeftDelim => {
                self.action_line = tok.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&tok, "input")),
        }
    }

    fn action(&mut self) -> R<Parsed> {
        let tok = self.next_non_space();
        match tok.typ {
            T::Block => return self.block_control().map(Parsed::Node),
            T::Break | T::Continue => {
                let is_break = tok.typ == T::Break;
                let word = if is_break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let t = self.next_non_space();
                if t.typ != T::RightDelim {
                    return Err(self.unexpected(&t, word));
                }
                if self.range_depth == 0 {
                    return Err(self.err(format_args!("{word} outside {{{{range}}}}")));
                }
                return Ok(Parsed::Node(if is_break {
                    Node::Break { pos: tok.pos }
                } else {
                    Node::Continue { pos: tok.pos }
                }));
            }
            T::Else => {
                let peek = self.peek_non_space();
                if peek.typ == T::If || peek.typ == T::With {
                    return Ok(Parsed::Else);
                }
                self.expect(T::RightDelim, "else")?;
                return Ok(Parsed::Else);
            }
            T::End => {
                self.expect(T::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            T::If => return self.control("if").map(|b| Parsed::Node(Node::If(b))),
            T::Range => return self.control("range").map(|b| Parsed::Node(Node::Range(b))),
            T::With => return self.control("with").map(|b| Parsed::Node(Node::With(b))),
            T::Template => return self.template_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let pos = self.peek().pos;
        let pipe = self.pipeline("command", T::RightDelim)?;
        Ok(Parsed::Node(Node::Action { pos, pipe }))
    }

    fn control(&mut self, context: &str) -> R<Branch> {
        let nvars = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(nvars);
        r
    }

    fn control_inner(&mut self, context: &str) -> R<Branch> {
        let pipe = self.pipeline(context, T::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if let Parsed::Else = next {
            if context == "if" && self.peek().typ == T::If {
                self.next();
                else_list = Some(vec![Node::If(self.control("if")?)]);
            } else if context == "with" && self.peek().typ == T::With {
                self.next();
                else_list = Some(vec![Node::With(self.control("with")?)]);
            } else {
                let (l, next) = self.item_list()?;
                if let Parsed::Else = next {
                    return Err(self.err(format_args!(
                        "expected end; found {}else{}",
                        self.delims.left, self.delims.right
                    )));
                }
                else_list = Some(l);
            }
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, tok: &Item, context: &str) -> R<String> {
        match tok.typ {
            T::String | T::RawString => unquote(&tok.val).map_err(|e| self.err(e)),
            _ => Err(self.unexpected(tok, context)),
        }
    }

    fn block_control(&mut self) -> R<Node> {
        let context = "block clause";
        let tok = self.next_non_space();
        let name = self.template_name(&tok, context)?;
        let pipe = self.pipeline(context, T::RightDelim)?;
        let (root, end) = self.with_fresh_tree(|p| p.item_list())?;
        if let Parsed::Else = end {
            return Err(self.err(format_args!(
                "unexpected {}else{} in {context}",
                self.delims.left, self.delims.right
            )));
        }
        self.with_fresh_tree(|p| p.add(name.clone(), root))?;
        Ok(Node::Template {
            pos: tok.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> R<Node> {
        let context = "template clause";
        let tok = self.next_non_space();
        let name = self.template_name(&tok, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != T::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, T::RightDelim)?);
        }
        Ok(Node::Template {
            pos: tok.pos,
            name,
            pipe,
        })
    }

    fn pipeline(&mut self, context: &str, end: T) -> R<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != T::Variable {
                break;
            }
            let vidx = self.idx_of_next_non_space();
            self.next_non_space();
            let after = self.peek();
            let next = self.peek_non_space();
            match next.typ {
                T::Assign | T::Declare => {
                    pipe.is_assign = next.typ == T::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                }
                T::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            T::Variable | T::RightDelim | T::RightParen => continue 'decls,
                            _ => return Err(self.err("range can only initialize variables")),
                        }
                    }
                    return Err(self.err(format_args!("too many declarations in {context}")));
                }
                _ => {
                    let _ = after;
                    self.idx = vidx;
                }
            }
            break;
        }
        loop {
            let tok = self.next_non_space();
            match tok.typ {
                t if t == end => {
                    if pipe.cmds.is_empty() {
                        return Err(self.err(format_args!("missing value for {context}")));
                    }
                    for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                        if matches!(
                            c.args[0],
                            Arg::Bool { .. }
                                | Arg::Dot { .. }
                                | Arg::Nil { .. }
                                | Arg::Number { .. }
                                | Arg::Str { .. }
                        ) {
                            return Err(self.err(format_args!(
                                "non executable command in pipeline stage {}",
                                i + 1
                            )));
                        }
                    }
                    return Ok(pipe);
                }
                T::Bool
                | T::CharConstant
                | T::Complex
                | T::Dot
                | T::Field
                | T::Identifier
                | T::Number
                | T::Nil
                | T::RawString
                | T::String
                | T::Variable
                | T::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return Err(self.unexpected(&tok, context)),
            }
        }
    }

    fn idx_of_next_non_space(&mut self) -> usize {
        let save = self.idx;
        let mut i = self.idx;
        while i < self.items.len() && self.items[i].typ == T::Space {
            i += 1;
        }
        self.idx = save;
        i
    }

    fn command(&mut self) -> R<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let tok = self.next();
            match tok.typ {
                T::Space => continue,
                T::RightDelim | T::RightParen => self.backup(),
                T::Pipe => {}
                _ => return Err(self.unexpected(&tok, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.err("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> R<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != T::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == T::Field {
            fields.push(self.next().val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Var { mut idents, .. } => {
                idents.extend(fields);
                Arg::Var {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Bool { .. }
            | Arg::Str { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.err(format_args!(
                    "unexpected . after term {}",
                    super::fmt::quote(&node.to_string())
                )));
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> R<Option<Arg>> {
        let tok = self.next_non_space();
        let pos = tok.pos;
        Ok(Some(match tok.typ {
            T::Identifier => match funcs::lookup(&tok.val) {
                Some(func) => Arg::Ident {
                    pos,
                    name: tok.val,
                    func,
                },
                None => {
                    return Err(self.err(format_args!(
                        "function {} not defined",
                        super::fmt::quote(&tok.val)
                    )));
                }
            },
            T::Dot => Arg::Dot { pos },
            T::Nil => Arg::Nil { pos },
            T::Variable => {
                let idents: Vec<String> = tok.val.split('.').map(str::to_string).collect();
                if !self.vars.iter().any(|v| *v == idents[0]) {
                    return Err(self.err(format_args!(
                        "undefined variable {}",
                        super::fmt::quote(&idents[0])
                    )));
                }
                Arg::Var { pos, idents }
            }
            T::Field => Arg::Field {
                pos,
                idents: tok.val[1..].split('.').map(str::to_string).collect(),
            },
            T::Bool => Arg::Bool {
                pos,
                val: tok.val == "true",
            },
            T::CharConstant | T::Complex | T::Number => {
                let num = parse_number(&tok.val, tok.typ).map_err(|e| self.err(e))?;
                Arg::Number {
                    pos,
                    text: tok.val,
                    num,
                }
            }
            T::LeftParen => {
                if self.paren_depth >= MAX_PAREN_DEPTH {
                    return Err(self.err("max expression depth exceeded"));
                }
                self.paren_depth += 1;
                let r = self.pipeline("parenthesized pipeline", T::RightParen);
                self.paren_depth -= 1;
                Arg::Pipe(Box::new(r?))
            }
            T::String | T::RawString => {
                let text = unquote(&tok.val).map_err(|e| self.err(e))?;
                Arg::Str {
                    pos,
                    quoted: tok.val,
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

impl std::fmt::Display for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = Delims {
            left: "{{".into(),
            right: "}}".into(),
        };
        for n in &self.root {
            write!(f, "{}", NodeDisplay(n, &d))?;
        }
        Ok(())
    }
}
