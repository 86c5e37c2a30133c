//! Render cost of a typical ESO template (10 keys, b64dec/toJson/printf), parsed once.
//! Target: < 20 µs per render. Run: `cargo bench -p shared --bench template`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::template::{Options, Template, Value};

const TEXT: &str = r#"{{- $cfg := dict "user" .user "host" .host "port" .port -}}
user: {{ .user }}
password: {{ .password_b64 | b64dec }}
dsn: {{ printf "postgres://%s:%s@%s:%s/%s" .user (.password_b64 | b64dec) .host .port .db }}
config: {{ $cfg | toJson }}
api_key: {{ .api_key | upper }}
{{ range $k, $v := .labels | fromJson }}{{ $k }}={{ $v }};{{ end }}
region: {{ .region | default "us-east-1" }}
token: {{ index . "token-id" }}
"#;

fn data() -> Value {
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("user", "app"),
        ("password_b64", "c3VwZXItc2VjcmV0LXBhc3N3b3Jk"),
        ("host", "db.internal"),
        ("port", "5432"),
        ("db", "orders"),
        ("api_key", "abcdef0123456789"),
        ("labels", r#"{"team":"payments","tier":"gold"}"#),
        ("region", ""),
        ("token-id", "tok-42"),
        ("unused", "x"),
    ] {
        m.insert(k.to_string(), v.to_string());
    }
    Value::from(&m)
}

fn bench(c: &mut Criterion) {
    let t = Template::parse("bench", TEXT, &Options::default()).expect("template parses");
    let d = data();
    // A direct figure in addition to criterion's report.
    let n = 20_000;
    let start = Instant::now();
    for _ in 0..n {
        black_box(t.render(black_box(&d)).expect("renders"));
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("template render: {per:.2} µs per render (target < 20 µs)");
    c.bench_function("render_10_keys", |b| {
        b.iter(|| t.render(black_box(&d)).expect("renders"))
    });
    c.bench_function("parse_10_keys", |b| {
        b.iter(|| Template::parse("bench", black_box(TEXT), &Options::default()).expect("parses"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
