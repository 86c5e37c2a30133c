//! Mapping the CRD's strategy enums onto the rule-side enums of `shared::keys`.

use shared::api::v1 as api;
use shared::keys;

/// `conversionStrategy` (absent ⇒ Default).
pub fn conversion(s: Option<api::ConversionStrategy>) -> keys::ConversionStrategy {
    match s {
        Some(api::ConversionStrategy::Unicode) => keys::ConversionStrategy::Unicode,
        _ => keys::ConversionStrategy::Default,
    }
}

/// `decodingStrategy` (absent ⇒ None).
pub fn decoding(s: Option<api::DecodingStrategy>) -> keys::DecodingStrategy {
    match s {
        Some(api::DecodingStrategy::Auto) => keys::DecodingStrategy::Auto,
        Some(api::DecodingStrategy::Base64) => keys::DecodingStrategy::Base64,
        Some(api::DecodingStrategy::Base64Url) => keys::DecodingStrategy::Base64Url,
        _ => keys::DecodingStrategy::None,
    }
}

/// `nullBytePolicy` (absent ⇒ Ignore).
pub fn null_bytes(s: Option<api::NullBytePolicy>) -> keys::NullBytePolicy {
    match s {
        Some(api::NullBytePolicy::Fail) => keys::NullBytePolicy::Fail,
        _ => keys::NullBytePolicy::Ignore,
    }
}

/// `merge.priorityPolicy` (absent ⇒ Strict).
pub fn merge_priority(s: Option<api::MergePriorityPolicy>) -> keys::MergePriorityPolicy {
    match s {
        Some(api::MergePriorityPolicy::IgnoreNotFound) => keys::MergePriorityPolicy::IgnoreNotFound,
        _ => keys::MergePriorityPolicy::Strict,
    }
}

/// `merge.conflictPolicy` (absent ⇒ Error).
pub fn merge_conflict(s: Option<api::MergeConflictPolicy>) -> keys::MergeConflictPolicy {
    match s {
        Some(api::MergeConflictPolicy::Ignore) => keys::MergeConflictPolicy::Ignore,
        _ => keys::MergeConflictPolicy::Error,
    }
}

/// `merge.strategy` (absent ⇒ Extract).
pub fn merge_strategy(s: Option<api::MergeStrategy>) -> keys::MergeStrategy {
    match s {
        Some(api::MergeStrategy::Json) => keys::MergeStrategy::Json,
        _ => keys::MergeStrategy::Extract,
    }
}
