//! Secret Manager v1 resources: secrets and versions, global and regional.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::listing::{matches_term, paged, parse_filter};
use super::{Access, FakeState, google_error, google_error_status, json_response};

/// Largest payload Secret Manager stores (64 KiB).
const MAX_PAYLOAD: usize = 65536;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionState {
    Enabled,
    Disabled,
    Destroyed,
}

impl VersionState {
    fn as_str(self) -> &'static str {
        match self {
            VersionState::Enabled => "ENABLED",
            VersionState::Disabled => "DISABLED",
            VersionState::Destroyed => "DESTROYED",
        }
    }
}

#[derive(Clone, Debug)]
struct VersionRec {
    n: u64,
    data: Vec<u8>,
    state: VersionState,
    create_time: String,
}

#[derive(Clone, Debug)]
struct SecretRec {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    replication: Option<Value>,
    create_time: String,
    etag: u64,
    versions: Vec<VersionRec>,
}

/// A copy of a stored secret, for assertions.
#[derive(Clone, Debug)]
pub struct SecretSnapshot {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `None` for regional secrets.
    pub replication: Option<Value>,
    /// (number, state, payload), oldest first.
    pub versions: Vec<(u64, VersionState, Vec<u8>)>,
}

impl SecretSnapshot {
    /// Payload of the newest version, as text.
    pub fn latest_text(&self) -> Option<String> {
        self.versions
            .last()
            .map(|(_, _, d)| String::from_utf8_lossy(d).into_owned())
    }
}

type Key = (u64, String, String);

#[derive(Default)]
pub(crate) struct Store {
    secrets: BTreeMap<Key, SecretRec>,
    etags: u64,
}

fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

impl Store {
    fn next_etag(&mut self) -> u64 {
        self.etags += 1;
        self.etags
    }

    pub(super) fn seed(
        &mut self,
        project: u64,
        location: Option<&str>,
        name: &str,
        labels: &[(&str, &str)],
        annotations: &[(&str, &str)],
        versions: &[&[u8]],
    ) {
        let etag = self.next_etag();
        let strings = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        self.secrets.insert(
            (project, location.unwrap_or("").into(), name.into()),
            SecretRec {
                labels: strings(labels),
                annotations: strings(annotations),
                replication: location.is_none().then(|| json!({"automatic": {}})),
                create_time: timestamp(),
                etag,
                versions: versions
                    .iter()
                    .enumerate()
                    .map(|(i, d)| VersionRec {
                        n: i as u64 + 1,
                        data: d.to_vec(),
                        state: VersionState::Enabled,
                        create_time: timestamp(),
                    })
                    .collect(),
            },
        );
    }

    pub(super) fn set_state(
        &mut self,
        project: u64,
        location: Option<&str>,
        name: &str,
        version: u64,
        state: VersionState,
    ) {
        if let Some(v) = self
            .secrets
            .get_mut(&(project, location.unwrap_or("").into(), name.into()))
            .and_then(|s| s.versions.iter_mut().find(|v| v.n == version))
        {
            v.state = state;
            if state == VersionState::Destroyed {
                v.data.clear();
            }
        }
    }

    pub(super) fn snapshot(
        &self,
        project: u64,
        location: Option<&str>,
        name: &str,
    ) -> Option<SecretSnapshot> {
        let s = self
            .secrets
            .get(&(project, location.unwrap_or("").into(), name.into()))?;
        Some(SecretSnapshot {
            labels: s.labels.clone(),
            annotations: s.annotations.clone(),
            replication: s.replication.clone(),
            versions: s
                .versions
                .iter()
                .map(|v| (v.n, v.state, v.data.clone()))
                .collect(),
        })
    }
}

/// CRC32C (Castagnoli), which Secret Manager uses for `dataCrc32c`.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A parsed resource path below `/v1/`.
struct Path {
    project: String,
    location: Option<String>,
    secret: Option<String>,
    versions: bool,
    version: Option<String>,
    verb: Option<String>,
}

fn parse_path(rest: &str) -> Option<Path> {
    let mut segs: Vec<&str> = rest.split('/').collect();
    let mut verb = None;
    if let Some(last) = segs.last_mut()
        && let Some((id, v)) = last.split_once(':')
    {
        verb = Some(v.to_string());
        *last = id;
    }
    let mut it = segs.into_iter();
    if it.next()? != "projects" {
        return None;
    }
    let project = it.next()?.to_string();
    let mut next = it.next()?;
    let mut location = None;
    if next == "locations" {
        location = Some(it.next()?.to_string());
        next = it.next()?;
    }
    if next != "secrets" {
        return None;
    }
    let secret = it.next().map(str::to_string);
    let versions = match it.next() {
        None => false,
        Some("versions") => true,
        Some(_) => return None,
    };
    let version = it.next().map(str::to_string);
    if it.next().is_some() {
        return None;
    }
    Some(Path {
        project,
        location,
        secret,
        versions,
        version,
        verb,
    })
}

fn valid_secret_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn valid_label(k: &str, v: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    k.len() <= 63
        && k.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && k.chars().all(ok)
        && v.len() <= 63
        && v.chars().all(ok)
}

fn valid_annotation_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 63
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

fn string_map(v: &Value) -> Option<BTreeMap<String, String>> {
    match v {
        Value::Null => Some(BTreeMap::new()),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect(),
        _ => None,
    }
}

fn secret_name(project: u64, location: &str, id: &str) -> String {
    if location.is_empty() {
        format!("projects/{project}/secrets/{id}")
    } else {
        format!("projects/{project}/locations/{location}/secrets/{id}")
    }
}

fn secret_json(name: &str, s: &SecretRec) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if let Some(r) = &s.replication {
        m.insert("replication".into(), r.clone());
    }
    m.insert("createTime".into(), json!(s.create_time));
    if !s.labels.is_empty() {
        m.insert("labels".into(), json!(s.labels));
    }
    if !s.annotations.is_empty() {
        m.insert("annotations".into(), json!(s.annotations));
    }
    m.insert("etag".into(), json!(format!("\"{}\"", s.etag)));
    Value::Object(m)
}

fn version_json(secret: &str, v: &VersionRec) -> Value {
    json!({
        "name": format!("{secret}/versions/{}", v.n),
        "createTime": v.create_time,
        "state": v.state.as_str(),
        "etag": format!("\"v{}\"", v.n),
    })
}

fn denied(permission: &str, resource: &str) -> Response {
    google_error_status(
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        &format!(
            "Permission '{permission}' denied for resource '{resource}' (or it may not exist)."
        ),
    )
}

fn not_found(what: &str) -> Response {
    google_error(StatusCode::NOT_FOUND, what)
}

/// Routes one Secret Manager request.
pub(super) fn handle(
    s: &mut FakeState,
    method: &Method,
    headers: &HeaderMap,
    rest: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Response {
    let Some(p) = parse_path(rest) else {
        return google_error(
            StatusCode::NOT_FOUND,
            &format!("The requested URL /v1/{rest} was not found on this server."),
        );
    };
    // Which call, which permission, read or write.
    let (call, permission, need) = match (
        method.clone(),
        p.secret.is_some(),
        p.versions,
        p.version.is_some(),
        p.verb.as_deref(),
    ) {
        (Method::GET, false, _, _, None) => {
            ("ListSecrets", "secretmanager.secrets.list", Access::Read)
        }
        (Method::POST, false, _, _, None) => (
            "CreateSecret",
            "secretmanager.secrets.create",
            Access::Write,
        ),
        (Method::GET, true, false, _, None) => {
            ("GetSecret", "secretmanager.secrets.get", Access::Read)
        }
        (Method::PATCH, true, false, _, None) => (
            "UpdateSecret",
            "secretmanager.secrets.update",
            Access::Write,
        ),
        (Method::DELETE, true, false, _, None) => (
            "DeleteSecret",
            "secretmanager.secrets.delete",
            Access::Write,
        ),
        (Method::POST, true, false, _, Some("addVersion")) => (
            "AddSecretVersion",
            "secretmanager.versions.add",
            Access::Write,
        ),
        (Method::GET, true, true, false, None) => (
            "ListSecretVersions",
            "secretmanager.versions.list",
            Access::Read,
        ),
        (Method::GET, true, true, true, None) => (
            "GetSecretVersion",
            "secretmanager.versions.get",
            Access::Read,
        ),
        (Method::GET, true, true, true, Some("access")) => (
            "AccessSecretVersion",
            "secretmanager.versions.access",
            Access::Read,
        ),
        (Method::POST, true, true, true, Some("enable")) => (
            "EnableSecretVersion",
            "secretmanager.versions.enable",
            Access::Write,
        ),
        (Method::POST, true, true, true, Some("disable")) => (
            "DisableSecretVersion",
            "secretmanager.versions.disable",
            Access::Write,
        ),
        (Method::POST, true, true, true, Some("destroy")) => (
            "DestroySecretVersion",
            "secretmanager.versions.destroy",
            Access::Write,
        ),
        _ => {
            return google_error(
                StatusCode::NOT_FOUND,
                &format!("The requested URL /v1/{rest} was not found on this server."),
            );
        }
    };
    s.count(call);
    // Per project too, so that tests sharing one fake count their own calls.
    s.count(&format!("{call}@{}", p.project));
    let principal = match s.authenticate(headers) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let resource = rest.split(':').next().unwrap_or(rest).to_string();
    let Some(project) = s.project_number(&p.project) else {
        return denied(permission, &resource);
    };
    if !s.allowed(&principal, project, need) {
        return denied(permission, &resource);
    }
    let loc = p.location.clone().unwrap_or_default();
    let page_default = s.default_page_size;
    let store = &mut s.sm;
    let Some(id) = p.secret.clone() else {
        return if *method == Method::GET {
            list_secrets(store, project, &loc, query, page_default)
        } else {
            create_secret(store, project, &loc, query, body)
        };
    };
    let name = secret_name(project, &loc, &id);
    let key = (project, loc.clone(), id.clone());
    match call {
        "GetSecret" => match store.secrets.get(&key) {
            Some(sec) => json_response(secret_json(&name, sec)),
            None => not_found(&format!("Secret [{name}] not found.")),
        },
        "UpdateSecret" => update_secret(store, &key, &name, query, body),
        "DeleteSecret" => {
            let Some(sec) = store.secrets.get(&key) else {
                return not_found(&format!("Secret [{name}] not found."));
            };
            if let Some(etag) = query.get("etag")
                && *etag != format!("\"{}\"", sec.etag)
            {
                return google_error_status(
                    StatusCode::CONFLICT,
                    "ABORTED",
                    "The etag provided in the request does not match the current etag of the resource.",
                );
            }
            store.secrets.remove(&key);
            json_response(json!({}))
        }
        "AddSecretVersion" => add_version(store, &key, &name, body),
        "ListSecretVersions" => {
            let Some(sec) = store.secrets.get(&key) else {
                return not_found(&format!("Secret [{name}] not found."));
            };
            let terms = match parse_filter(query.get("filter").map(String::as_str).unwrap_or("")) {
                Ok(t) => t,
                Err(e) => return google_error(StatusCode::BAD_REQUEST, &e),
            };
            let mut all = Vec::new();
            for v in sec.versions.iter().rev() {
                let mut keep = true;
                for t in &terms {
                    match matches_term(
                        t,
                        |f| (f == "state").then(|| v.state.as_str().to_string()),
                        |_| None,
                    ) {
                        Ok(h) => keep &= h,
                        Err(e) => return google_error(StatusCode::BAD_REQUEST, &e),
                    }
                }
                if keep {
                    all.push(version_json(&name, v));
                }
            }
            paged(all, "versions", query, page_default)
        }
        _ => {
            let Some(sec) = store.secrets.get_mut(&key) else {
                return not_found(&format!("Secret [{name}] not found or has no versions."));
            };
            let wanted = p.version.clone().unwrap_or_default();
            let found = if wanted == "latest" {
                sec.versions.last_mut()
            } else {
                match wanted.parse::<u64>() {
                    Ok(n) => sec.versions.iter_mut().find(|v| v.n == n),
                    Err(_) => {
                        return google_error(
                            StatusCode::BAD_REQUEST,
                            &format!(
                                "Invalid resource field value in the request: version {wanted:?}"
                            ),
                        );
                    }
                }
            };
            let Some(v) = found else {
                return if wanted == "latest" {
                    not_found(&format!("Secret [{name}] not found or has no versions."))
                } else {
                    not_found(&format!(
                        "Secret Version [{name}/versions/{wanted}] not found."
                    ))
                };
            };
            match call {
                "GetSecretVersion" => json_response(version_json(&name, v)),
                "AccessSecretVersion" => {
                    if v.state != VersionState::Enabled {
                        return google_error_status(
                            StatusCode::BAD_REQUEST,
                            "FAILED_PRECONDITION",
                            &format!(
                                "Secret Version [{name}/versions/{}] is in {} state.",
                                v.n,
                                v.state.as_str()
                            ),
                        );
                    }
                    json_response(json!({
                        "name": format!("{name}/versions/{}", v.n),
                        "payload": {
                            "data": STANDARD.encode(&v.data),
                            "dataCrc32c": crc32c(&v.data).to_string()
                        }
                    }))
                }
                _ => {
                    let target = match call {
                        "EnableSecretVersion" => VersionState::Enabled,
                        "DisableSecretVersion" => VersionState::Disabled,
                        _ => VersionState::Destroyed,
                    };
                    if v.state == VersionState::Destroyed && target != VersionState::Destroyed {
                        return google_error_status(
                            StatusCode::BAD_REQUEST,
                            "FAILED_PRECONDITION",
                            &format!(
                                "Secret Version [{name}/versions/{}] is in DESTROYED state.",
                                v.n
                            ),
                        );
                    }
                    v.state = target;
                    if target == VersionState::Destroyed {
                        v.data.clear();
                    }
                    let out = version_json(&name, v);
                    json_response(out)
                }
            }
        }
    }
}

fn list_secrets(
    store: &Store,
    project: u64,
    loc: &str,
    query: &BTreeMap<String, String>,
    default: usize,
) -> Response {
    let terms = match parse_filter(query.get("filter").map(String::as_str).unwrap_or("")) {
        Ok(t) => t,
        Err(e) => return google_error(StatusCode::BAD_REQUEST, &e),
    };
    let mut all = Vec::new();
    for ((p, l, id), sec) in &store.secrets {
        if *p != project || l != loc {
            continue;
        }
        let name = secret_name(project, loc, id);
        let mut keep = true;
        for t in &terms {
            let hit = matches_term(
                t,
                |f| match f {
                    "name" => Some(name.clone()),
                    "create_time" => Some(sec.create_time.clone()),
                    _ => None,
                },
                |m| match m {
                    "labels" => Some(sec.labels.clone()),
                    "annotations" => Some(sec.annotations.clone()),
                    _ => None,
                },
            );
            match hit {
                Ok(h) => keep &= h,
                Err(e) => return google_error(StatusCode::BAD_REQUEST, &e),
            }
        }
        if keep {
            all.push(secret_json(&name, sec));
        }
    }
    paged(all, "secrets", query, default)
}

type Metadata = (BTreeMap<String, String>, BTreeMap<String, String>);

fn check_metadata(body: &Value) -> Result<Metadata, Response> {
    let labels = string_map(&body["labels"])
        .ok_or_else(|| google_error(StatusCode::BAD_REQUEST, "Invalid value at 'secret.labels'"))?;
    if labels.len() > 64 || labels.iter().any(|(k, v)| !valid_label(k, v)) {
        return Err(google_error(
            StatusCode::BAD_REQUEST,
            "Label keys must start with a lowercase letter and contain only lowercase letters, numeric characters, underscores and dashes; keys and values must be at most 63 characters.",
        ));
    }
    let annotations = string_map(&body["annotations"]).ok_or_else(|| {
        google_error(
            StatusCode::BAD_REQUEST,
            "Invalid value at 'secret.annotations'",
        )
    })?;
    let size: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > 16384 || annotations.keys().any(|k| !valid_annotation_key(k)) {
        return Err(google_error(
            StatusCode::BAD_REQUEST,
            "Annotation keys must be at most 63 characters of letters, digits, '-', '_', '.' and '/'; annotations may total at most 16 KiB.",
        ));
    }
    Ok((labels, annotations))
}

fn create_secret(
    store: &mut Store,
    project: u64,
    loc: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Response {
    let id = query.get("secretId").cloned().unwrap_or_default();
    if !valid_secret_id(&id) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "Secret ID must be 1-255 characters of letters, numbers, underscores and hyphens.",
        );
    }
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return google_error(StatusCode::BAD_REQUEST, "Invalid JSON payload received.");
    };
    let replication = req.get("replication").filter(|r| !r.is_null()).cloned();
    if loc.is_empty() {
        let ok = match &replication {
            Some(r) => {
                r.get("automatic").is_some_and(Value::is_object)
                    || r["userManaged"]["replicas"].as_array().is_some_and(|a| {
                        !a.is_empty() && a.iter().all(|x| x["location"].is_string())
                    })
            }
            None => false,
        };
        if !ok {
            return google_error(
                StatusCode::BAD_REQUEST,
                "Secret.replication must set automatic or userManaged with at least one replica.",
            );
        }
    } else if replication.is_some() {
        return google_error(
            StatusCode::BAD_REQUEST,
            "Regional secrets do not take a replication policy.",
        );
    }
    let (labels, annotations) = match check_metadata(&req) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let key = (project, loc.to_string(), id.clone());
    let name = secret_name(project, loc, &id);
    if store.secrets.contains_key(&key) {
        return google_error(
            StatusCode::CONFLICT,
            &format!("Secret [{name}] already exists."),
        );
    }
    let etag = store.next_etag();
    let rec = SecretRec {
        labels,
        annotations,
        replication,
        create_time: timestamp(),
        etag,
        versions: Vec::new(),
    };
    let out = secret_json(&name, &rec);
    store.secrets.insert(key, rec);
    json_response(out)
}

fn update_secret(
    store: &mut Store,
    key: &Key,
    name: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Response {
    let Some(mask) = query.get("updateMask").filter(|m| !m.is_empty()) else {
        return google_error(StatusCode::BAD_REQUEST, "update_mask is required.");
    };
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return google_error(StatusCode::BAD_REQUEST, "Invalid JSON payload received.");
    };
    let (labels, annotations) = match check_metadata(&req) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let etag = store.next_etag();
    let Some(sec) = store.secrets.get_mut(key) else {
        return not_found(&format!("Secret [{name}] not found."));
    };
    if let Some(e) = req["etag"].as_str()
        && e != format!("\"{}\"", sec.etag)
    {
        return google_error_status(
            StatusCode::CONFLICT,
            "ABORTED",
            "The etag provided in the request does not match the current etag of the resource.",
        );
    }
    for field in mask.split(',') {
        match field.trim() {
            "labels" => sec.labels = labels.clone(),
            "annotations" => sec.annotations = annotations.clone(),
            other => {
                return google_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Invalid update_mask path: {other}"),
                );
            }
        }
    }
    sec.etag = etag;
    json_response(secret_json(name, sec))
}

fn add_version(store: &mut Store, key: &Key, name: &str, body: &[u8]) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return google_error(StatusCode::BAD_REQUEST, "Invalid JSON payload received.");
    };
    let Some(data) = req["payload"]["data"].as_str() else {
        return google_error(StatusCode::BAD_REQUEST, "Secret Payload cannot be empty.");
    };
    let Ok(data) = STANDARD.decode(data) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "Invalid value at 'payload.data' (TYPE_BYTES), Base64 decoding failed",
        );
    };
    if data.is_empty() {
        return google_error(StatusCode::BAD_REQUEST, "Secret Payload cannot be empty.");
    }
    if data.len() > MAX_PAYLOAD {
        return google_error(
            StatusCode::BAD_REQUEST,
            "Secret Payload cannot be larger than 65536 bytes.",
        );
    }
    if let Some(crc) = req["payload"].get("dataCrc32c").filter(|c| !c.is_null()) {
        let given = crc
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .or_else(|| crc.as_u64());
        if given != Some(u64::from(crc32c(&data))) {
            return google_error(StatusCode::BAD_REQUEST, "Checksum mismatch.");
        }
    }
    let Some(sec) = store.secrets.get_mut(key) else {
        return not_found(&format!("Secret [{name}] not found."));
    };
    let n = sec.versions.last().map_or(1, |v| v.n + 1);
    sec.versions.push(VersionRec {
        n,
        data,
        state: VersionState::Enabled,
        create_time: timestamp(),
    });
    let v = sec.versions.last().cloned();
    match v {
        Some(v) => json_response(version_json(name, &v)),
        None => google_error(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}
