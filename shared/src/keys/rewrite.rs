//! `dataFrom[].rewrite`: regexp and transform key rewrites, and the operation list.

use std::fmt::Display;

use super::go_regex::GoRegex;
use super::merge::{MergeSpec, rewrite_merge};
use super::{KeyError, SecretMap};

/// One rewrite operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RewriteOp {
    /// Go `ReplaceAllString(key, target)` on every key.
    Regexp {
        /// Go regular expression.
        source: String,
        /// Replacement with `$1`/`${name}` references.
        target: String,
    },
    /// A template rendered with `.value` = the key.
    Transform {
        /// Template text.
        template: String,
    },
    /// Merge JSON values.
    Merge(MergeSpec),
}

/// ESO `RewriteRegexp`. Keys that rewrite to the same name overwrite each other silently (as in
/// ESO); here the one sorting last wins, deterministically.
pub fn rewrite_regexp(source: &str, target: &str, input: SecretMap) -> Result<SecretMap, KeyError> {
    let re = GoRegex::new(source).map_err(|e| KeyError::Regex(e.to_string()))?;
    Ok(input
        .into_iter()
        .map(|(key, value)| (re.replace_all(&key, target), value))
        .collect())
}

/// ESO `RewriteTransform`: `render(key)` yields the new key. The template engine lives
/// elsewhere; it is plugged in as this closure (rendering the template with `.value` = key).
pub fn rewrite_transform<F, E>(render: F, input: SecretMap) -> Result<SecretMap, KeyError>
where
    F: Fn(&str) -> Result<String, E>,
    E: Display,
{
    input
        .into_iter()
        .map(|(key, value)| match render(&key) {
            Ok(new_key) => Ok((new_key, value)),
            Err(e) => Err(KeyError::Transform {
                key,
                message: e.to_string(),
            }),
        })
        .collect()
}

/// ESO `RewriteMap`: applies the operations in order. `render` receives the transform template
/// and the key, and returns the rendered key.
pub fn rewrite_map<F, E>(
    ops: &[RewriteOp],
    render: F,
    input: SecretMap,
) -> Result<SecretMap, KeyError>
where
    F: Fn(&str, &str) -> Result<String, E>,
    E: Display,
{
    let mut map = input;
    for (index, op) in ops.iter().enumerate() {
        let result = match op {
            RewriteOp::Regexp { source, target } => rewrite_regexp(source, target, map),
            RewriteOp::Transform { template } => {
                rewrite_transform(|key| render(template, key), map)
            }
            RewriteOp::Merge(spec) => rewrite_merge(spec, map),
        };
        map = result.map_err(|e| KeyError::Rewrite {
            index,
            source: Box::new(e),
        })?;
    }
    Ok(map)
}
