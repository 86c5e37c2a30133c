//! AdmissionReview and ConversionReview on the wire, parsed and written by hand.
//!
//! kube's admission response type serialises `patch` as whatever serde makes of `Vec<u8>`
//! (kube-rs #1781: a JSON array of numbers). The API documents a base64 string with
//! `patchType: JSONPatch`, so the response structs here are ours and the patch is encoded here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::rules::{AdmissionRequestView, Deny, RawObjects, RawRequestView};

/// The AdmissionReview versions the apiserver may send (ESO's configurations list both).
pub const ADMISSION_V1: &str = "admission.k8s.io/v1";
pub const ADMISSION_V1BETA1: &str = "admission.k8s.io/v1beta1";
pub const CONVERSION_V1: &str = "apiextensions.k8s.io/v1";

/// Why a request body is not a usable review; the message goes back to the caller with a 400.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    #[error("request body is empty")]
    Empty,
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("unsupported apiVersion {0:?} for {1}")]
    ApiVersion(String, &'static str),
    #[error("kind must be {expected:?}, got {got:?}")]
    Kind { expected: &'static str, got: String },
    #[error("{0} has no request")]
    MissingRequest(&'static str),
    #[error("request.uid must not be empty")]
    MissingUid,
}

impl ReviewError {
    /// A short label for metrics and logs that never carries request content.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Malformed { .. } => "malformed",
            Self::ApiVersion(..) => "api_version",
            Self::Kind { .. } => "kind",
            Self::MissingRequest(_) => "missing_request",
            Self::MissingUid => "missing_uid",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReviewEnvelope<R> {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    request: Option<R>,
}

/// A parsed AdmissionReview request with the apiVersion to answer in.
#[derive(Debug, Clone)]
pub struct AdmissionReviewRequest {
    pub api_version: &'static str,
    pub request: AdmissionRequestView,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
}

/// On a parse failure, a wrong apiVersion or kind explains more than the field error inside
/// `request` it caused, so check the header separately (only on this error path).
fn explain_failure(
    body: &[u8],
    err: &serde_json::Error,
    what: &'static str,
    versions: &[&str],
) -> ReviewError {
    if let Ok(header) = serde_json::from_slice::<Header>(body) {
        if !versions.contains(&header.api_version.as_str()) {
            return ReviewError::ApiVersion(header.api_version, what);
        }
        if header.kind != what {
            return ReviewError::Kind {
                expected: what,
                got: header.kind,
            };
        }
    }
    ReviewError::Malformed {
        what,
        detail: err.to_string(),
    }
}

/// Parses an AdmissionReview body (v1 or v1beta1).
pub fn parse_admission_review(body: &[u8]) -> Result<AdmissionReviewRequest, ReviewError> {
    let raw = parse_admission_review_raw(body)?;
    let mut request = raw.request;
    raw.objects
        .fill(&mut request)
        .map_err(|e| ReviewError::Malformed {
            what: "AdmissionReview",
            detail: e.to_string(),
        })?;
    Ok(AdmissionReviewRequest {
        api_version: raw.api_version,
        request,
    })
}

/// An AdmissionReview whose objects are still JSON text.
#[derive(Debug)]
pub(crate) struct RawAdmissionReview {
    pub api_version: &'static str,
    /// The request without `object`/`oldObject` (they are in `objects`).
    pub request: AdmissionRequestView,
    pub objects: RawObjects,
}

/// [`parse_admission_review`] without building the objects' `Value` trees.
pub(crate) fn parse_admission_review_raw(body: &[u8]) -> Result<RawAdmissionReview, ReviewError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ReviewError::Empty);
    }
    let envelope: ReviewEnvelope<RawRequestView> = serde_json::from_slice(body).map_err(|e| {
        explain_failure(
            body,
            &e,
            "AdmissionReview",
            &[ADMISSION_V1, ADMISSION_V1BETA1],
        )
    })?;
    let api_version = match envelope.api_version.as_str() {
        ADMISSION_V1 => ADMISSION_V1,
        ADMISSION_V1BETA1 => ADMISSION_V1BETA1,
        other => return Err(ReviewError::ApiVersion(other.to_owned(), "AdmissionReview")),
    };
    if envelope.kind != "AdmissionReview" {
        return Err(ReviewError::Kind {
            expected: "AdmissionReview",
            got: envelope.kind,
        });
    }
    let request = envelope
        .request
        .ok_or(ReviewError::MissingRequest("AdmissionReview"))?;
    if request.uid.is_empty() {
        return Err(ReviewError::MissingUid);
    }
    let (request, objects) = request.split();
    Ok(RawAdmissionReview {
        api_version,
        request,
        objects,
    })
}

/// `response.status` as the apiserver reads it (a `metav1.Status`).
#[derive(Debug, Serialize)]
struct StatusOut<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'a str,
    code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<DetailsOut<'a>>,
}

/// `metav1.StatusDetails` with only the causes: the apiserver passes a webhook's details through
/// to the client unchanged.
#[derive(Debug, Serialize)]
struct DetailsOut<'a> {
    causes: Vec<CauseOut<'a>>,
}

#[derive(Debug, Serialize)]
struct CauseOut<'a> {
    reason: &'static str,
    message: &'a str,
    field: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AdmissionResponseOut<'a> {
    uid: &'a str,
    allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<StatusOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReviewOut<'a, R> {
    api_version: &'a str,
    kind: &'static str,
    response: R,
}

/// The answer to one admission request.
#[derive(Debug, Clone, PartialEq)]
pub enum AdmissionAnswer {
    Allow {
        warnings: Vec<String>,
        patch: Vec<json_patch::PatchOperation>,
    },
    Deny(Deny),
}

/// Serialises the AdmissionReview response. A non-empty patch is sent as base64 of the JSON patch
/// bytes with `patchType: JSONPatch`; an empty one is omitted entirely.
pub fn admission_response_bytes(api_version: &str, uid: &str, answer: &AdmissionAnswer) -> Vec<u8> {
    let response = match answer {
        AdmissionAnswer::Allow { warnings, patch } => {
            let encoded = (!patch.is_empty()).then(|| BASE64.encode(json_patch_bytes(patch)));
            AdmissionResponseOut {
                uid,
                allowed: true,
                status: None,
                patch_type: encoded.as_ref().map(|_| "JSONPatch"),
                patch: encoded,
                warnings,
            }
        }
        AdmissionAnswer::Deny(deny) => AdmissionResponseOut {
            uid,
            allowed: false,
            status: Some(StatusOut {
                message: &deny.message,
                reason: deny.effective_reason(),
                code: deny.code,
                details: (!deny.causes.is_empty()).then(|| DetailsOut {
                    causes: deny
                        .causes
                        .iter()
                        .map(|c| CauseOut {
                            reason: "FieldValueInvalid",
                            message: &c.message,
                            field: &c.path,
                        })
                        .collect(),
                }),
            }),
            patch: None,
            patch_type: None,
            warnings: &deny.warnings,
        },
    };
    to_vec(&ReviewOut {
        api_version,
        kind: "AdmissionReview",
        response,
    })
}

/// The JSON patch document exactly as it is base64-encoded into `response.patch`.
pub fn json_patch_bytes(patch: &[json_patch::PatchOperation]) -> Vec<u8> {
    to_vec(&patch)
}

fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs (strings, numbers, JSON values) cannot fail; an empty body
    // would surface as a webhook error at the apiserver rather than a panic here.
    serde_json::to_vec(value).unwrap_or_default()
}

/// `ConversionReview.request`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionRequest {
    pub uid: String,
    #[serde(rename = "desiredAPIVersion")]
    pub desired_api_version: String,
    #[serde(default)]
    pub objects: Vec<Value>,
}

/// Parses a ConversionReview (apiextensions.k8s.io/v1 only; v1beta1 conversion is gone since 1.22).
pub fn parse_conversion_review(body: &[u8]) -> Result<ConversionRequest, ReviewError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ReviewError::Empty);
    }
    let envelope: ReviewEnvelope<ConversionRequest> = serde_json::from_slice(body)
        .map_err(|e| explain_failure(body, &e, "ConversionReview", &[CONVERSION_V1]))?;
    if envelope.api_version != CONVERSION_V1 {
        return Err(ReviewError::ApiVersion(
            envelope.api_version,
            "ConversionReview",
        ));
    }
    if envelope.kind != "ConversionReview" {
        return Err(ReviewError::Kind {
            expected: "ConversionReview",
            got: envelope.kind,
        });
    }
    let request = envelope
        .request
        .ok_or(ReviewError::MissingRequest("ConversionReview"))?;
    if request.uid.is_empty() {
        return Err(ReviewError::MissingUid);
    }
    Ok(request)
}

#[derive(Debug, Serialize)]
struct ConversionResult<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ConversionResponseOut<'a> {
    uid: &'a str,
    converted_objects: &'a [Value],
    result: ConversionResult<'a>,
}

/// Serialises the ConversionReview response: `result.status` is `Success` or `Failure` (the
/// apiserver rejects anything that is not `Success`).
pub fn conversion_response_bytes(uid: &str, outcome: &Result<Vec<Value>, String>) -> Vec<u8> {
    let response = match outcome {
        Ok(objects) => ConversionResponseOut {
            uid,
            converted_objects: objects,
            result: ConversionResult {
                status: "Success",
                message: "",
            },
        },
        Err(message) => ConversionResponseOut {
            uid,
            converted_objects: &[],
            result: ConversionResult {
                status: "Failure",
                message,
            },
        },
    };
    to_vec(&ReviewOut {
        api_version: CONVERSION_V1,
        kind: "ConversionReview",
        response,
    })
}
