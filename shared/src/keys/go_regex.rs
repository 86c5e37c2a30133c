//! Go (RE2) regular expressions on top of the `regex` crate.
//!
//! The two dialects agree on almost everything; [`GoRegex::new`] rewrites the constructs where
//! they differ so patterns written for ESO match (and fail to compile) as in Go:
//! * `\d`, `\w`, `\s`, `\b` are ASCII-only in Go (Unicode-aware in Rust);
//! * inside a class Go reads `[`, `&&` and `~~` literally (Rust: nesting and set operations);
//! * Go supports `\Q...\E` quoting;
//! * a `{` that does not start a valid `{n}`, `{n,}`, `{n,m}` is a literal in Go, and counts
//!   over 1000 are errors;
//! * Go rejects stacked repetitions (`a**`) and flags other than `imsU` (Rust accepts both);
//! * a repetition right after a bare flag group (`a(?i)*`) applies to the atom before the group.
//!
//! One Go construct is refused: repeating a repetition across a flag group (`a*(?i)?`). The
//! differential test in `keys_oracle` checks compile/reject and replacement output against Go
//! for hand-picked and generated patterns. Replacement templates follow Go's `Expand` rules
//! (see [`go_expand`]), which differ from the `regex` crate's in how names are delimited.

use regex::{Captures, Regex, RegexBuilder};

/// Compiled-size cap for user-supplied patterns, so a hostile pattern cannot exhaust memory.
const SIZE_LIMIT: usize = 1 << 20;

/// A pattern that Go's `regexp` (or our translation of it) rejects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GoRegexError(String);

/// A regular expression with Go RE2 semantics.
#[derive(Clone, Debug)]
pub struct GoRegex {
    re: Regex,
}

impl GoRegex {
    /// Compiles a Go regular expression (unanchored, like Go's `regexp.Compile`).
    pub fn new(pattern: &str) -> Result<Self, GoRegexError> {
        Self::with_wrapper(pattern, "", "")
    }

    /// Compiles `^(?:pattern)$`: the whole input must match.
    pub fn new_anchored(pattern: &str) -> Result<Self, GoRegexError> {
        Self::with_wrapper(pattern, "^(?:", ")$")
    }

    fn with_wrapper(pattern: &str, before: &str, after: &str) -> Result<Self, GoRegexError> {
        let translated = format!("{before}{}{after}", translate(pattern)?);
        let re = RegexBuilder::new(&translated)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| GoRegexError(e.to_string()))?;
        Ok(Self { re })
    }

    /// The underlying compiled expression (already translated to Rust syntax).
    pub fn as_regex(&self) -> &Regex {
        &self.re
    }

    /// Go `MatchString`.
    pub fn is_match(&self, haystack: &str) -> bool {
        self.re.is_match(haystack)
    }

    /// Go `ReplaceAllString`: replaces every match with `template` expanded by Go's rules.
    pub fn replace_all(&self, src: &str, template: &str) -> String {
        let mut out = String::with_capacity(src.len());
        let mut last_match_end = 0;
        let mut search_pos = 0;
        while search_pos <= src.len() {
            let Some(caps) = self.re.captures_at(src, search_pos) else {
                break;
            };
            let Some(whole) = caps.get(0) else {
                break;
            };
            let (start, end) = (whole.start(), whole.end());
            out.push_str(&src[last_match_end..start]);
            // An empty match right after the previous match is not replaced again (Go's rule),
            // so patterns that can match both empty and non-empty text replace once.
            if end > last_match_end || start == 0 {
                go_expand(&mut out, template, &self.re, &caps);
            }
            last_match_end = end;
            let width = src[search_pos..].chars().next().map_or(1, char::len_utf8);
            if search_pos + width > end {
                search_pos += width;
            } else if search_pos + 1 > end {
                search_pos += 1;
            } else {
                search_pos = end;
            }
        }
        out.push_str(&src[last_match_end..]);
        out
    }
}

/// Appends `template` to `out` with `$name`/`${name}` references replaced, following Go's
/// `Regexp.Expand`: a name is the longest run of letters, digits and `_` (so `$1x` refers to the
/// group named `1x`, which usually does not exist and expands to nothing); an all-digit name
/// without a leading zero is a group index; `$$` is a literal `$`; a `$` not followed by a valid
/// name (or `${` without its `}`) is copied literally.
pub fn go_expand(out: &mut String, template: &str, re: &Regex, caps: &Captures<'_>) {
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, remaining)) = extract_name(rest) else {
            out.push('$');
            continue;
        };
        rest = remaining;
        let group = match group_number(name) {
            Some(n) => caps.get(n),
            None => re
                .capture_names()
                .position(|n| n == Some(name))
                .and_then(|i| caps.get(i)),
        };
        if let Some(m) = group {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
}

/// Go's name characters in templates: `unicode.IsLetter || unicode.IsDigit || '_'`.
fn is_name_char(c: char) -> bool {
    static NAME_CHAR: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"^[\p{L}\p{Nd}_]$").unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    let mut buf = [0u8; 4];
    NAME_CHAR.is_match(c.encode_utf8(&mut buf))
}

fn extract_name(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|&c| is_name_char(c))
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let mut rest = &body[len..];
    if braced {
        rest = rest.strip_prefix('}')?;
    }
    Some((name, rest))
}

/// Go's numeric reading of a name: all ASCII digits, no leading zero, below 10^8.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || (name.len() > 1 && name.starts_with('0')) {
        return None;
    }
    let mut n: usize = 0;
    for b in name.bytes() {
        if n >= 100_000_000 {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
    }
    Some(n)
}

/// Go's `{n}`, `{n,}`, `{n,m}` repetition starting at `chars[i] == '{'`: the index after its
/// `}` and the counts, or `None` when Go would read the `{` as a literal.
fn parse_repeat(chars: &[char], i: usize) -> Option<(usize, u64, Option<u64>)> {
    let mut j = i + 1;
    let number = |j: &mut usize| -> Option<u64> {
        let start = *j;
        while *j < chars.len() && chars[*j].is_ascii_digit() {
            *j += 1;
        }
        if *j == start {
            return None;
        }
        // Saturate: anything past 1000 is rejected by the caller anyway.
        Some(chars[start..*j].iter().fold(0u64, |n, c| {
            n.saturating_mul(10)
                .saturating_add(u64::from(*c as u32 - '0' as u32))
        }))
    };
    let min = number(&mut j)?;
    let max = if chars.get(j) == Some(&',') {
        j += 1;
        if chars.get(j) == Some(&'}') {
            None
        } else {
            Some(number(&mut j)?)
        }
    } else {
        Some(min)
    };
    (chars.get(j) == Some(&'}')).then_some((j + 1, min, max))
}

/// If `chars[i..]` starts with a bare flag group such as `(?i)` or `(?-s)`, the index after it.
fn flag_group_end(chars: &[char], i: usize) -> Option<usize> {
    if chars.get(i) != Some(&'(') || chars.get(i + 1) != Some(&'?') {
        return None;
    }
    let len = chars[i + 2..]
        .iter()
        .take_while(|f| matches!(f, 'i' | 'm' | 's' | 'U' | '-'))
        .count();
    (len > 0 && chars.get(i + 2 + len) == Some(&')')).then_some(i + 3 + len)
}

/// Rewrites the Go-only or differently-meant constructs into Rust syntax.
fn translate(pattern: &str) -> Result<String, GoRegexError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    // Position right after `[` or `[^`, where a `]` is a literal member.
    let mut class_start = false;
    // Whether the previous token was a repetition operator (Go forbids stacking them).
    let mut last_was_repeat = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at_class_start = class_start;
        class_start = false;
        if c == '\\' {
            last_was_repeat = false;
            let Some(&n) = chars.get(i + 1) else {
                out.push('\\');
                break;
            };
            i += 2;
            match (n, in_class) {
                ('d', false) => out.push_str("[0-9]"),
                ('D', false) => out.push_str("[^0-9]"),
                ('w', false) => out.push_str("[0-9A-Za-z_]"),
                ('W', false) => out.push_str("[^0-9A-Za-z_]"),
                ('s', false) => out.push_str(r"[\t\n\f\r ]"),
                ('S', false) => out.push_str(r"[^\t\n\f\r ]"),
                ('b', false) => out.push_str(r"(?-u:\b)"),
                ('B', false) => out.push_str(r"(?-u:\B)"),
                ('d', true) => out.push_str("0-9"),
                ('D', true) => out.push_str("[^0-9]"),
                ('w', true) => out.push_str("0-9A-Za-z_"),
                ('W', true) => out.push_str("[^0-9A-Za-z_]"),
                ('s', true) => out.push_str(r"\t\n\f\r "),
                ('S', true) => out.push_str(r"[^\t\n\f\r ]"),
                ('Q', false) => {
                    let mut literal = String::new();
                    while i < chars.len() {
                        if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                            i += 2;
                            break;
                        }
                        literal.push(chars[i]);
                        i += 1;
                    }
                    out.push_str(&regex::escape(&literal));
                }
                ('p' | 'P' | 'x', _) if chars.get(i) == Some(&'{') => {
                    // `\p{Greek}`, `\x{263a}`: copy the braced argument untouched.
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == '}')
                        .map_or(chars.len(), |p| i + p + 1);
                    out.push('\\');
                    out.push(n);
                    out.extend(&chars[i..close]);
                    i = close;
                }
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
            continue;
        }
        if in_class {
            match c {
                '[' if chars.get(i + 1) == Some(&':') => {
                    // POSIX class `[:alpha:]`: copy through its closing `:]`.
                    let mut j = i + 2;
                    while j + 1 < chars.len() && !(chars[j] == ':' && chars[j + 1] == ']') {
                        j += 1;
                    }
                    let end = (j + 2).min(chars.len());
                    out.extend(&chars[i..end]);
                    i = end;
                    continue;
                }
                '[' => out.push_str(r"\["),
                '&' | '~' if chars.get(i + 1) == Some(&c) => {
                    out.push('\\');
                    out.push(c);
                }
                ']' if !at_class_start => {
                    in_class = false;
                    out.push(']');
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        // Outside a character class from here on.
        let repeat_end = match c {
            '*' | '+' | '?' => Some(i + 1),
            '{' => match parse_repeat(&chars, i) {
                Some((end, min, max)) => {
                    if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
                        let text: String = chars[i..end].iter().collect();
                        return Err(GoRegexError(format!("invalid repeat count: `{text}`")));
                    }
                    Some(end)
                }
                None => None,
            },
            _ => None,
        };
        if let Some(mut end) = repeat_end {
            // Go rejects stacked repetitions such as `a**` or `a+{2}` (Rust accepts them).
            if last_was_repeat {
                return Err(GoRegexError(
                    "invalid nested repetition operator".to_string(),
                ));
            }
            if chars.get(end) == Some(&'?') {
                end += 1;
            }
            out.extend(&chars[i..end]);
            i = end;
            last_was_repeat = true;
            continue;
        }
        last_was_repeat = false;
        match c {
            // Not a valid repetition: Go reads the brace literally.
            '{' => out.push_str(r"\{"),
            '}' => out.push_str(r"\}"),
            '(' if chars.get(i + 1) == Some(&'?') => {
                // Go knows only the flags i, m, s and U; Rust would also accept x, u and R.
                let flags: String = chars[i + 2..]
                    .iter()
                    .take_while(|&&f| f != ')' && f != ':')
                    .collect();
                let named = flags.starts_with('P') || flags.starts_with('<');
                if !named
                    && !flags
                        .chars()
                        .all(|f| matches!(f, 'i' | 'm' | 's' | 'U' | '-'))
                {
                    return Err(GoRegexError(format!(
                        "invalid or unsupported Perl syntax: `(?{flags}`"
                    )));
                }
                if let Some(end) = flag_group_end(&chars, i) {
                    // Go applies a repetition that follows a bare flag group `(?i)` to the atom
                    // before the group; Rust rejects it. Emit the repetition first.
                    let mut groups_end = end;
                    while let Some(next) = flag_group_end(&chars, groups_end) {
                        groups_end = next;
                    }
                    let repeat_len = match chars.get(groups_end) {
                        Some('*' | '+' | '?') => 1,
                        Some('{') => {
                            parse_repeat(&chars, groups_end).map_or(0, |r| r.0 - groups_end)
                        }
                        _ => 0,
                    };
                    if repeat_len > 0 {
                        if last_was_repeat {
                            // Go would repeat the previous repetition (`a*(?i)?` = `(?:a*)?`);
                            // we don't track atoms well enough to rewrite that, so refuse.
                            return Err(GoRegexError(
                                "a repetition of a repetition across a flag group is not supported"
                                    .to_string(),
                            ));
                        }
                        let mut rep_end = groups_end + repeat_len;
                        if chars.get(rep_end) == Some(&'?') {
                            rep_end += 1;
                        }
                        out.extend(&chars[groups_end..rep_end]);
                        out.extend(&chars[i..groups_end]);
                        i = rep_end;
                        last_was_repeat = true;
                        continue;
                    }
                }
                out.push_str("(?");
                i += 1;
            }
            '[' => {
                out.push('[');
                in_class = true;
                class_start = true;
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthand_classes_are_ascii_like_go() {
        let re = GoRegex::new(r"^\d+$").unwrap();
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"));
        let re = GoRegex::new(r"^[\w.]+$").unwrap();
        assert!(re.is_match("a_b.c"));
        assert!(!re.is_match("é"));
    }

    #[test]
    fn brackets_inside_classes_are_literal() {
        let re = GoRegex::new(r"^[a[]+$").unwrap();
        assert!(re.is_match("a[a"));
        let re = GoRegex::new(r"^[]a]+$").unwrap();
        assert!(re.is_match("]a"));
        let re = GoRegex::new(r"^[[:alpha:]]+$").unwrap();
        assert!(re.is_match("abc"));
    }

    #[test]
    fn quoted_literals() {
        let re = GoRegex::new(r"^\Qa.b\E$").unwrap();
        assert!(re.is_match("a.b"));
        assert!(!re.is_match("axb"));
    }

    #[test]
    fn expansion_names_follow_go() {
        let re = GoRegex::new(r"(?P<first>a)(b)").unwrap();
        assert_eq!(re.replace_all("ab", "$1x"), "");
        assert_eq!(re.replace_all("ab", "${1}x"), "ax");
        assert_eq!(re.replace_all("ab", "$first-$2"), "a-b");
        assert_eq!(re.replace_all("ab", "$$1"), "$1");
        assert_eq!(re.replace_all("ab", "${1"), "${1");
        assert_eq!(re.replace_all("ab", "$01"), "");
    }
}
