//! Go `time.ParseDuration` / `Duration.String()` compatibility, checked against the Go oracle.

mod gooracle;

use gooracle::XorShift;

use serde_json::{Value, json};
use shared::duration::GoDuration;

const HANDPICKED: &[&str] = &[
    "",
    "0",
    "+0",
    "-0",
    "00",
    "1",
    ".",
    "1.",
    ".5s",
    "1.s",
    "-.5h",
    "+.5h",
    "1h30m",
    "1h 30m",
    "1µs",
    "1μs",
    "1us",
    "1ns",
    "1ms",
    "1s",
    "1m",
    "1h",
    "1.5h",
    "1h0m0s",
    "5m0s",
    "-1m30s",
    "9223372036854775807ns",
    "9223372036854775808ns",
    "-9223372036854775808ns",
    "-9223372036854775809ns",
    "2562047h47m16.854775807s",
    "2562047h47m16.854775808s",
    "-2562047h47m16.854775808s",
    "2562048h",
    "1.0000000000000000000001s",
    "0.1ns",
    "1e3s",
    "1h-5m",
    "--1s",
    "+-1s",
    "1H",
    "1x",
    "1é",
    "\"s",
    "1\"x",
    "1\\s",
    "3.000000001s",
    "0.333333333333333333h",
    "1.1234567890123456789s",
    "100000000000000000000ns",
    "18446744073709551616ns",
    "0.9999999999999999999999h",
    "1\ts",
    "1\u{0}s",
    "s",
    "-",
    "+",
    "1.5.5s",
    "1..5s",
    ".s",
    "-.s",
    "1h1h1h",
    "0000000000000000000000000001s",
    "1s1",
    "µs",
    "1m1.5s",
    "2h45m",
    "300ms",
    "-1.5h",
    "1.000000000000000000001h",
    "15.5µs",
    "1d",
    "1w",
];

#[test]
fn parse_matches_go_for_handpicked_and_generated_inputs() {
    let mut inputs: Vec<String> = HANDPICKED.iter().map(|s| s.to_string()).collect();
    const PIECES: &[&str] = &[
        "0",
        "1",
        "7",
        "99",
        "123456789",
        ".",
        ".5",
        "h",
        "m",
        "s",
        "ms",
        "us",
        "µs",
        "ns",
        "-",
        "+",
        " ",
        "x",
        "00",
        "9223372036854775807",
    ];
    let mut rng = XorShift(0x0123_4567_89ab_cdef);
    for _ in 0..400 {
        let n = 1 + rng.below(6);
        inputs.push((0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect());
    }
    let cases: Vec<Value> = inputs
        .iter()
        .map(|s| json!({"op": "duration_parse", "s": s}))
        .collect();
    let answers = gooracle::ask(&Value::Array(cases));
    for (input, answer) in inputs.iter().zip(&answers) {
        let go_error = gooracle::field(answer, "error");
        match GoDuration::parse(input) {
            Ok(d) => {
                assert_eq!(
                    go_error, "",
                    "Go rejects {input:?} but we accepted it as {d}"
                );
                assert_eq!(
                    d.as_nanos(),
                    answer["nanos"].as_i64().unwrap_or_default(),
                    "{input:?}"
                );
                assert_eq!(d.to_string(), gooracle::field(answer, "text"), "{input:?}");
            }
            Err(e) => assert_eq!(e.to_string(), go_error, "input {input:?}"),
        }
    }
}

#[test]
fn string_matches_go_for_many_values() {
    let mut values: Vec<i64> = vec![
        0,
        1,
        -1,
        999,
        1_000,
        1_001,
        999_999,
        1_000_000,
        1_500_000,
        999_999_999,
        1_000_000_000,
        1_000_000_001,
        59_999_999_999,
        60_000_000_000,
        3_599_999_999_999,
        3_600_000_000_000,
        86_400_000_000_000,
        i64::MAX,
        i64::MIN,
        i64::MIN + 1,
    ];
    let mut rng = XorShift(0xdead_beef_1234_5678);
    for i in 0..300 {
        // Spread over magnitudes so every branch (ns, µs, ms, s, m, h) is exercised.
        let magnitude = 1u64 << (i % 63);
        let v = (rng.next() % magnitude) as i64;
        values.push(if rng.below(2) == 0 { v } else { -v });
    }
    let cases: Vec<Value> = values
        .iter()
        .map(|n| json!({"op": "duration_format", "nanos": n}))
        .collect();
    let answers = gooracle::ask(&Value::Array(cases));
    for (nanos, answer) in values.iter().zip(&answers) {
        assert_eq!(
            GoDuration::from_nanos(*nanos).to_string(),
            gooracle::field(answer, "text"),
            "nanos {nanos}"
        );
    }
}
