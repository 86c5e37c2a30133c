//! Go `text/template` + sprig compatible template engine (ESO template engine v2).
//!
//! The language (lexer, parser, executor, `fmt` verbs, error texts) is checked byte for byte
//! against Go's own `text/template` by `tests/template_differential.rs`. Execution always uses
//! `missingkey=error`, as ESO does. Known differences from Go are listed in
//! `shared/tests/template-cases/DIFFERENCES.md`.

use std::collections::{BTreeMap, HashMap};
use std::fmt as stdfmt;

mod ast;
pub mod eso;
mod exec;
mod fmt;
mod funcs;
mod lexer;
mod literal;
mod parse;
mod printf;
mod value;

pub use funcs::function_names;
pub use funcs::pkcs12::pkcs12_leaf_certificate;
pub use value::Value;

/// Action delimiters (ESO's `--template-left-delimiter` / `--template-right-delimiter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub left_delim: String,
    pub right_delim: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            left_delim: "{{".into(),
            right_delim: "}}".into(),
        }
    }
}

/// A parse or execution error. `Display` is Go's error text; it never contains data values
/// beyond what Go's own message would show.
#[derive(Clone, PartialEq, Eq)]
pub struct TemplateError {
    message: String,
}

impl TemplateError {
    pub(crate) fn new(message: String) -> Self {
        TemplateError { message }
    }
}

impl stdfmt::Display for TemplateError {
    fn fmt(&self, f: &mut stdfmt::Formatter<'_>) -> stdfmt::Result {
        f.write_str(&self.message)
    }
}

// Go's messages may quote a value (e.g. `range can't iterate over ...`); keep Debug terse.
impl stdfmt::Debug for TemplateError {
    fn fmt(&self, f: &mut stdfmt::Formatter<'_>) -> stdfmt::Result {
        write!(f, "TemplateError({:?})", self.message)
    }
}

impl std::error::Error for TemplateError {}

/// A parsed template set: the named template plus everything it `define`s or `block`s.
#[derive(Debug)]
pub struct Template {
    name: String,
    text: String,
    delims: ast::Delims,
    trees: HashMap<String, parse::Tree>,
}

impl Template {
    /// Parses `text` as template `name` (`template.New(name).Delims(..).Parse(text)`).
    pub fn parse(name: &str, text: &str, opts: &Options) -> Result<Template, TemplateError> {
        let left = if opts.left_delim.is_empty() {
            "{{"
        } else {
            &opts.left_delim
        };
        let right = if opts.right_delim.is_empty() {
            "}}"
        } else {
            &opts.right_delim
        };
        let delims = ast::Delims {
            left: left.to_string(),
            right: right.to_string(),
        };
        let trees = parse::Parser::new(name, text, &delims).parse()?;
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            delims,
            trees,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Executes the template with `missingkey=error`; output bytes as Go writes them. Go
    /// strings may hold arbitrary bytes (e.g. `b64dec` of binary data), so this is the exact form.
    pub fn render_bytes(&self, data: &Value) -> Result<Vec<u8>, TemplateError> {
        self.execute(&self.name, data)
    }

    /// Executes the template; output that is not UTF-8 has invalid sequences replaced by U+FFFD
    /// (use [`Template::render_bytes`] for binary output).
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        let b = self.render_bytes(data)?;
        Ok(match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Executes the associated template `name` (`ExecuteTemplate`).
    pub fn render_template(&self, name: &str, data: &Value) -> Result<Vec<u8>, TemplateError> {
        if !self.trees.contains_key(name) {
            return Err(TemplateError::new(format!(
                "template: no template {} associated with template {}",
                fmt::quote(name),
                fmt::quote(&self.name)
            )));
        }
        self.execute(name, data)
    }

    fn execute(&self, name: &str, data: &Value) -> Result<Vec<u8>, TemplateError> {
        let Some(tree) = self.trees.get(name) else {
            return Err(TemplateError::new(format!(
                "template: {}: {} is an incomplete or empty template",
                name,
                fmt::quote(name)
            )));
        };
        let mut st = exec::State::new(self, name, data.clone());
        match st.walk_list(data, &tree.root) {
            Ok(()) => Ok(st.out),
            Err(exec::Flow::Err(e)) => Err(e),
            Err(_) => Ok(st.out),
        }
    }
}

/// Renders `text` against ESO's data context (a map of fetched keys to string values) with the
/// default delimiters.
pub fn render_str(
    name: &str,
    text: &str,
    data: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    let t = Template::parse(name, text, &Options::default())?;
    t.render(&Value::from(data))
}
