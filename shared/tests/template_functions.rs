//! Sprig / ESO function semantics, pinned from their documentation (Go has no sprig here, so
//! these are table tests, not differential ones). Every registered function must appear in at
//! least one case.

use std::collections::BTreeMap;

use shared::template::{Options, Template, Value, function_names, render_str};

/// (template, expected output). Data: see `data()`.
const EXACT: &[(&str, &str)] = &[
    // Go built-ins (also covered by the differential test)
    (
        r#"{{ and 1 2 }} {{ or 0 3 }} {{ not false }} {{ len "abc" }} {{ index .list 1 }}"#,
        "2 3 true 3 b",
    ),
    (
        r#"{{ print 1 2 }}|{{ printf "%05.1f" 3.14159 }}|{{ println "x" }}"#,
        "1 2|003.1|x\n",
    ),
    (
        r#"{{ eq 1 1 }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt 3 2 }} {{ ge 2 3 }}"#,
        "true true true true true false",
    ),
    (
        r#"{{ html "<b>" }} {{ js "'" }} {{ urlquery "a b" }}"#,
        "&lt;b&gt; \\' a+b",
    ),
    (r#"{{ hello }}"#, "Hello!"),
    // strings
    (
        r#"{{ abbrev 5 "hello world" }}|{{ abbrevboth 5 10 "1234 5678 9123" }}"#,
        "he...|...5678...",
    ),
    (
        r#"{{ trunc 5 "hello world" }}|{{ trunc -5 "hello world" }}"#,
        "hello|world",
    ),
    (
        r#"{{ trim "  x  " }}|{{ upper "ab" }}|{{ lower "AB" }}|{{ title "hello world" }}|{{ untitle "Hello World" }}"#,
        "x|AB|ab|Hello World|hello world",
    ),
    (
        r#"{{ substr 0 5 "hello world" }}|{{ repeat 3 "ab" }}"#,
        "hello|ababab",
    ),
    (
        r#"{{ trimAll "$" "$5.00$" }}|{{ trimall "-" "--x--" }}|{{ trimSuffix "-" "x-" }}|{{ trimPrefix "-" "-x" }}"#,
        "5.00|x|x|x",
    ),
    (
        r#"{{ nospace "a b  c" }}|{{ initials "First Try" }}|{{ swapcase "This Is A.Test" }}"#,
        "abc|FT|tHIS iS a.tEST",
    ),
    (
        r#"{{ snakecase "FirstName" }}|{{ camelcase "http_server" }}|{{ kebabcase "FirstName" }}"#,
        "first_name|HttpServer|first-name",
    ),
    (
        r#"{{ wrap 5 "Hello World" }}|{{ wrapWith 5 "\t" "Hello World" }}"#,
        "Hello\nWorld|Hello\tWorld",
    ),
    (
        r#"{{ contains "cat" "catch" }} {{ hasPrefix "ca" "cat" }} {{ hasSuffix "at" "cat" }}"#,
        "true true true",
    ),
    (
        r#"{{ quote "a" 1 }}|{{ squote "a" }}|{{ cat "hello" "beautiful" "world" }}"#,
        r#""a" "1"|'a'|hello beautiful world"#,
    ),
    (
        r#"{{ indent 2 "a\nb" }}|{{ nindent 2 "a" }}"#,
        "  a\n  b|\n  a",
    ),
    (
        r#"{{ replace " " "-" "I Am Henry" }}|{{ plural "one" "many" 1 }}|{{ plural "one" "many" 2 }}"#,
        "I-Am-Henry|one|many",
    ),
    (
        r#"{{ toString 42 }}|{{ 1.5 | toString }}|{{ toString nil }}"#,
        "42|1.5|<nil>",
    ),
    (
        r#"{{ $a := split "$" "foo$bar$baz" }}{{ $a._0 }}{{ $a._2 }}|{{ splitList "," "a,b" }}|{{ $b := splitn "$" 2 "foo$bar$baz" }}{{ $b._1 }}"#,
        "foobaz|[a b]|bar$baz",
    ),
    (
        r#"{{ sha1sum "Hello world!" }}"#,
        "d3486ae9136e7856bc42212385ea797094475802",
    ),
    (
        r#"{{ sha256sum "Hello world!" }}"#,
        "c0535e4be2b79ffd93291305436bf889314e4a3faec05ecffcbb7df31ad9e51a",
    ),
    (
        r#"{{ sha512sum "abc" | trunc 16 }}|{{ adler32sum "Hello world!" }}"#,
        "ddaf35a193617aba|487130206",
    ),
    // regex
    (
        r#"{{ regexMatch "^[a-z]+@x\\.com$" "a@x.com" }} {{ mustRegexMatch "a" "b" }}"#,
        "true false",
    ),
    (
        r#"{{ regexFindAll "[2,4,6,8]" "123456789" -1 }} {{ mustRegexFindAll "[2,4]" "1234" 1 }}"#,
        "[2 4 6 8] [2]",
    ),
    (
        r#"{{ regexFind "[a-zA-Z][1-9]" "abcd1234" }}|{{ mustRegexFind "x" "y" }}"#,
        "d1|",
    ),
    (
        r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}|{{ mustRegexReplaceAll "a" "aa" "b" }}"#,
        "-W-xxW-|bb",
    ),
    (
        r#"{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}|{{ mustRegexReplaceAllLiteral "a" "a" "$1" }}"#,
        "-${1}-${1}-|$1",
    ),
    (
        r#"{{ regexSplit "z+" "pizza" -1 }} {{ mustRegexSplit "z+" "pizza" 1 }} {{ regexQuoteMeta "1.2" }}"#,
        r"[pi a] [pizza] 1\.2",
    ),
    // paths and urls
    (
        r#"{{ base "foo/bar/baz" }} {{ dir "foo/bar/baz" }} {{ clean "foo/bar/../baz" }} {{ ext "foo.bar" }} {{ isAbs "/x" }}"#,
        "baz foo/bar foo/baz .bar true",
    ),
    (
        r#"{{ osBase "/a/b" }} {{ osDir "/a/b" }} {{ osClean "/a//b/" }} {{ osExt "x.tar.gz" }} {{ osIsAbs "a" }}"#,
        "b /a /a/b .gz false",
    ),
    (
        r#"{{ $u := urlParse "https://user@host.io:8080/p/a?q=1#f" }}{{ $u.scheme }} {{ $u.host }} {{ $u.hostname }} {{ $u.path }} {{ $u.query }} {{ $u.fragment }} {{ $u.userinfo }}"#,
        "https host.io:8080 host.io /p/a q=1 f user",
    ),
    (
        r#"{{ urlJoin (dict "scheme" "https" "host" "h.io" "path" "/x" "query" "a=b") }}"#,
        "https://h.io/x?a=b",
    ),
    // lists
    (
        r#"{{ list 1 "a" }} {{ tuple 1 }} {{ append .list "d" }} {{ push (list) 1 }} {{ prepend .list "z" }}"#,
        "[1 a] [1] [a b c d] [1] [z a b c]",
    ),
    (
        r#"{{ mustAppend .list "x" }} {{ mustPush .list "y" }} {{ mustPrepend .list "w" }}"#,
        "[a b c x] [a b c y] [w a b c]",
    ),
    (
        r#"{{ first .list }} {{ mustFirst .list }} {{ last .list }} {{ mustLast .list }}"#,
        "a a c c",
    ),
    (
        r#"{{ rest .list }} {{ mustRest .list }} {{ initial .list }} {{ mustInitial .list }}"#,
        "[b c] [b c] [a b] [a b]",
    ),
    (
        r#"{{ reverse .list }} {{ mustReverse .list }} {{ uniq (list 1 1 2) }} {{ mustUniq (list "a" "a") }}"#,
        "[c b a] [c b a] [1 2] [a]",
    ),
    (
        r#"{{ without .list "b" }} {{ mustWithout .list "a" "c" }} {{ has "b" .list }} {{ mustHas "z" .list }}"#,
        "[a c] [b] true false",
    ),
    (
        r#"{{ compact (list 1 "" 0 "x") }} {{ mustCompact (list nil "y") }}"#,
        "[1 x] [y]",
    ),
    (
        r#"{{ slice .list 1 }} {{ slice .list 0 2 }} {{ mustSlice .list 1 2 }}"#,
        "[b c] [a b] [b]",
    ),
    (
        r#"{{ chunk 2 .list }} {{ mustChunk 3 (list 1 2 3 4) }} {{ concat .list (list 1) }}"#,
        "[[a b] [c]] [[1 2 3] [4]] [a b c 1]",
    ),
    (
        r#"{{ join "," .list }} {{ sortAlpha (list "b" "a") }} {{ toStrings (list 1 2) }}"#,
        "a,b,c [a b] [1 2]",
    ),
    (
        r#"{{ until 3 }} {{ untilStep 0 10 4 }} {{ seq 3 }} {{ seq 2 -2 }} {{ seq 0 2 6 }}"#,
        "[0 1 2] [0 4 8] 1 2 3 2 1 0 -1 -2 0 2 4 6",
    ),
    // dicts
    (
        r#"{{ $d := dict "a" 1 "b" "x" }}{{ $d }} {{ get $d "b" }} {{ hasKey $d "a" }} {{ hasKey $d "z" }}"#,
        "map[a:1 b:x] x true false",
    ),
    (
        r#"{{ $d := dict "a" 1 }}{{ set $d "b" 2 }} {{ unset $d "a" }}"#,
        "map[a:1 b:2] map[]",
    ),
    (
        r#"{{ pluck "a" (dict "a" 1) (dict "a" 2) (dict "b" 3) }} {{ keys (dict "b" 1 "a" 2) | sortAlpha }} {{ values (dict "a" 1) }}"#,
        "[1 2] [a b] [1]",
    ),
    (
        r#"{{ pick (dict "a" 1 "b" 2) "a" }} {{ omit (dict "a" 1 "b" 2) "a" }}"#,
        "map[a:1] map[b:2]",
    ),
    (
        r#"{{ merge (dict "a" 1) (dict "a" 2 "b" 3) }} {{ mergeOverwrite (dict "a" 1) (dict "a" 2) }}"#,
        "map[a:1 b:3] map[a:2]",
    ),
    (
        r#"{{ mustMerge (dict "a" 1) (dict "c" 2) }} {{ mustMergeOverwrite (dict "a" 1) (dict "a" 3) }}"#,
        "map[a:1 c:2] map[a:3]",
    ),
    (
        r#"{{ deepCopy (dict "a" 1) }} {{ mustDeepCopy (list 1) }} {{ dig "a" "b" "def" (dict "a" (dict "b" "v")) }} {{ dig "x" "def" (dict) }}"#,
        "map[a:1] [1] v def",
    ),
    // defaults and flow
    (
        r#"{{ default "foo" "" }} {{ default "foo" "bar" }} {{ empty "" }} {{ empty 1 }} {{ coalesce "" 0 "x" }}"#,
        "foo bar true false x",
    ),
    (
        r#"{{ all 1 "a" }} {{ all 1 "" }} {{ any "" 0 }} {{ any "" 1 }} {{ ternary "y" "n" true }} {{ ternary "y" "n" false }}"#,
        "true false false true y n",
    ),
    (
        r#"{{ typeOf 1 }} {{ typeOf "s" }} {{ typeOf 1.5 }} {{ typeIs "int" 1 }} {{ typeIsLike "string" "a" }} {{ kindOf (list) }} {{ kindIs "map" (dict) }}"#,
        "int string float64 true true slice true",
    ),
    (
        r#"{{ deepEqual (list 1 2) (list 1 2) }} {{ deepEqual (dict "a" 1) (dict "a" 2) }}"#,
        "true false",
    ),
    // JSON and YAML
    (
        r#"{{ toJson (dict "b" 1.5 "a" "<x>" "c" (list 1 nil)) }}"#,
        r#"{"a":"\u003cx\u003e","b":1.5,"c":[1,null]}"#,
    ),
    (
        r#"{{ toRawJson (dict "a" "<x>") }} {{ mustToRawJson (list) }} {{ mustToJson 1 }}"#,
        r#"{"a":"<x>"} [] 1"#,
    ),
    (
        "{{ toPrettyJson (dict \"a\" (list 1)) }}",
        "{\n  \"a\": [\n    1\n  ]\n}",
    ),
    ("{{ mustToPrettyJson (dict) }}", "{}"),
    (
        r#"{{ $j := fromJson "{\"a\":{\"b\":2}}" }}{{ $j.a.b }} {{ mustFromJson "[1,\"x\"]" }} {{ fromJson "bad" }}"#,
        "2 [1 x] <no value>",
    ),
    (
        "{{ toYaml (dict \"a\" \"x\" \"b\" (list 1 \"true\") \"c\" (dict \"d\" nil)) }}",
        "a: x\nb:\n- 1\n- \"true\"\nc:\n  d: null",
    ),
    (
        r#"{{ $y := fromYaml "a: 1\nb: [x, z]" }}{{ $y.a }} {{ $y.b }}"#,
        "1 [x z]",
    ),
    // math
    (
        r#"{{ add1 1 }} {{ add 1 2 "3" }} {{ sub 5 2 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 2 }}"#,
        "2 6 3 24 3 1",
    ),
    (
        r#"{{ max 1 5 3 }} {{ biggest 2 9 }} {{ min 4 2 8 }} {{ maxf 1.5 2 }} {{ minf 1.5 2 }}"#,
        "5 9 2 2 1.5",
    ),
    (
        r#"{{ add1f 1.5 }} {{ addf 0.1 0.2 }} {{ subf 1 0.3 }} {{ mulf 1.1 3 }} {{ divf 1 4 }}"#,
        "2.5 0.3 0.7 3.3 0.25",
    ),
    (
        r#"{{ ceil 1.2 }} {{ floor 1.8 }} {{ round 3.14159 2 }} {{ round 2.5 0 }}"#,
        "2 1 3.14 3",
    ),
    (
        r#"{{ atoi "42" }} {{ int "7" }} {{ int64 2.9 }} {{ float64 "1.5" }} {{ toDecimal "0777" }}"#,
        "42 7 2 1.5 511",
    ),
    // encoding
    (
        r#"{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }} {{ b32enc "hi" }} {{ b32dec "NBUQ====" }} {{ hexdec "6869" }}"#,
        "aGVsbG8= hello NBUQ==== hi hi",
    ),
    (
        r#"{{ b64dec "%%%" }}"#,
        "illegal base64 data at input byte 0",
    ),
    // dates (fixed instants only)
    (
        r#"{{ date "2006-01-02 15:04:05 MST" 0 }}|{{ htmlDate 86400 }}|{{ dateInZone "Jan 2, 2006" 0 "UTC" }}|{{ date_in_zone "06" 0 "UTC" }}"#,
        "1970-01-01 00:00:00 UTC|1970-01-02|Jan 1, 1970|70",
    ),
    (
        r#"{{ htmlDateInZone 0 "UTC" }}|{{ toDate "2006-01-02" "2024-02-29" | date "Monday 02 Jan 2006" }}|{{ mustToDate "2006-01-02T15:04:05Z07:00" "2024-01-15T10:30:00+02:00" | unixEpoch }}"#,
        "1970-01-01|Thursday 29 Feb 2024|1705307400",
    ),
    (
        r#"{{ toDate "2006-01-02" "2024-01-01" | dateModify "-1.5h" | date "2006-01-02 15:04" }}|{{ toDate "2006-01-02" "2024-01-01" | date_modify "24h" | htmlDate }}"#,
        "2023-12-31 22:30|2024-01-02",
    ),
    (
        r#"{{ toDate "2006-01-02" "2024-01-01" | mustDateModify "1m" | date "15:04" }}|{{ toDate "2006-01-02" "2024-01-01" | must_date_modify "2h" | date "3PM" }}"#,
        "00:01|2AM",
    ),
    (
        r#"{{ duration 95 }} {{ duration 3600 }} {{ durationRound "2h10m" }} {{ durationRound "49h" }}"#,
        "1m35s 1h0m0s 2h 2d",
    ),
    (
        r#"{{ toDate "2006-01-02 15:04:05.000" "2024-01-01 12:00:00.250" }}"#,
        "2024-01-01 12:00:00.25 +0000 UTC",
    ),
    // semver
    (
        r#"{{ (semver "1.2.3-beta.1+b5").Major }} {{ (semver "v2.0").Minor }} {{ (semver "1.2.3-beta.1").Prerelease }}"#,
        "1 0 beta.1",
    ),
    (
        r#"{{ semverCompare "^1.2.0" "1.4.3" }} {{ semverCompare ">=2.0.0" "1.9.9" }} {{ semverCompare "~1.2" "1.2.9" }} {{ semverCompare "1.x || >=3" "3.1.0" }}"#,
        "true false true true",
    ),
    // ESO extras
    (
        "{{ filterPEM \"CERTIFICATE\" .pems }}",
        "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----",
    ),
];

/// (template, expected error substring)
const ERRORS: &[(&str, &str)] = &[
    (r#"{{ fail "boom" }}"#, "error calling fail: boom"),
    (
        r#"{{ call .list }}"#,
        "error calling call: non-function .list of type []interface {}",
    ),
    (
        r#"{{ mustRegexMatch "(" "x" }}"#,
        "error calling mustRegexMatch: error parsing regexp",
    ),
    (
        r#"{{ first "abc" }}"#,
        "error calling first: Cannot find first on type string",
    ),
    (
        r#"{{ div 1 0 }}"#,
        "error calling div: runtime error: integer divide by zero",
    ),
    (r#"{{ mustFromJson "{" }}"#, "error calling mustFromJson"),
    (
        r#"{{ mustToDate "2006-01-02" "nope" }}"#,
        "error calling mustToDate: parsing time",
    ),
    (r#"{{ upper 3 }}"#, "expected string; found 3"),
    (r#"{{ indent "x" "y" }}"#, "expected integer; found \"x\""),
    (
        r#"{{ getSecretKey "a" "b" }}"#,
        "function \"getSecretKey\" not defined",
    ),
    (r#"{{ env "HOME" }}"#, "function \"env\" not defined"),
    (
        r#"{{ expandenv "$HOME" }}"#,
        "function \"expandenv\" not defined",
    ),
    (
        r#"{{ getHostByName "x" }}"#,
        "function \"getHostByName\" not defined",
    ),
];

/// Functions with random or clock-dependent output: (template, check).
type Check = (&'static str, fn(&str) -> bool);

fn checked() -> Vec<Check> {
    vec![
        ("{{ randAlphaNum 16 }}", |o| {
            o.len() == 16 && o.chars().all(|c| c.is_ascii_alphanumeric())
        }),
        ("{{ randAlpha 12 }}", |o| {
            o.len() == 12 && o.chars().all(|c| c.is_ascii_alphabetic())
        }),
        ("{{ randNumeric 8 }}", |o| {
            o.len() == 8 && o.chars().all(|c| c.is_ascii_digit())
        }),
        ("{{ randAscii 20 }}", |o| {
            o.len() == 20 && o.chars().all(|c| (' '..='~').contains(&c))
        }),
        ("{{ randInt 5 7 }}", |o| o == "5" || o == "6"),
        ("{{ shuffle \"abcdef\" }}", |o| {
            let mut v: Vec<char> = o.chars().collect();
            v.sort();
            v.into_iter().collect::<String>() == "abcdef"
        }),
        ("{{ uuidv4 }}", |o| {
            o.len() == 36 && o.as_bytes()[14] == b'4'
        }),
        ("{{ randBytes 24 | b64dec | len }}", |o| o == "24"),
        ("{{ now | date \"2006\" }}", |o| {
            o.parse::<i32>().is_ok_and(|y| y >= 2024)
        }),
        ("{{ ago (now | dateModify \"-2h\") }}", |o| o == "2h0m0s"),
        ("{{ bcrypt \"pw\" }}", |o| {
            o.starts_with("$2a$10$") && o.len() == 60
        }),
        ("{{ htpasswd \"user\" \"pw\" }}", |o| {
            o.starts_with("user:$2a$10$")
        }),
    ]
}

fn data() -> Value {
    Value::from(serde_json::json!({
        "list": ["a", "b", "c"],
        "pems": "junk\n-----BEGIN KEY-----\nS0VZ\n-----END KEY-----\n-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n",
    }))
}

fn render(text: &str) -> Result<String, String> {
    Template::parse("t", text, &Options::default())
        .and_then(|t| t.render(&data()))
        .map_err(|e| e.to_string())
}

#[test]
fn documented_function_results() {
    let mut failures = Vec::new();
    for (tmpl, want) in EXACT {
        match render(tmpl) {
            Ok(got) if got == *want => {}
            other => failures.push(format!("{tmpl}\n  want {want:?}\n  got  {other:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn function_errors_match_go_wording() {
    let mut failures = Vec::new();
    for (tmpl, want) in ERRORS {
        match render(tmpl) {
            Err(e) if e.contains(want) => {}
            other => failures.push(format!(
                "{tmpl}\n  want error containing {want:?}\n  got {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn random_and_clock_functions_produce_plausible_values() {
    for (tmpl, check) in checked() {
        let out = render(tmpl).unwrap_or_else(|e| panic!("{tmpl}: {e}"));
        assert!(check(&out), "{tmpl} produced {out:?}");
    }
    assert_ne!(
        render("{{ randAlphaNum 32 }}"),
        render("{{ randAlphaNum 32 }}")
    );
}

#[test]
fn every_registered_function_has_a_test_case() {
    let mut all: Vec<&str> = EXACT.iter().map(|(t, _)| *t).collect();
    all.extend(ERRORS.iter().map(|(t, _)| *t));
    let checked = checked();
    all.extend(checked.iter().map(|(t, _)| *t));
    // Crypto functions are checked against Go (PKCS#12: Python) in their own suites; their
    // templates count too.
    all.push(include_str!("template_crypto.rs"));
    all.push(include_str!("template_pkcs12.rs"));
    let untested: Vec<&str> = function_names()
        .into_iter()
        .filter(|name| {
            !all.iter().any(|t| {
                t.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|w| w == *name)
            })
        })
        .collect();
    assert!(
        untested.is_empty(),
        "functions without a test case: {untested:?}"
    );
}

#[test]
fn excluded_functions_are_not_registered() {
    let names = function_names();
    for banned in ["env", "expandenv", "getHostByName", "getSecretKey"] {
        assert!(!names.contains(&banned), "{banned} must not be available");
    }
}

#[test]
fn seed_templates_render_as_documented() {
    let mut data = BTreeMap::new();
    data.insert("password".to_string(), "p@ss".to_string());
    let cases = [
        ("{{ .password }}", "p@ss"),
        (
            "cluster-example-rw:5432:app:app:{{ .password }}",
            "cluster-example-rw:5432:app:app:p@ss",
        ),
        (
            "jdbc:postgresql://cluster-example-rw.default:5432/app?password={{ .password }}&user=app",
            "jdbc:postgresql://cluster-example-rw.default:5432/app?password=p@ss&user=app",
        ),
        (
            "postgresql://app:{{ .password }}@cluster-example-rw.default:5432/app",
            "postgresql://app:p@ss@cluster-example-rw.default:5432/app",
        ),
    ];
    for (tmpl, want) in cases {
        assert_eq!(render_str("password", tmpl, &data).as_deref(), Ok(want));
    }
    let mut poke = BTreeMap::new();
    poke.insert("best-pokemon".to_string(), "pikachu".to_string());
    // The PushSecret guide's template is rejected by Go itself: `-` cannot appear in a field
    // name. Text checked against Go's text/template (also in the differential cases).
    let err = render_str(
        "best-pokemon",
        "{{ .best-pokemon | toString | upper }} is the really best!",
        &poke,
    )
    .expect_err("Go rejects this template");
    assert_eq!(
        err.to_string(),
        "template: best-pokemon:1: bad character U+002D '-'"
    );
    // The working spelling of the same template.
    assert_eq!(
        render_str(
            "best-pokemon",
            r#"{{ index . "best-pokemon" | toString | upper }} is the really best!"#,
            &poke
        )
        .as_deref(),
        Ok("PIKACHU is the really best!")
    );
}

#[test]
fn errors_do_not_leak_values() {
    let mut data = BTreeMap::new();
    data.insert("token".to_string(), "s3cr3t-value".to_string());
    let err = render_str("t", "{{ .token.field }}", &data).expect_err("field of a string");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(!format!("{err:?}").contains("s3cr3t"));
    assert!(!format!("{:?}", Value::from("s3cr3t-value")).contains("s3cr3t"));
}
