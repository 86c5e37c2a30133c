//! Replays every exchange recorded from a real kube-apiserver 1.36 (apiserver-golden/) against
//! kubesim and compares status, the headers that matter and the normalized body.
//!
//! Prints exactly one summary line: `golden exchanges matched M/N`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use tests::sim::normalize::{self, Normalizer};
use tests::sim::testwebhooks::{self, Pki};
use tests::sim::{NOBODY_TOKEN, Sim, SimOptions};

/// The recorded apiserver's address (it shows in discovery and the OIDC document).
const RECORDED_SERVER: &str = "127.0.0.1:6443";
/// The recorder's webhook server; its URLs and error messages name this address.
const RECORDED_WEBHOOK: &str = "127.0.0.1:18443";

/// Files whose every exchange must match.
const MUST_MATCH: &[&str] = &["03-", "04-", "09-", "13-"];

/// Matches reached so far (deterministic: the earlier run-to-run variation in 08 came from
/// UUIDs starting with digits being read as resourceVersions in messages). The test fails below
/// this; raise it when the simulator improves. The goal is 95% of all exchanges (463/487).
const RATCHET: usize = 475;

/// Only what is needed to find each request body's raw text.
#[derive(serde::Deserialize)]
struct RawFile {
    exchanges: Vec<RawExchange>,
}

#[derive(serde::Deserialize)]
struct RawExchange {
    #[serde(default)]
    request: Option<RawRequest>,
    #[serde(default)]
    during: Vec<RawExchange>,
}

#[derive(serde::Deserialize)]
struct RawRequest {
    #[serde(default)]
    body: Option<Box<serde_json::value::RawValue>>,
}

fn attach_raw(ex: &mut Value, raw: &RawExchange) {
    if let Some(b) = raw.request.as_ref().and_then(|r| r.body.as_ref())
        && ex["request"]["body"].is_object()
    {
        ex["request"]["raw_body"] = json!(b.get());
    }
    if let Some(d) = ex.get_mut("during").and_then(Value::as_array_mut) {
        for (e, r) in d.iter_mut().zip(&raw.during) {
            attach_raw(e, r);
        }
    }
}

fn golden_dir() -> PathBuf {
    let candidates = [
        std::env::var("APISERVER_GOLDEN_DIR")
            .ok()
            .map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/apiserver-golden")),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/apiserver-golden")),
        Some(PathBuf::from("/work/shared/apiserver-golden")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("README.md").exists())
        .expect("apiserver-golden directory (set APISERVER_GOLDEN_DIR)")
}

fn skips() -> HashMap<String, String> {
    let text =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden-skips.txt"))
            .unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(k, r)| (k.to_string(), r.trim().to_string()))
        })
        .collect()
}

/// Recorded placeholders → our concrete values, learned from earlier answers.
#[derive(Default)]
struct Bindings {
    map: HashMap<String, String>,
}

impl Bindings {
    fn learn(&mut self, recorded: &Value, ours: &Value) {
        match (recorded, ours) {
            (Value::Object(r), Value::Object(o)) => {
                for (k, rv) in r {
                    if let Some(ov) = o.get(k) {
                        self.learn(rv, ov);
                    }
                }
            }
            (Value::Array(r), Value::Array(o)) => {
                for (a, b) in r.iter().zip(o) {
                    self.learn(a, b);
                }
            }
            (Value::String(r), Value::String(o))
                if r.starts_with('<') && r.ends_with('>') && !r.contains(' ') && r != "<time>" =>
            {
                self.map.entry(r.clone()).or_insert_with(|| o.clone());
            }
            _ => {}
        }
    }
    fn subst(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (k, v) in &self.map {
            out = out.replace(k, v);
        }
        out.replace(
            "<time>",
            &chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
    }
    /// [`Self::subst`] on raw JSON text; lease/event times need microseconds.
    fn subst_raw(&self, raw: &str) -> String {
        let micro = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let re =
            regex::Regex::new(r#""(renewTime|acquireTime|eventTime)"(\s*):(\s*)"<time>""#).unwrap();
        let raw = re.replace_all(raw, format!(r#""$1"$2:$3"{micro}""#).as_str());
        self.subst(&raw)
    }
    fn subst_value(&self, v: &Value, key: &str) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, c)| (k.clone(), self.subst_value(c, k)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|c| self.subst_value(c, key)).collect()),
            Value::String(s)
                if s == "<time>" && matches!(key, "renewTime" | "acquireTime" | "eventTime") =>
            {
                json!(
                    chrono::Utc::now()
                        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                        .to_string()
                )
            }
            Value::String(s) => json!(self.subst(s)),
            other => other.clone(),
        }
    }
}

struct Outcome {
    id: String,
    /// The continue token our request sent, if any.
    sent_continue: Option<String>,
    recorded: Value,
    ours: Value,
    /// Our answer's raw text (UUIDs are numbered in text order).
    raw: String,
}

async fn send(sim: &Sim, http: &reqwest::Client, b: &Bindings, req: &Value) -> reqwest::Response {
    let method =
        reqwest::Method::from_bytes(req["method"].as_str().unwrap_or("GET").as_bytes()).unwrap();
    let mut url = format!(
        "{}{}",
        sim.url(),
        b.subst(req["path"].as_str().unwrap_or("/"))
    );
    if let Some(q) = req["query"].as_object() {
        let pairs: Vec<(String, String)> = q
            .iter()
            .map(|(k, v)| (k.clone(), b.subst(v.as_str().unwrap_or(""))))
            .collect();
        url.push('?');
        url.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish(),
        );
    }
    let mut rb = http
        .request(method, url)
        .header("user-agent", "golden-recorder/1.0");
    let identity = req["identity"].as_str().unwrap_or("");
    let headers = req["headers"].as_object().cloned().unwrap_or_default();
    if identity.is_empty() {
        rb = rb.header(
            "authorization",
            format!("Bearer {}", tests::sim::ADMIN_TOKEN),
        );
    } else if identity.contains("nobody") {
        rb = rb.header("authorization", format!("Bearer {NOBODY_TOKEN}"));
    }
    for (k, v) in &headers {
        rb = rb.header(k.as_str(), b.subst(v.as_str().unwrap_or("")));
    }
    match (&req["body"], req["raw_body"].as_str()) {
        (Value::Null, _) => {}
        (Value::String(s), _) => rb = rb.body(b.subst(s)),
        // The recorded text, so that field order (which shows in managedFields, warnings and
        // errors) is what the recorder sent.
        (_, Some(raw)) => rb = rb.body(b.subst_raw(raw)),
        (other, None) => rb = rb.body(b.subst_value(other, "").to_string()),
    }
    rb.send().await.expect("request to kubesim")
}

async fn response_json(resp: reqwest::Response) -> Value {
    let status = resp.status().as_u16();
    let mut headers = serde_json::Map::new();
    if let Some(ct) = resp.headers().get("content-type") {
        headers.insert("content-type".into(), json!(ct.to_str().unwrap_or("")));
    }
    if let Some(cc) = resp.headers().get("cache-control") {
        headers.insert("cache-control".into(), json!(cc.to_str().unwrap_or("")));
    }
    let warnings: Vec<String> = resp
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    if !warnings.is_empty() {
        headers.insert("warning".into(), json!(warnings));
    }
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text.clone()));
    json!({"status": status, "headers": headers, "body": body, "_raw": text})
}

impl Outcome {
    /// `ours` may carry its raw text under `_raw`.
    fn new(id: String, recorded: Value, mut ours: Value) -> Outcome {
        let raw = ours
            .as_object_mut()
            .and_then(|m| m.remove("_raw"))
            .and_then(|r| r.as_str().map(String::from))
            .unwrap_or_default();
        Outcome {
            id,
            sent_continue: None,
            recorded,
            ours,
            raw,
        }
    }
}

async fn watch(
    sim: &Sim,
    http: &reqwest::Client,
    b: &mut Bindings,
    ex: &Value,
    outcomes: &mut Vec<Outcome>,
    file: &str,
    idx: &str,
) -> Value {
    let mut resp = send(sim, http, b, &ex["request"]).await;
    let status = resp.status().as_u16();
    let secs = ex["recorded_seconds"].as_f64().unwrap_or(2.0).min(7.0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(secs + 0.5);
    let mut buf = Vec::new();
    let during = ex["during"].as_array().cloned().unwrap_or_default();
    let reader = async {
        while let Ok(Ok(Some(c))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
            buf.extend_from_slice(&c);
        }
        buf
    };
    let writer = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut res = Vec::new();
        for (i, d) in during.iter().enumerate() {
            let r = response_json(
                send(sim, http, &Bindings { map: b.map.clone() }, &d["request"]).await,
            )
            .await;
            res.push((i, d.clone(), r));
        }
        res
    };
    let (buf, res) = tokio::join!(reader, writer);
    for (i, d, r) in res {
        b.learn(&d["response"]["body"], &r["body"]);
        outcomes.push(Outcome::new(
            format!("{file}#{idx}.during{i}"),
            compared(&d["response"]),
            r,
        ));
    }
    let events: Vec<Value> = String::from_utf8_lossy(&buf)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let raw = String::from_utf8_lossy(&buf).into_owned();
    json!({"status": status, "headers": {"content-type": "application/json"}, "events": events, "_raw": raw})
}

/// The recorded response with only the headers [`response_json`] reads from ours.
fn compared(response: &Value) -> Value {
    let mut recorded = response.clone();
    if let Some(h) = recorded["headers"].as_object_mut() {
        h.retain(|k, _| k == "content-type" || k == "warning" || k == "cache-control");
    }
    recorded
}

fn baseline_namespaces(exchanges: &[Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut created = BTreeSet::new();
    let mut scan = |e: &Value| {
        let path = e["request"]["path"].as_str().unwrap_or("");
        if let Some(rest) = path.split("/namespaces/").nth(1) {
            let ns = rest.split('/').next().unwrap_or("");
            if ns.starts_with("golden-") {
                out.insert(ns.to_string());
            }
        }
        if path == "/api/v1/namespaces"
            && e["request"]["method"] == "POST"
            && let Some(n) = e["request"]["body"]["metadata"]["name"].as_str()
        {
            created.insert(n.to_string());
        }
    };
    for e in exchanges {
        scan(e);
        for d in e["during"].as_array().into_iter().flatten() {
            scan(d);
        }
    }
    out.difference(&created).cloned().collect()
}

/// CRDs the recorded cluster already had (from other setups; the README names
/// `externalsecrets.kubernetes-client.io`): custom groups that aggregated discovery answers show
/// but no request of the file creates. Rebuilt from what discovery says about them, with an
/// open schema.
fn baseline_crds(exchanges: &[Value]) -> Vec<Value> {
    let created: BTreeSet<&str> = exchanges
        .iter()
        .filter_map(|e| e["request"]["body"]["spec"]["group"].as_str())
        .collect();
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    let items = exchanges
        .iter()
        .filter(|e| e["response"]["body"]["kind"] == "APIGroupDiscoveryList")
        .flat_map(|e| {
            e["response"]["body"]["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        });
    for item in items {
        let group = item["metadata"]["name"].as_str().unwrap_or("");
        if group.is_empty() || created.contains(group) {
            continue;
        }
        for (i, v) in item["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            for r in v["resources"].as_array().into_iter().flatten() {
                if r["responseKind"]["group"] != group {
                    continue;
                }
                let plural = r["resource"].as_str().unwrap_or("");
                let status = r["subresources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| s["subresource"] == "status");
                let crd = out.entry(format!("{plural}.{group}")).or_insert_with(|| {
                    let mut names = json!({"plural": plural, "singular": r["singularResource"], "kind": r["responseKind"]["kind"]});
                    for k in ["shortNames", "categories"] {
                        if r[k].is_array() {
                            names[k] = r[k].clone();
                        }
                    }
                    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                        "metadata": {"name": format!("{plural}.{group}")},
                        "spec": {"group": group, "scope": r["scope"], "names": names, "versions": []}})
                });
                let mut ver = json!({"name": v["version"], "served": true, "storage": i == 0,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}});
                if status {
                    ver["subresources"] = json!({"status": {}});
                }
                let versions = crd["spec"]["versions"].as_array_mut().unwrap();
                if !versions.iter().any(|x| x["name"] == ver["name"]) {
                    versions.push(ver);
                }
            }
        }
    }
    out.into_values().collect()
}

/// Values that depend on the recording's wall clock and cannot be replayed: Table cells of
/// date columns (ages such as "1s"), and the order of managedFields entries, which the apiserver
/// sorts by the (normalized-away) second of their time. Both sides get the same treatment.
fn clock_independent(v: &mut Value) {
    if let Some(cols) = v["columnDefinitions"].as_array() {
        let dates: Vec<usize> = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c["format"] == "date"
                    || matches!(c["name"].as_str(), Some("Age" | "Last Seen" | "First Seen"))
            })
            .map(|(i, _)| i)
            .collect();
        for row in v["rows"].as_array_mut().into_iter().flatten() {
            for &i in &dates {
                if let Some(c) = row["cells"].get_mut(i).filter(|c| c.is_string()) {
                    *c = json!("<age>");
                }
            }
        }
    }
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(entries)) = m.get_mut("managedFields") {
                entries.sort_by_key(|e| {
                    (
                        e["operation"].as_str().unwrap_or("").to_string(),
                        e["manager"].as_str().unwrap_or("").to_string(),
                        e["subresource"].as_str().unwrap_or("").to_string(),
                    )
                });
            }
            m.values_mut().for_each(clock_independent);
        }
        Value::Array(a) => a.iter_mut().for_each(clock_independent),
        _ => {}
    }
}

fn compare(recorded: &Value, ours: &Value, path: &str, diffs: &mut Vec<String>) {
    match (recorded, ours) {
        (Value::Object(r), Value::Object(o)) => {
            for (k, rv) in r {
                match o.get(k) {
                    Some(ov) => compare(rv, ov, &format!("{path}.{k}"), diffs),
                    None => diffs.push(format!("  {path}.{k}: missing (want {})", short(rv))),
                }
            }
            for k in o.keys().filter(|k| !r.contains_key(*k)) {
                diffs.push(format!("  {path}.{k}: unexpected {}", short(&o[k])));
            }
        }
        (Value::Array(r), Value::Array(o)) if r.len() == o.len() => {
            for (i, (a, b)) in r.iter().zip(o).enumerate() {
                compare(a, b, &format!("{path}[{i}]"), diffs);
            }
        }
        (Value::Array(r), Value::Array(o)) if std::env::var("GOLDEN_DEBUG").is_ok() => {
            eprintln!(
                "{path}: want len {} got len {}\n want {}\n got {}",
                r.len(),
                o.len(),
                serde_json::to_string(r).unwrap(),
                serde_json::to_string(o).unwrap()
            );
            diffs.push(format!("  {path}: length"));
        }
        _ if recorded != ours => diffs.push(format!(
            "  {path}: want {} got {}",
            short(recorded),
            short(ours)
        )),
        _ => {}
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 160 && std::env::var("GOLDEN_FULL").is_err() {
        format!(
            "{}…",
            &s[..s.char_indices().nth(160).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

async fn run_file(
    path: &PathBuf,
    crd: &Value,
    skips: &HashMap<String, String>,
) -> (usize, usize, Vec<String>) {
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let raw: RawFile = serde_json::from_str(&text).unwrap();
    let mut exchanges = doc["exchanges"].as_array().cloned().unwrap_or_default();
    for (e, r) in exchanges.iter_mut().zip(&raw.exchanges) {
        attach_raw(e, r);
    }
    let sim = Sim::start_with(SimOptions {
        controllers: false,
        port: 0,
        // The recorded cluster had them, but no recorded answer shows them.
        system_namespaces: false,
    })
    .await
    .unwrap();
    sim.set_server_address(RECORDED_SERVER);
    let pki = Pki::new(&[]).unwrap();
    let webhooks = testwebhooks::golden_webhooks(&pki).await.unwrap();
    sim.map_address(RECORDED_WEBHOOK, webhooks.addr);
    let client = sim.client();
    let mut setup_rvs: Vec<String> = Vec::new();
    for ns in baseline_namespaces(&exchanges) {
        let mut labels = BTreeMap::new();
        if ns == "golden-09" {
            labels.insert("golden-webhooks".to_string(), "enabled".to_string());
        }
        let nsobj = k8s_openapi::api::core::v1::Namespace {
            metadata: kube::api::ObjectMeta {
                name: Some(ns.clone()),
                labels: Some(labels),
                ..Default::default()
            },
            ..Default::default()
        };
        let created = kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
            .create(&Default::default(), &nsobj)
            .await
            .unwrap();
        if let Some(rv) = created.metadata.resource_version {
            setup_rvs.push(rv);
        }
    }
    for c in baseline_crds(&exchanges) {
        sim.install_crds(&[serde_json::from_value(c).unwrap()])
            .await
            .unwrap();
    }
    let text = serde_json::to_string(&exchanges).unwrap();
    let creates_crd = exchanges
        .iter()
        .any(|e| e["request"]["body"]["metadata"]["name"] == "widgets.example.test");
    if text.contains("example.test") && !creates_crd {
        sim.install_crds(&[serde_json::from_value(crd.clone()).unwrap()])
            .await
            .unwrap();
    }
    let http = reqwest::Client::new();
    let mut b = Bindings::default();
    b.map.insert("<pem>".into(), pki.ca_bundle());
    // A resourceVersion a request sends that no recorded object carries came from the
    // recorder's own setup (the namespace; answers may only echo it in a message): stand in
    // ours, and rank it with the rest.
    let (mut requests, mut answers) = (Vec::new(), Vec::new());
    for e in &exchanges {
        requests.push(e["request"].clone());
        answers.extend([
            e["response"].clone(),
            e["events"].clone(),
            e["observed_by_webhook"].clone(),
        ]);
        for d in e["during"].as_array().into_iter().flatten() {
            requests.push(d["request"].clone());
            answers.push(d["response"].clone());
        }
    }
    let requests = serde_json::to_string(&requests).unwrap();
    let answers = serde_json::to_string(&answers).unwrap();
    let mut extra_rvs = BTreeSet::new();
    if requests.contains("<rv:1>")
        && !answers.contains(r#""resourceVersion":"<rv:1>""#)
        && let Some(rv) = setup_rvs.first()
    {
        b.map.insert("<rv:1>".into(), rv.clone());
        extra_rvs.extend(rv.parse::<u64>().ok());
    }
    let background = normalize::background_writes(&exchanges);
    let mut observed: std::collections::VecDeque<testwebhooks::Observed> = Default::default();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut total = 0;
    for (i, ex) in exchanges.iter().enumerate() {
        let id = format!("{file}#{i}");
        total += 1 + ex["during"].as_array().map(|a| a.len()).unwrap_or(0);
        if ex.get("observed_by_webhook").is_some() {
            let o = observed.pop_front().unwrap_or_default();
            outcomes.push(Outcome {
                id,
                sent_continue: None,
                recorded: json!({"path": ex["webhook_path"], "observed": ex["observed_by_webhook"]}),
                ours: json!({"path": o.path, "observed": o.review}),
                raw: o.raw,
            });
            continue;
        }
        observed.clear();
        if ex["request"].is_null() {
            let name = ex["name"].as_str().unwrap_or("");
            if name.contains("kube-controller-manager") {
                sim.set_controllers(true);
            }
            outcomes.push(Outcome::new(id, json!("marker"), json!("marker")));
            continue;
        }
        // A skipped write the recorded server refused changed nothing there; replaying it
        // anyway could change our state (when we cannot reproduce the refusal) and shift every
        // later exchange. (Reads change nothing, so they are replayed.)
        let refused = ex["response"]["status"].as_u64().is_some_and(|s| s >= 400);
        let write = ex["request"]["method"] != "GET";
        if skips.contains_key(&id) && refused && write && ex["during"].is_null() {
            outcomes.push(Outcome::new(id, json!("skipped"), json!("skipped")));
            continue;
        }
        sim.settle().await;
        for _ in 0..background.get(&i).copied().unwrap_or(0) {
            sim.background_write();
        }
        if ex.get("events").is_some() || ex["during"].is_array() {
            let ours = watch(
                &sim,
                &http,
                &mut b,
                ex,
                &mut outcomes,
                &file,
                &i.to_string(),
            )
            .await;
            let mut recorded = json!({"status": ex["response"]["status"], "headers": {"content-type": ex["response"]["headers"]["content-type"]}, "events": ex["events"]});
            if ex.get("events").is_none() {
                recorded["body"] = ex["response"]["body"].clone();
            }
            outcomes.push(Outcome::new(id, recorded, ours));
            continue;
        }
        let sent_continue = ex["request"]["query"]["continue"]
            .as_str()
            .map(|c| b.subst(c));
        let ours = response_json(send(&sim, &http, &b, &ex["request"]).await).await;
        observed.extend(webhooks.drain());
        b.learn(&ex["response"]["body"], &ours["body"]);
        let mut o = Outcome::new(id, compared(&ex["response"]), ours);
        o.sent_continue = sent_continue;
        outcomes.push(o);
    }
    // Normalize our answers file-wide, like the recording was.
    let mut n = Normalizer::new();
    let mut rvs = extra_rvs;
    for o in &outcomes {
        n.collect_rvs(&o.ours, &mut rvs);
    }
    n.set_rvs(&rvs);
    let mut matched = 0;
    let mut report = Vec::new();
    for mut o in outcomes {
        if let Some(c) = &o.sent_continue {
            n.register_continue(c);
        }
        if let Some(reason) = skips.get(&o.id) {
            report.push(format!("SKIP {}: {reason}", o.id));
            continue;
        }
        // The apiserver writes `request.uid` first; our serializer sorts keys.
        if let Some(u) = o.ours["observed"]["request"]["uid"].as_str() {
            n.register_uids(u);
        }
        n.register_uids(&o.raw);
        n.value(&mut o.ours, "");
        clock_independent(&mut o.recorded);
        clock_independent(&mut o.ours);
        let mut diffs = Vec::new();
        compare(&o.recorded, &o.ours, "", &mut diffs);
        if diffs.is_empty() {
            matched += 1;
        } else {
            diffs.truncate(8);
            report.push(format!("DIFF {}\n{}", o.id, diffs.join("\n")));
        }
    }
    (matched, total, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_exchanges() {
    let dir = golden_dir();
    let skips = skips();
    let crd02: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("02-crd-schema.json")).unwrap())
            .unwrap();
    let crd = crd02["exchanges"][0]["request"]["body"].clone();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let only = std::env::var("GOLDEN_ONLY").ok();
    let verbose = std::env::var("GOLDEN_VERBOSE").is_ok();
    let (mut m, mut t) = (0, 0);
    let mut incomplete = Vec::new();
    let mut per_file = Vec::new();
    for f in &files {
        if only
            .as_deref()
            .is_some_and(|o| !f.to_string_lossy().contains(o))
        {
            continue;
        }
        let (fm, ft, report) = run_file(f, &crd, &skips).await;
        per_file.push(format!(
            "  {}: {fm}/{ft}",
            f.file_name().unwrap().to_string_lossy()
        ));
        if verbose {
            for r in report {
                eprintln!("{r}");
            }
        }
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if MUST_MATCH.iter().any(|p| name.starts_with(p)) && fm < ft {
            incomplete.push(format!("{name} {fm}/{ft}"));
        }
        m += fm;
        t += ft;
    }
    eprintln!("{}", per_file.join("\n"));
    println!("golden exchanges matched {m}/{t}");
    assert!(
        incomplete.is_empty(),
        "every exchange of these files must match: {incomplete:?}"
    );
    assert!(
        only.is_some() || m >= RATCHET,
        "golden regression: {m} matched, ratchet is {RATCHET}"
    );
    // Issue #13: kubesim answers at least 95% of the recorded exchanges like the real apiserver.
    assert!(
        only.is_some() || m * 100 >= 95 * t,
        "golden coverage below 95%: {m}/{t}"
    );
}
