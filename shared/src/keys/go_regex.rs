//! Go (RE2) regular expressions on top of the `regex` crate.
//!
//! The two dialects agree on almost everything, but a few shorthand classes differ: in Go `\d`,
//! `\w`, `\s` and `\b` are ASCII-only, in Rust they are Unicode-aware; inside a character class Go
//! treats `[` and `&&`/`~~` literally, Rust uses them for nested classes and set operations; Go
//! supports `\Q...\E` quoting. [`GoRegex::new`] rewrites exactly those constructs so patterns
//! written for ESO match the same strings here. Replacement templates follow Go's `Expand` rules
//! (see [`go_expand`]), which differ from the `regex` crate's in how names are delimited.

use regex::{Captures, Regex, RegexBuilder};

/// Compiled-size cap for user-supplied patterns, so a hostile pattern cannot exhaust memory.
const SIZE_LIMIT: usize = 1 << 20;

/// A regular expression with Go RE2 semantics.
#[derive(Clone, Debug)]
pub struct GoRegex {
    re: Regex,
}

impl GoRegex {
    /// Compiles a Go regular expression (unanchored, like Go's `regexp.Compile`).
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        Self::with_wrapper(pattern, "", "")
    }

    /// Compiles `^(?:pattern)$`: the whole input must match.
    pub fn new_anchored(pattern: &str) -> Result<Self, regex::Error> {
        Self::with_wrapper(pattern, "^(?:", ")$")
    }

    fn with_wrapper(pattern: &str, before: &str, after: &str) -> Result<Self, regex::Error> {
        let translated = format!("{before}{}{after}", translate(pattern));
        let re = RegexBuilder::new(&translated)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()?;
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

/// Rewrites the Go-only or differently-meant constructs into Rust syntax.
fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    // Position right after `[` or `[^`, where a `]` is a literal member.
    let mut class_start = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at_class_start = class_start;
        class_start = false;
        if c == '\\' {
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
        out.push(c);
        i += 1;
        if c == '[' {
            in_class = true;
            class_start = true;
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
        }
    }
    out
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
