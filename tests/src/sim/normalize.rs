//! The golden files' normalization (tests/../apiserver-golden/README.md), applied to our answers so
//! they can be compared with the recording.

use std::collections::{BTreeSet, HashMap};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use regex::Regex;
use serde_json::Value;

pub struct Normalizer {
    uids: HashMap<String, usize>,
    rv_rank: HashMap<String, usize>,
    continues: HashMap<String, usize>,
    uuid: Regex,
    time: Regex,
    rv_msg: Regex,
    gen_name: Regex,
    x509: Regex,
    jwt: Regex,
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Normalizer {
    pub fn new() -> Self {
        Normalizer {
            uids: HashMap::new(),
            rv_rank: HashMap::new(),
            continues: HashMap::new(),
            uuid: Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap_or_else(|_| unreachable!()),
            time: Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})").unwrap_or_else(|_| unreachable!()),
            rv_msg: Regex::new(r#"(too old resource version: \d+ \(|in record \(|current: |in the precondition \(|\\"resourceVersion\\":\\")(\d+)"#)
                .unwrap_or_else(|_| unreachable!()),
            gen_name: Regex::new(r"^gen-[a-z0-9]{5}$").unwrap_or_else(|_| unreachable!()),
            x509: Regex::new(r"X509SHA256=[0-9a-f]+").unwrap_or_else(|_| unreachable!()),
            jwt: Regex::new(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+").unwrap_or_else(|_| unreachable!()),
        }
    }

    /// First pass: remember every resourceVersion our answers contained, to rank them.
    pub fn collect_rvs(&self, v: &Value, out: &mut BTreeSet<u64>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    if k == "resourceVersion"
                        && let Some(n) = c.as_str().and_then(|s| s.parse::<u64>().ok())
                    {
                        out.insert(n);
                    }
                    self.collect_rvs(c, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|c| self.collect_rvs(c, out)),
            Value::String(s) => {
                for cap in self.rv_msg.captures_iter(s) {
                    if uuid_prefix(s, &cap) {
                        continue;
                    }
                    if let Some(n) = cap.get(2).and_then(|m| m.as_str().parse::<u64>().ok()) {
                        out.insert(n);
                    }
                }
            }
            _ => {}
        }
    }

    pub fn set_rvs(&mut self, all: &BTreeSet<u64>) {
        self.rv_rank = all
            .iter()
            .enumerate()
            .map(|(i, v)| (v.to_string(), i + 1))
            .collect();
    }

    fn rv(&self, s: &str) -> String {
        match self.rv_rank.get(s) {
            Some(n) => format!("<rv:{n}>"),
            None => s.to_string(),
        }
    }

    /// Numbers the UUIDs of a raw answer in text order, before [`Self::value`] walks the
    /// parsed (key-sorted) form, so numbering follows the order the server wrote them in.
    pub fn register_uids(&mut self, text: &str) {
        let found: Vec<String> = self
            .uuid
            .find_iter(text)
            .map(|m| m.as_str().to_string())
            .collect();
        for u in found {
            self.uid(&u);
        }
        // The recording also numbered the UUIDs of each issued token's decoded claims (its
        // `decoded_jwt`, which follows the response body), such as `jti`.
        let claims: Vec<String> = self
            .jwt
            .find_iter(text)
            .filter_map(|m| m.as_str().split('.').nth(1))
            .filter_map(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect();
        for c in claims {
            let found: Vec<String> = self
                .uuid
                .find_iter(&c)
                .map(|m| m.as_str().to_string())
                .collect();
            for u in found {
                self.uid(&u);
            }
        }
    }

    fn uid(&mut self, u: &str) -> String {
        if u == "00000000-0000-0000-0000-000000000000"
            || u == "11111111-2222-3333-4444-555555555555"
        {
            return u.into();
        }
        let n = self.uids.len() + 1;
        let n = *self.uids.entry(u.to_string()).or_insert(n);
        format!("<uid:{n}>")
    }

    /// Numbers a continue token a request sent (the recording numbers tokens by first
    /// appearance, requests included).
    pub fn register_continue(&mut self, token: &str) {
        if !token.is_empty() {
            self.string(token, "continue");
        }
    }

    pub fn string(&mut self, s: &str, key: &str) -> String {
        if key == "resourceVersion" {
            return self.rv(s);
        }
        if key == "continue" && !s.is_empty() {
            let n = self.continues.len() + 1;
            let n = *self.continues.entry(s.to_string()).or_insert(n);
            return format!("<continue:{n}>");
        }
        if key == "name" && self.gen_name.is_match(s) {
            return "gen-<random5>".into();
        }
        if s.contains("-----BEGIN") || s.starts_with("LS0tLS1CRUdJTi") {
            return "<pem>".into();
        }
        let mut out = s.to_string();
        let uuids: Vec<String> = self
            .uuid
            .find_iter(&out)
            .map(|m| m.as_str().to_string())
            .collect();
        for u in uuids {
            let r = self.uid(&u);
            out = out.replace(&u, &r);
        }
        out = self.time.replace_all(&out, "<time>").into_owned();
        out = self
            .x509
            .replace_all(&out, "X509SHA256=<cert-sha256>")
            .into_owned();
        out = self.jwt.replace_all(&out, "<jwt>").into_owned();
        let ranks = &self.rv_rank;
        let source = out.clone();
        out = self
            .rv_msg
            .replace_all(&out, |c: &regex::Captures| {
                if uuid_prefix(&source, c) {
                    return c[0].to_string();
                }
                let v = &c[2];
                match ranks.get(v) {
                    Some(n) => format!("{}<rv:{n}>", &c[1]),
                    None => format!("{}{v}", &c[1]),
                }
            })
            .into_owned();
        out
    }

    pub fn value(&mut self, v: &mut Value, key: &str) {
        match v {
            Value::Object(m) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    let nk = if k.contains("k:{") {
                        self.string(&k, "")
                    } else {
                        k.clone()
                    };
                    if let Some(mut c) = m.remove(&k) {
                        self.value(&mut c, &k);
                        m.insert(nk, c);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| self.value(c, key)),
            Value::String(s) => *s = self.string(s, key),
            _ => {}
        }
    }
}

/// Digits followed by `-` or more hex start a UUID (a precondition uid), not a resourceVersion.
fn uuid_prefix(s: &str, c: &regex::Captures) -> bool {
    // A UUID can start with digits ("826ab1c2-..."): the number is only a resourceVersion when
    // nothing word-like follows it.
    c.get(0).is_some_and(|m| {
        s[m.end()..]
            .chars()
            .next()
            .is_some_and(|ch| ch == '-' || ch.is_ascii_alphanumeric())
    })
}

/// Where the recorded resourceVersion moved because of writes outside the recording: the
/// apiserver's own activity (it renews its identity Lease every 10 s, among others) also bumps
/// the global etcd revision. Such a write shows as a new highest rank that no object carries
/// anywhere in the file: only a collection's resourceVersion (a list's or a BOOKMARK's) or a
/// message ("current: X") shows it. Returns, per exchange index, how many such writes to replay
/// before it.
pub fn background_writes(exchanges: &[Value]) -> HashMap<usize, usize> {
    #[derive(Default)]
    struct Ranks {
        /// Where the global resourceVersion shows: collections and messages.
        global: BTreeSet<u64>,
        /// resourceVersions of objects.
        objects: BTreeSet<u64>,
    }
    fn rank(s: &str) -> Option<u64> {
        s.strip_prefix("<rv:")?.strip_suffix('>')?.parse().ok()
    }
    fn walk(v: &Value, collection: bool, r: &mut Ranks, re: &Regex) {
        match v {
            Value::Object(m) => {
                let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
                let collection = collection || kind.ends_with("List") || kind == "Table";
                for (k, c) in m {
                    if let ("metadata", Value::Object(meta)) = (k.as_str(), c) {
                        for (mk, mv) in meta {
                            match (mk.as_str(), mv.as_str().and_then(rank)) {
                                ("resourceVersion", Some(n)) if collection => {
                                    r.global.insert(n);
                                }
                                ("resourceVersion", Some(n)) => {
                                    r.objects.insert(n);
                                }
                                _ => walk(mv, false, r, re),
                            }
                        }
                    } else {
                        walk(c, false, r, re);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, false, r, re)),
            Value::String(s) => {
                r.global
                    .extend(re.find_iter(s).filter_map(|m| rank(m.as_str())));
            }
            _ => {}
        }
    }
    let Ok(re) = Regex::new(r"<rv:\d+>") else {
        return HashMap::new();
    };
    let per: Vec<Ranks> = exchanges
        .iter()
        .map(|e| {
            let mut r = Ranks::default();
            walk(&e["response"]["body"], false, &mut r, &re);
            walk(&e["observed_by_webhook"], false, &mut r, &re);
            for d in e["during"].as_array().into_iter().flatten() {
                walk(&d["response"]["body"], false, &mut r, &re);
            }
            for ev in e["events"].as_array().into_iter().flatten() {
                walk(&ev["object"], ev["type"] == "BOOKMARK", &mut r, &re);
            }
            r
        })
        .collect();
    let on_objects: BTreeSet<u64> = per.iter().flat_map(|r| r.objects.iter().copied()).collect();
    let mut highest = 0;
    let mut out = HashMap::new();
    for (i, r) in per.iter().enumerate() {
        let n = r
            .global
            .iter()
            .filter(|n| **n > highest && !on_objects.contains(n))
            .count();
        if n > 0 && highest > 0 {
            out.insert(i, n);
        }
        highest = r
            .global
            .iter()
            .chain(&r.objects)
            .copied()
            .fold(highest, u64::max);
    }
    out
}
