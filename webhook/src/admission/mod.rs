//! Admission and conversion: the rules seam and the wire format.

pub mod review;
pub mod rules;

pub use review::{
    AdmissionAnswer, ReviewError, admission_response_bytes, conversion_response_bytes,
    json_patch_bytes,
};
pub use rules::{
    AdmissionRequest, AdmissionRequestView, AdmissionRules, Deny, NoRules, Operation, Verdict,
};
