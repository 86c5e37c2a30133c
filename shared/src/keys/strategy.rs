//! Strategy and policy enums, parsed from ESO's exact API spellings.
//!
//! The CRD types may define their own serde enums; these are the plain rule-side variants, so both
//! can meet through `FromStr` (or `as_str`). An empty string means "field omitted" and maps to the
//! documented default, as in ESO's controller.

use std::fmt;
use std::str::FromStr;

/// A spelling that is not one of the allowed values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (allowed: {allowed})")]
pub struct UnknownStrategy {
    what: &'static str,
    value: String,
    allowed: &'static str,
}

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal, default = $default:ident,
        { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// ESO's spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownStrategy;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    "" => Ok(Self::$default),
                    $( $text => Ok(Self::$variant), )+
                    _ => Err(UnknownStrategy {
                        what: $what,
                        value: s.to_string(),
                        allowed: concat!($( $text, " " ),+).trim_ascii_end(),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// `conversionStrategy` of `dataFrom[].find`/`extract`.
    ConversionStrategy, "conversionStrategy", default = Default,
    {
        /// Invalid characters become `_`.
        #[default]
        Default => "Default",
        /// Invalid characters become `_U<hex>_`.
        Unicode => "Unicode",
    }
);

string_enum!(
    /// PushSecret `conversionStrategy`.
    PushConversionStrategy, "conversionStrategy", default = None,
    {
        /// Keys are pushed as they are.
        #[default]
        None => "None",
        /// `_U<hex>_` sequences are turned back into characters.
        ReverseUnicode => "ReverseUnicode",
    }
);

string_enum!(
    /// `decodingStrategy` of a remote ref and `valuesDecodingStrategy` of templates.
    DecodingStrategy, "decodingStrategy", default = None,
    {
        /// Values are used as fetched.
        #[default]
        None => "None",
        /// Standard base64 alphabet, padding required.
        Base64 => "Base64",
        /// URL-safe base64 alphabet, padding required.
        Base64Url => "Base64URL",
        /// Base64, else Base64URL, else the raw value.
        Auto => "Auto",
    }
);

string_enum!(
    /// `nullBytePolicy` of a remote ref.
    NullBytePolicy, "nullBytePolicy", default = Ignore,
    {
        /// NUL bytes are allowed.
        #[default]
        Ignore => "Ignore",
        /// A value containing a NUL byte fails the sync.
        Fail => "Fail",
    }
);

string_enum!(
    /// `rewrite[].merge.strategy`.
    MergeStrategy, "merge strategy", default = Extract,
    {
        /// The merged fields replace the map.
        #[default]
        Extract => "Extract",
        /// The original map plus one key (`into`) holding the merged JSON.
        Json => "JSON",
    }
);

string_enum!(
    /// `rewrite[].merge.priorityPolicy`.
    MergePriorityPolicy, "priorityPolicy", default = Strict,
    {
        /// A listed priority key that is missing is an error.
        #[default]
        Strict => "Strict",
        /// Missing priority keys are skipped.
        IgnoreNotFound => "IgnoreNotFound",
    }
);

string_enum!(
    /// `rewrite[].merge.conflictPolicy`.
    MergeConflictPolicy, "conflictPolicy", default = Error,
    {
        /// A field present in several inputs is an error.
        #[default]
        Error => "Error",
        /// Later inputs silently win.
        Ignore => "Ignore",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_eso_spellings_and_empty_as_default() {
        assert_eq!("Base64URL".parse(), Ok(DecodingStrategy::Base64Url));
        assert_eq!("".parse(), Ok(DecodingStrategy::None));
        assert_eq!("JSON".parse(), Ok(MergeStrategy::Json));
        assert_eq!("".parse(), Ok(ConversionStrategy::Default));
        assert_eq!(
            "ReverseUnicode".parse(),
            Ok(PushConversionStrategy::ReverseUnicode)
        );
        let err = "base64".parse::<DecodingStrategy>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"unknown decodingStrategy "base64" (allowed: None Base64 Base64URL Auto)"#
        );
    }

    #[test]
    fn as_str_round_trips() {
        for s in [
            DecodingStrategy::None,
            DecodingStrategy::Base64,
            DecodingStrategy::Base64Url,
            DecodingStrategy::Auto,
        ] {
            assert_eq!(s.as_str().parse(), Ok(s));
        }
    }
}
