//! Derives the Kubernetes API calls a crate makes from its sources (with `syn`): method calls on
//! `Api<K>` values (bound by `let`, function parameters, struct fields, and helper functions
//! returning `Api<K>`, generic helpers followed to their call sites), watches (`watcher`,
//! `metadata_watcher`, `Controller::new`, `.owns`, `.watches` ⇒ list+watch), kube's
//! `finalizer` helper (⇒ patch), the event `Recorder` (⇒ events create+patch: `publish` creates
//! an Event and patches its series on repeats) and ownerReferences with `blockOwnerDeletion`
//! (⇒ update on the owner's `finalizers`, the OwnerReferencesPermissionEnforcement plugin).
//! `#[cfg(test)]` modules and `*tests.rs` files are not the deployed code and are skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Expr, FnArg, Pat, Token, Type};

/// (kind as named in the source, subresource or "", verb).
pub type Call = (String, String, String);

/// The calls found, each with where it was found (`file: fn`).
#[derive(Debug, Default)]
pub struct Scan {
    pub calls: BTreeMap<Call, BTreeSet<String>>,
}

/// Placeholder kind of a generic `Api<K>` parameter: resolved at the helper's call sites.
fn param_kind(function: &str, index: usize) -> String {
    format!("<{function}#{index}>")
}

fn is_placeholder(kind: &str) -> bool {
    kind.starts_with('<')
}

/// Verbs (and subresource) of `Api` methods.
fn api_method(method: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match method {
        "get" | "get_opt" | "get_metadata" | "get_metadata_opt" => ("", &["get"]),
        "list" | "list_metadata" => ("", &["list"]),
        "watch" | "watch_metadata" => ("", &["watch"]),
        "create" => ("", &["create"]),
        "replace" => ("", &["update"]),
        "patch" | "patch_metadata" => ("", &["patch"]),
        "delete" => ("", &["delete"]),
        "delete_collection" => ("", &["deletecollection"]),
        // kube's `Entry` reads, then commits by create or replace.
        "entry" => ("", &["get", "create", "update"]),
        "get_status" => ("status", &["get"]),
        "patch_status" => ("status", &["patch"]),
        "replace_status" => ("status", &["update"]),
        "create_token_request" => ("token", &["create"]),
        _ => return None,
    })
}

/// `create_subresource("token", ..)` and friends: the subresource is the first argument.
fn subresource_method(method: &str) -> Option<&'static str> {
    Some(match method {
        "get_subresource" => "get",
        "create_subresource" => "create",
        "patch_subresource" => "patch",
        "replace_subresource" => "update",
        _ => return None,
    })
}

fn last_ident(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Path(p) => Some(last_ident(&p.path)),
        _ => None,
    }
}

fn first_type_arg(args: &syn::PathArguments) -> Option<&Type> {
    let syn::PathArguments::AngleBracketed(a) = args else {
        return None;
    };
    a.args.iter().find_map(|g| match g {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// `K` of `Api<K>` / `&Api<K>` / `Api<PartialObjectMeta<K>>`, as written.
fn api_kind(ty: &Type) -> Option<String> {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        Type::Paren(p) => &*p.elem,
        t => t,
    };
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != "Api" {
        return None;
    }
    let inner = first_type_arg(&seg.arguments)?;
    if let Type::Path(ip) = inner
        && let Some(s) = ip.path.segments.last()
        && s.ident == "PartialObjectMeta"
    {
        return first_type_arg(&s.arguments).and_then(type_name);
    }
    type_name(inner)
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read source dir") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            rust_sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs")
            && !p.to_string_lossy().ends_with("tests.rs")
        {
            out.push(p);
        }
    }
}

/// What pass 1 learns about the whole crate.
#[derive(Default)]
struct Globals {
    /// Functions and methods returning `Api<K>` (generic `K` stays a name of the helper's).
    returns: HashMap<String, BTreeSet<String>>,
    /// Helpers returning `Api<T>` for their own type parameter `T` (the kind comes by turbofish).
    generic_returns: BTreeSet<String>,
    /// Struct fields of type `Api<K>`.
    fields: HashMap<String, BTreeSet<String>>,
    /// Functions with `Api<T>` parameters for a type parameter `T`: their indexes.
    generic_params: HashMap<String, Vec<usize>>,
}

fn generics_of(g: &syn::Generics) -> BTreeSet<String> {
    g.type_params().map(|t| t.ident.to_string()).collect()
}

struct Pass1<'g> {
    g: &'g mut Globals,
    self_ty: Option<String>,
}

impl Pass1<'_> {
    fn signature(&mut self, sig: &syn::Signature) {
        let name = sig.ident.to_string();
        let generics = generics_of(&sig.generics);
        if let syn::ReturnType::Type(_, ty) = &sig.output
            && let Some(k) = api_kind(ty)
        {
            if generics.contains(&k) {
                self.g.generic_returns.insert(name.clone());
            } else {
                let k = match (&*k, &self.self_ty) {
                    ("Self", Some(t)) => t.clone(),
                    _ => k,
                };
                if k != "Self" {
                    self.g.returns.entry(name.clone()).or_default().insert(k);
                }
            }
        }
        let mut index = 0;
        for input in &sig.inputs {
            let FnArg::Typed(pt) = input else { continue };
            if api_kind(&pt.ty).is_some_and(|k| generics.contains(&k)) {
                self.g
                    .generic_params
                    .entry(name.clone())
                    .or_default()
                    .push(index);
            }
            index += 1;
        }
    }
}

impl<'ast> Visit<'ast> for Pass1<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_cfg_test(&m.attrs) {
            visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let saved = self
            .self_ty
            .replace(type_name(&i.self_ty).unwrap_or_default());
        visit::visit_item_impl(self, i);
        self.self_ty = saved;
    }
    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        self.signature(sig);
    }
    fn visit_field(&mut self, f: &'ast syn::Field) {
        if let (Some(name), Some(k)) = (&f.ident, api_kind(&f.ty)) {
            self.g.fields.entry(name.to_string()).or_default().insert(k);
        }
    }
}

/// Pass 2 over one function body.
struct Body<'a> {
    g: &'a Globals,
    out: &'a mut Scan,
    /// Generic helper parameter placeholders bound at call sites: placeholder → kinds.
    bindings: &'a mut BTreeMap<String, BTreeSet<String>>,
    at: String,
    function: String,
    generics: BTreeSet<String>,
    self_ty: Option<String>,
    /// Local names bound to `Api` kinds.
    env: HashMap<String, BTreeSet<String>>,
    /// Parameter types by name, for ownerReference owners.
    param_types: Vec<String>,
    /// First walk collects bindings only.
    collect_only: bool,
}

impl Body<'_> {
    fn record(&mut self, kinds: &BTreeSet<String>, sub: &str, verbs: &[&str]) {
        if self.collect_only {
            return;
        }
        for k in kinds {
            for v in verbs {
                self.out
                    .calls
                    .entry((k.clone(), sub.to_string(), v.to_string()))
                    .or_default()
                    .insert(self.at.clone());
            }
        }
    }

    fn concrete(&self, k: &str) -> Option<String> {
        match k {
            "Self" => self.self_ty.clone(),
            k if self.generics.contains(k) => None,
            k => Some(k.to_string()),
        }
    }

    /// The kinds of `Api` an expression evaluates to.
    fn kind_of(&self, e: &Expr) -> BTreeSet<String> {
        match e {
            Expr::Reference(r) => self.kind_of(&r.expr),
            Expr::Paren(p) => self.kind_of(&p.expr),
            Expr::Try(t) => self.kind_of(&t.expr),
            Expr::Await(a) => self.kind_of(&a.base),
            Expr::Group(g) => self.kind_of(&g.expr),
            Expr::Path(p) if p.path.segments.len() == 1 => self
                .env
                .get(&last_ident(&p.path))
                .cloned()
                .unwrap_or_default(),
            Expr::Field(f) => match &f.member {
                syn::Member::Named(n) => self
                    .g
                    .fields
                    .get(&n.to_string())
                    .cloned()
                    .unwrap_or_default(),
                _ => BTreeSet::new(),
            },
            Expr::MethodCall(m) if m.method == "clone" => self.kind_of(&m.receiver),
            Expr::MethodCall(m) => self
                .g
                .returns
                .get(&m.method.to_string())
                .cloned()
                .unwrap_or_default(),
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else {
                    return BTreeSet::new();
                };
                let segs: Vec<&syn::PathSegment> = p.path.segments.iter().collect();
                // `Api::<K>::namespaced(..)`, `Api::<K>::all(..)`, ...
                if let Some(api) = segs.iter().find(|s| s.ident == "Api") {
                    return first_type_arg(&api.arguments)
                        .and_then(type_name)
                        .and_then(|k| self.concrete(&k))
                        .into_iter()
                        .collect();
                }
                let name = last_ident(&p.path);
                if self.g.generic_returns.contains(&name) {
                    return segs
                        .last()
                        .and_then(|s| first_type_arg(&s.arguments))
                        .and_then(type_name)
                        .and_then(|k| self.concrete(&k))
                        .into_iter()
                        .collect();
                }
                let Some(kinds) = self.g.returns.get(&name) else {
                    return BTreeSet::new();
                };
                // `Kind::api(..)` names its kind; `K::api(..)` on a type parameter means any
                // implementation.
                match segs.len().checked_sub(2).map(|i| segs[i].ident.to_string()) {
                    Some(owner) if kinds.contains(&owner) => BTreeSet::from([owner]),
                    _ => kinds.clone(),
                }
            }
            Expr::Match(m) => m.arms.iter().flat_map(|a| self.kind_of(&a.body)).collect(),
            Expr::Block(b) => b
                .block
                .stmts
                .last()
                .and_then(|s| match s {
                    syn::Stmt::Expr(e, None) => Some(self.kind_of(e)),
                    _ => None,
                })
                .unwrap_or_default(),
            _ => BTreeSet::new(),
        }
    }

    fn bind_pat(&mut self, pat: &Pat, ty: Option<&Type>, kinds: BTreeSet<String>) {
        match (pat, ty) {
            (Pat::Type(pt), _) => self.bind_pat(&pt.pat, Some(&pt.ty), kinds),
            (Pat::Tuple(t), Some(Type::Tuple(tt))) => {
                for (p, ty) in t.elems.iter().zip(&tt.elems) {
                    self.bind_pat(p, Some(ty), BTreeSet::new());
                }
            }
            (Pat::Ident(i), ty) => {
                let mut kinds = kinds;
                if kinds.is_empty()
                    && let Some(k) = ty.and_then(api_kind).and_then(|k| self.concrete(&k))
                {
                    kinds.insert(k);
                }
                if !kinds.is_empty() {
                    self.env
                        .entry(i.ident.to_string())
                        .or_default()
                        .extend(kinds);
                }
            }
            _ => {}
        }
    }

    fn watched(&mut self, e: &Expr) {
        let kinds = self.kind_of(e);
        self.record(&kinds, "", &["list", "watch"]);
    }

    /// The owner kind of an ownerReference literal: `kind: X::kind(..)`, else the one
    /// parameter of a known kind.
    fn owner_of(&self, s: &syn::ExprStruct) -> BTreeSet<String> {
        for f in &s.fields {
            if let syn::Member::Named(n) = &f.member
                && n == "kind"
            {
                let mut named = BTreeSet::new();
                find_kind_call(&f.expr, &mut named);
                if !named.is_empty() {
                    return named;
                }
            }
        }
        self.param_types.iter().cloned().collect()
    }
}

fn find_kind_call(e: &Expr, out: &mut BTreeSet<String>) {
    struct F<'o>(&'o mut BTreeSet<String>);
    impl<'ast> Visit<'ast> for F<'_> {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                if segs.len() >= 2 && segs[segs.len() - 1] == "kind" {
                    self.0.insert(segs[segs.len() - 2].clone());
                }
            }
            visit::visit_expr_call(self, c);
        }
    }
    F(out).visit_expr(e);
}

impl<'ast> Visit<'ast> for Body<'_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            let kinds = self.kind_of(&init.expr);
            self.bind_pat(&l.pat, None, kinds);
        }
        visit::visit_local(self, l);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let method = m.method.to_string();
        if let Some((sub, verbs)) = api_method(&method) {
            let kinds = self.kind_of(&m.receiver);
            self.record(&kinds, sub, verbs);
        } else if let Some(verb) = subresource_method(&method) {
            let kinds = self.kind_of(&m.receiver);
            if let Some(Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            })) = m.args.first()
            {
                self.record(&kinds, &s.value(), &[verb]);
            }
        } else if matches!(method.as_str(), "owns" | "watches")
            && let Some(a) = m.args.first()
        {
            self.watched(a);
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let name = segs.last().cloned().unwrap_or_default();
            let owner = segs.len().checked_sub(2).map(|i| segs[i].as_str());
            match (owner, name.as_str()) {
                (_, "watcher" | "metadata_watcher") | (Some("Controller"), "new") => {
                    if let Some(a) = c.args.first() {
                        self.watched(a);
                    }
                }
                (_, "finalizer") if segs.len() == 1 || owner == Some("finalizer") => {
                    if let Some(a) = c.args.first() {
                        let kinds = self.kind_of(a);
                        self.record(&kinds, "", &["patch"]);
                    }
                }
                (Some("Recorder"), "new") => {
                    self.record(
                        &BTreeSet::from(["Event".to_string()]),
                        "",
                        &["create", "patch"],
                    );
                }
                _ => {}
            }
            if let Some(indexes) = self.g.generic_params.get(&name)
                && name != self.function
            {
                for &i in indexes {
                    if let Some(a) = c.args.iter().nth(i) {
                        let kinds = self.kind_of(a);
                        if !kinds.is_empty() && !self.collect_only {
                            self.bindings
                                .entry(param_kind(&name, i))
                                .or_default()
                                .extend(kinds);
                        }
                    }
                }
            }
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_struct(&mut self, s: &'ast syn::ExprStruct) {
        let blocking = last_ident(&s.path) == "OwnerReference"
            && s.fields.iter().any(|f| {
                matches!(&f.member, syn::Member::Named(n) if n == "block_owner_deletion")
                    && matches!(&f.expr, Expr::Call(c)
                        if c.args.len() == 1
                            && matches!(c.args.first(), Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. })) if b.value))
            });
        if blocking {
            let owners = self.owner_of(s);
            self.record(&owners, "finalizers", &["update"]);
        }
        visit::visit_expr_struct(self, s);
    }

    // Nested items are scanned on their own.
    fn visit_item(&mut self, _: &'ast syn::Item) {}

    /// Macro bodies that are expression lists (`vec![..]`, `join!(..)`) hold code too.
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let Ok(exprs) = m.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) else {
            return;
        };
        for e in &exprs {
            <Self as Visit<'_>>::visit_expr(self, e);
        }
    }
}

struct Pass2<'a> {
    g: &'a Globals,
    out: &'a mut Scan,
    bindings: &'a mut BTreeMap<String, BTreeSet<String>>,
    file: String,
    self_ty: Option<String>,
    /// Kinds known to the caller, for ownerReference owners among parameter types.
    known: &'a BTreeSet<String>,
}

impl Pass2<'_> {
    fn function(&mut self, sig: &syn::Signature, block: &syn::Block) {
        let function = sig.ident.to_string();
        let generics = generics_of(&sig.generics);
        let mut env: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut param_types = Vec::new();
        let mut index = 0;
        for input in &sig.inputs {
            let FnArg::Typed(pt) = input else { continue };
            if let Pat::Ident(i) = &*pt.pat {
                if let Some(k) = api_kind(&pt.ty) {
                    let k = if generics.contains(&k) {
                        param_kind(&function, index)
                    } else if k == "Self" {
                        self.self_ty.clone().unwrap_or(k)
                    } else {
                        k
                    };
                    env.entry(i.ident.to_string()).or_default().insert(k);
                } else if let Some(t) = type_name(&pt.ty)
                    && self.known.contains(&t)
                {
                    param_types.push(t);
                }
            }
            index += 1;
        }
        let mut body = Body {
            g: self.g,
            out: self.out,
            bindings: self.bindings,
            at: format!("{}: {function}", self.file),
            function,
            generics,
            self_ty: self.self_ty.clone(),
            env,
            param_types,
            collect_only: true,
        };
        // Bindings first (twice: `let b = a.clone()` after `a`), then the calls.
        body.visit_block(block);
        body.visit_block(block);
        body.collect_only = false;
        body.visit_block(block);
    }
}

impl<'ast> Visit<'ast> for Pass2<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_cfg_test(&m.attrs) {
            visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let saved = self
            .self_ty
            .replace(type_name(&i.self_ty).unwrap_or_default());
        visit::visit_item_impl(self, i);
        self.self_ty = saved;
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_cfg_test(&f.attrs) {
            self.function(&f.sig, &f.block);
        }
        visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_cfg_test(&f.attrs) {
            self.function(&f.sig, &f.block);
        }
    }
    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.function(&f.sig, block);
        }
    }
}

/// Scans `<repo>/<crate_dir>/src`. `known` are the kind names the caller can map to resources
/// (used to tell an ownerReference's owner among a function's parameters).
pub fn scan_crate(root: &Path, crate_dir: &str, known: &BTreeSet<String>) -> Scan {
    let src = root.join(crate_dir).join("src");
    let mut files = Vec::new();
    rust_sources(&src, &mut files);
    files.sort();
    let parsed: Vec<(String, syn::File)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("read source");
            let ast =
                syn::parse_file(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", f.display()));
            let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
            (rel, ast)
        })
        .collect();
    let mut g = Globals::default();
    for (_, ast) in &parsed {
        Pass1 {
            g: &mut g,
            self_ty: None,
        }
        .visit_file(ast);
    }
    let mut out = Scan::default();
    let mut bindings = BTreeMap::new();
    for (file, ast) in &parsed {
        Pass2 {
            g: &g,
            out: &mut out,
            bindings: &mut bindings,
            file: file.clone(),
            self_ty: None,
            known,
        }
        .visit_file(ast);
    }
    // Generic helpers: each call made on a placeholder applies to every kind bound to it
    // (through chains of helpers).
    loop {
        let mut changed = false;
        let calls: Vec<(Call, BTreeSet<String>)> = out
            .calls
            .iter()
            .filter(|((k, _, _), _)| is_placeholder(k))
            .map(|(c, at)| (c.clone(), at.clone()))
            .collect();
        for ((placeholder, sub, verb), at) in calls {
            for k in bindings.get(&placeholder).cloned().unwrap_or_default() {
                let e = out
                    .calls
                    .entry((k.clone(), sub.clone(), verb.clone()))
                    .or_default();
                let before = e.len();
                e.extend(at.iter().cloned());
                changed |= e.len() != before;
            }
        }
        if !changed {
            break;
        }
    }
    out.calls.retain(|(k, _, _), _| !is_placeholder(k));
    out
}
