//! Password generator properties over many seeded random specs, plus defaults and errors.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::generators::{
    DEFAULT_SYMBOL_CHARACTERS, GeneratorError, MAX_LENGTH, PasswordSpec, generate_password,
    password_bytes, secure_rng,
};

fn one(spec: &PasswordSpec, seed: u64) -> Result<Vec<u8>, GeneratorError> {
    let out = generate_password(spec, &mut StdRng::seed_from_u64(seed))?;
    Ok(out
        .get("password")
        .expect("password key")
        .as_bytes()
        .to_vec())
}

fn counts(pw: &[u8], symbols: &[u8]) -> (usize, usize, usize, usize) {
    let digits = pw.iter().filter(|c| c.is_ascii_digit()).count();
    let syms = pw.iter().filter(|c| symbols.contains(c)).count();
    let letters = pw.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let upper = pw.iter().filter(|c| c.is_ascii_uppercase()).count();
    (letters, digits, syms, upper)
}

#[test]
fn default_spec_gives_24_chars_with_6_digits_6_symbols_and_no_repeats() {
    let pw = one(&PasswordSpec::default(), 1).unwrap();
    assert_eq!(pw.len(), 24);
    let (letters, digits, symbols, _) = counts(&pw, DEFAULT_SYMBOL_CHARACTERS.as_bytes());
    assert_eq!((letters, digits, symbols), (12, 6, 6));
    let mut sorted = pw.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        24,
        "repeated characters in {:?}",
        String::from_utf8_lossy(&pw)
    );
}

#[test]
fn non_positive_length_means_default_and_quarters_truncate() {
    for length in [Some(0), Some(-5), None] {
        let pw = one(
            &PasswordSpec {
                length,
                ..PasswordSpec::default()
            },
            2,
        )
        .unwrap();
        assert_eq!(pw.len(), 24);
    }
    let pw = one(
        &PasswordSpec {
            length: Some(10),
            ..PasswordSpec::default()
        },
        3,
    )
    .unwrap();
    let (letters, digits, symbols, _) = counts(&pw, DEFAULT_SYMBOL_CHARACTERS.as_bytes());
    // int(10 * 0.25) = 2 digits and 2 symbols.
    assert_eq!((letters, digits, symbols), (6, 2, 2));
}

#[test]
fn empty_symbol_characters_fall_back_to_the_default_set() {
    let spec = PasswordSpec {
        symbol_characters: Some(String::new()),
        symbols: Some(20),
        length: Some(20),
        digits: Some(0),
        ..PasswordSpec::default()
    };
    let pw = one(&spec, 4).unwrap();
    assert!(
        pw.iter()
            .all(|c| DEFAULT_SYMBOL_CHARACTERS.as_bytes().contains(c))
    );
}

const SYMBOL_SETS: &[Option<&str>] = &[None, Some(""), Some("!@#"), Some("-_."), Some("*")];

#[test]
fn random_specs_produce_exact_counts_or_the_right_error() {
    let mut rng = StdRng::seed_from_u64(0x7a55_0001);
    let (mut ok, mut failed) = (0, 0);
    for round in 0..600 {
        let length: i64 = rng.random_range(1..=80);
        let digits = rng
            .random_bool(0.8)
            .then(|| rng.random_range(0..=length / 2 + 3));
        let symbols = rng
            .random_bool(0.8)
            .then(|| rng.random_range(0..=length / 2 + 3));
        let set = SYMBOL_SETS[rng.random_range(0..SYMBOL_SETS.len())];
        let spec = PasswordSpec {
            length: Some(length),
            digits,
            symbols,
            symbol_characters: set.map(str::to_string),
            no_upper: rng.random_bool(0.5),
            allow_repeat: rng.random_bool(0.5),
            ..PasswordSpec::default()
        };
        let alphabet = match set {
            None | Some("") => DEFAULT_SYMBOL_CHARACTERS,
            Some(s) => s,
        }
        .as_bytes();
        let quarter = (length as f32 * 0.25) as i64;
        let (d, s) = (digits.unwrap_or(quarter), symbols.unwrap_or(quarter));
        let letters = length - d - s;
        let letter_pool = if spec.no_upper { 26 } else { 52 };
        let impossible = letters < 0
            || (!spec.allow_repeat
                && (letters > letter_pool || d > 10 || s > alphabet.len() as i64));

        match one(&spec, round) {
            Ok(pw) => {
                assert!(!impossible, "spec {spec:?} should have failed");
                ok += 1;
                assert_eq!(pw.len() as i64, length, "{spec:?}");
                let (l, dd, ss, upper) = counts(&pw, alphabet);
                assert_eq!(
                    (l as i64, dd as i64, ss as i64),
                    (letters, d, s),
                    "{spec:?}"
                );
                if spec.no_upper {
                    assert_eq!(upper, 0, "{spec:?}");
                }
                if !spec.allow_repeat {
                    let mut sorted = pw.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    assert_eq!(sorted.len(), pw.len(), "repeat with {spec:?}");
                }
            }
            Err(e) => {
                assert!(impossible, "spec {spec:?} failed unexpectedly: {e}");
                failed += 1;
            }
        }
    }
    // Both outcomes must actually have been exercised.
    assert!(ok > 100 && failed > 50, "ok {ok} failed {failed}");
}

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').chars() {
        bits = (bits << 5) | ALPHABET.find(c).expect("base32 char") as u64;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    out
}

#[test]
fn encodings_decode_back_to_the_raw_password() {
    for seed in 0..50 {
        let raw_spec = PasswordSpec {
            length: Some(1 + seed as i64 % 40),
            ..PasswordSpec::default()
        };
        let raw = one(&raw_spec, seed).unwrap();
        for encoding in ["base64", "base64url", "base32", "hex", "raw"] {
            let spec = PasswordSpec {
                encoding: Some(encoding.into()),
                ..raw_spec.clone()
            };
            let encoded = String::from_utf8(one(&spec, seed).unwrap()).expect("ascii");
            let decoded = match encoding {
                "base64" => STANDARD.decode(&encoded).expect("base64"),
                "base64url" => URL_SAFE.decode(&encoded).expect("base64url"),
                "base32" => {
                    assert_eq!(encoded.len() % 8, 0, "padded: {encoded}");
                    base32_decode(&encoded)
                }
                "hex" => hex::decode(&encoded).expect("hex"),
                _ => encoded.into_bytes(),
            };
            assert_eq!(decoded, raw, "{encoding} seed {seed}");
        }
    }
}

#[test]
fn each_secret_key_gets_its_own_password() {
    let spec = PasswordSpec {
        secret_keys: Some(vec!["a".into(), "b".into(), "c".into()]),
        ..PasswordSpec::default()
    };
    let out = generate_password(&spec, &mut StdRng::seed_from_u64(9)).unwrap();
    assert_eq!(out.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_ne!(out["a"], out["b"]);
    assert_ne!(out["b"], out["c"]);
}

#[test]
fn impossible_or_invalid_specs_fail_with_clear_errors() {
    let base = PasswordSpec::default();
    let cases: Vec<(PasswordSpec, &str)> = vec![
        (
            PasswordSpec {
                length: Some(5),
                digits: Some(3),
                symbols: Some(3),
                ..base.clone()
            },
            "number of digits and symbols must be less than total length",
        ),
        (
            PasswordSpec {
                length: Some(53),
                digits: Some(0),
                symbols: Some(0),
                ..base.clone()
            },
            "number of letters exceeds available letters and repeats are not allowed",
        ),
        (
            PasswordSpec {
                length: Some(27),
                digits: Some(0),
                symbols: Some(0),
                no_upper: true,
                ..base.clone()
            },
            "number of letters exceeds available letters and repeats are not allowed",
        ),
        (
            PasswordSpec {
                length: Some(30),
                digits: Some(11),
                ..base.clone()
            },
            "number of digits exceeds available digits and repeats are not allowed",
        ),
        (
            PasswordSpec {
                symbols: Some(4),
                symbol_characters: Some("!@#".into()),
                ..base.clone()
            },
            "number of symbols exceeds available symbols and repeats are not allowed",
        ),
        (
            PasswordSpec {
                symbols: Some(2),
                symbol_characters: Some("!!".into()),
                ..base.clone()
            },
            "not enough distinct symbols left and repeats are not allowed",
        ),
        (
            PasswordSpec {
                digits: Some(-1),
                ..base.clone()
            },
            "invalid generator spec: digits must not be negative, got -1",
        ),
        (
            PasswordSpec {
                symbol_characters: Some("€".into()),
                ..base.clone()
            },
            "invalid generator spec: symbolCharacters must contain only ASCII characters",
        ),
        (
            PasswordSpec {
                secret_keys: Some(vec![]),
                ..base.clone()
            },
            "invalid generator spec: secretKeys must list at least one key",
        ),
        (
            PasswordSpec {
                secret_keys: Some(vec!["a".into(), "".into()]),
                ..base.clone()
            },
            "invalid generator spec: secretKeys[1] must not be empty",
        ),
        (
            PasswordSpec {
                secret_keys: Some(vec!["a".into(), "a".into()]),
                ..base.clone()
            },
            "invalid generator spec: secretKeys[1] duplicates the key \"a\"",
        ),
        (
            PasswordSpec {
                encoding: Some("rot13".into()),
                ..base.clone()
            },
            "invalid generator spec: encoding \"rot13\" is not one of raw, base64, base64url, base32, hex",
        ),
        (
            PasswordSpec {
                length: Some(MAX_LENGTH as i64 + 1),
                ..base.clone()
            },
            "invalid generator spec: length 8193 exceeds the maximum of 8192",
        ),
    ];
    for (spec, message) in cases {
        let err = generate_password(&spec, &mut StdRng::seed_from_u64(5)).unwrap_err();
        assert_eq!(err.to_string(), message, "{spec:?}");
    }
}

#[test]
fn symbols_overlapping_letters_error_instead_of_looping_forever() {
    let spec = PasswordSpec {
        length: Some(28),
        digits: Some(0),
        symbols: Some(2),
        no_upper: true,
        symbol_characters: Some("ab".into()),
        ..PasswordSpec::default()
    };
    // 26 lowercase letters use up 'a' and 'b' before the symbols are drawn.
    let err = password_bytes(&spec, &mut StdRng::seed_from_u64(6)).unwrap_err();
    assert!(
        err.to_string().contains("not enough distinct symbols"),
        "{err}"
    );
}

#[test]
fn same_seed_same_password_and_different_seeds_differ() {
    let spec = PasswordSpec::default();
    assert_eq!(one(&spec, 42).unwrap(), one(&spec, 42).unwrap());
    assert_ne!(one(&spec, 42).unwrap(), one(&spec, 43).unwrap());
    let a = generate_password(&spec, &mut secure_rng()).unwrap();
    let b = generate_password(&spec, &mut secure_rng()).unwrap();
    assert_ne!(a, b);
}

fn chi_square(observed: &[u64]) -> f64 {
    let total: u64 = observed.iter().sum();
    let expected = total as f64 / observed.len() as f64;
    observed
        .iter()
        .map(|&o| (o as f64 - expected).powi(2) / expected)
        .sum()
}

#[test]
fn letters_spread_evenly_over_the_alphabet() {
    let spec = PasswordSpec {
        length: Some(100),
        digits: Some(0),
        symbols: Some(0),
        no_upper: true,
        allow_repeat: true,
        ..PasswordSpec::default()
    };
    let mut rng = StdRng::seed_from_u64(0xc41_5e7);
    let mut histogram = [0u64; 26];
    for _ in 0..1000 {
        for c in password_bytes(&spec, &mut rng).unwrap() {
            histogram[usize::from(c - b'a')] += 1;
        }
    }
    // 25 degrees of freedom: the 99.99th percentile is about 62; a broken draw is far beyond.
    let stat = chi_square(&histogram);
    assert!(stat < 62.0, "chi-square {stat} for {histogram:?}");
}

#[test]
fn digit_position_is_uniform() {
    let spec = PasswordSpec {
        length: Some(10),
        digits: Some(1),
        symbols: Some(0),
        ..PasswordSpec::default()
    };
    let mut rng = StdRng::seed_from_u64(0x9051_7104);
    let mut positions = [0u64; 10];
    for _ in 0..5000 {
        let pw = password_bytes(&spec, &mut rng).unwrap();
        let at = pw.iter().position(u8::is_ascii_digit).expect("one digit");
        positions[at] += 1;
    }
    // 9 degrees of freedom: the 99.99th percentile is about 33.7.
    let stat = chi_square(&positions);
    assert!(stat < 33.7, "chi-square {stat} for {positions:?}");
}

#[test]
fn digits_and_symbols_spread_over_their_alphabets() {
    let symbols = b"-_$@!";
    let spec = PasswordSpec {
        length: Some(20),
        digits: Some(10),
        symbols: Some(10),
        symbol_characters: Some(String::from_utf8(symbols.to_vec()).unwrap()),
        allow_repeat: true,
        ..PasswordSpec::default()
    };
    let mut rng = StdRng::seed_from_u64(0xd161_7500);
    let (mut digits, mut syms) = ([0u64; 10], [0u64; 5]);
    for _ in 0..2000 {
        for c in password_bytes(&spec, &mut rng).unwrap() {
            if c.is_ascii_digit() {
                digits[usize::from(c - b'0')] += 1;
            } else {
                let at = symbols
                    .iter()
                    .position(|s| *s == c)
                    .expect("only digits and symbols");
                syms[at] += 1;
            }
        }
    }
    // 99.99th percentiles: 9 degrees of freedom about 33.7, 4 about 23.5.
    let (d, s) = (chi_square(&digits), chi_square(&syms));
    assert!(d < 33.7, "chi-square {d} for {digits:?}");
    assert!(s < 23.5, "chi-square {s} for {syms:?}");
}
