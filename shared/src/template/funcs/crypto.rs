//! Sprig password hashing (bcrypt, htpasswd).

use super::{FuncDef, def, s, sv};

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("bcrypt", [Str], |a| bcrypt_hash(&s(&a[0]))),
    def!("htpasswd", [Str, Str], |a| {
        let user = s(&a[0]);
        if user.contains(':') {
            return sv(format!("invalid username: {user}"));
        }
        let h = bcrypt_hash(&s(&a[1]))?;
        sv(format!("{user}:{}", super::strval(&h)))
    }),
];

/// Go's `bcrypt.GenerateFromPassword(p, bcrypt.DefaultCost)`: `$2a$10$...`; errors yield the
/// error text, as sprig returns it.
fn bcrypt_hash(p: &str) -> Result<crate::template::Value, String> {
    match bcrypt::hash_with_result(p, 10) {
        Ok(h) => sv(h.format_for_version(bcrypt::Version::TwoA)),
        Err(e) => sv(e.to_string()),
    }
}
