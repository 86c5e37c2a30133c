//! HTTP handlers for the admission and conversion routes, and the deadline/metrics middleware.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::admission::review::{parse_admission_review_raw, parse_conversion_review};
use crate::admission::rules::RawObjects;
use crate::admission::{
    AdmissionAnswer, AdmissionRequestView, Deny, ReviewError, Verdict, admission_response_bytes,
    conversion_response_bytes,
};
use crate::duration::parse_go_duration;
use crate::server::{AppState, route_label};

/// What an admission route does with a request.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode {
    /// Validate; `Some((group, kind))` pins the endpoint to one kind (ESO's per-kind paths).
    Validate(Option<(&'static str, &'static str)>),
    Mutate,
}

fn json_response(bytes: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}

fn bad_request(state: &AppState, path: &'static str, err: &ReviewError) -> Response {
    state.metrics.record_rejected(path, err.label());
    tracing::debug!(path, cause = err.label(), "rejected unusable review");
    (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response()
}

fn rules_failed(state: &AppState, path: &'static str) -> Response {
    state.metrics.record_rejected(path, "rules_panic");
    tracing::error!(path, "admission rules panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "admission rules failed\n",
    )
        .into_response()
}

pub(crate) async fn admit(
    state: AppState,
    path: &'static str,
    mode: Mode,
    body: Bytes,
) -> Response {
    let review = match parse_admission_review_raw(&body) {
        Ok(review) => review,
        Err(err) => return bad_request(&state, path, &err),
    };
    let api_version = review.api_version;
    let started = Instant::now();
    let rules = state.rules.clone();
    // The rules run as their own task so the deadline middleware can answer from another worker
    // while a rule overruns (the late verdict is dropped). spawn_blocking would also survive a
    // fully blocked runtime, but its thread hand-off cost ~40% of throughput in the load bench.
    let decided = tokio::spawn(async move {
        let mut view = review.request;
        let answer = decide(rules.as_ref(), mode, &mut view, review.objects);
        (view, answer)
    })
    .await;
    let Ok((view, answer)) = decided else {
        return rules_failed(&state, path);
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(err) => return bad_request(&state, path, &err),
    };
    let allowed = matches!(answer, AdmissionAnswer::Allow { .. });
    state.metrics.record_admission(
        path,
        &view.kind.kind,
        view.operation.as_str(),
        allowed,
        started.elapsed(),
    );
    if let AdmissionAnswer::Deny(deny) = &answer {
        state
            .metrics
            .record_denial(&view.kind.kind, deny.effective_reason());
    }
    tracing::debug!(
        path,
        uid = %view.uid,
        kind = %view.kind.kind,
        namespace = view.namespace(),
        name = view.name(),
        operation = view.operation.as_str(),
        allowed,
        "admission decided"
    );
    json_response(admission_response_bytes(api_version, &view.uid, &answer))
}

/// The answer to one request; the objects are parsed into `view` only when the rules cannot
/// decide from their text.
fn decide(
    rules: &dyn crate::admission::AdmissionRules,
    mode: Mode,
    view: &mut AdmissionRequestView,
    objects: RawObjects,
) -> Result<AdmissionAnswer, ReviewError> {
    if let Mode::Validate(Some((group, kind))) = mode
        && (view.kind.group != group || view.kind.kind != kind)
    {
        return Ok(AdmissionAnswer::Deny(Deny::with_code(
            400,
            format!(
                "this endpoint validates {kind}.{group}, not {}.{}; check the webhook configuration's rules",
                view.kind.kind, view.kind.group
            ),
        )));
    }
    if let (Mode::Validate(_), Some(object)) = (mode, objects.object.as_deref())
        && let Some(verdict) = rules.validate_raw(view, object)
    {
        return Ok(answer_of(verdict));
    }
    objects.fill(view).map_err(|e| ReviewError::Malformed {
        what: "AdmissionReview",
        detail: e.to_string(),
    })?;
    Ok(match mode {
        Mode::Validate(_) => answer_of(rules.validate(view)),
        Mode::Mutate => match rules.mutate(view) {
            Ok(patch) => AdmissionAnswer::Allow {
                warnings: Vec::new(),
                patch,
            },
            Err(deny) => AdmissionAnswer::Deny(deny),
        },
    })
}

fn answer_of(verdict: Verdict) -> AdmissionAnswer {
    match verdict {
        Verdict::Allow { warnings } => AdmissionAnswer::Allow {
            warnings,
            patch: Vec::new(),
        },
        Verdict::Deny(deny) => AdmissionAnswer::Deny(deny),
    }
}

pub(crate) async fn convert(State(state): State<AppState>, body: Bytes) -> Response {
    const PATH: &str = "/convert";
    let request = match parse_conversion_review(&body) {
        Ok(request) => request,
        Err(err) => return bad_request(&state, PATH, &err),
    };
    let rules = state.rules.clone();
    let uid = request.uid;
    let desired = request.desired_api_version;
    let objects = request.objects;
    let outcome = tokio::spawn(async move { rules.convert(objects, &desired) }).await;
    let Ok(outcome) = outcome else {
        return rules_failed(&state, PATH);
    };
    if let Err(message) = &outcome {
        tracing::info!(uid = %uid, message = %message, "conversion failed");
    }
    json_response(conversion_response_bytes(&uid, &outcome))
}

/// The apiserver appends `?timeout=<N>s`; a deadline past it helps nobody.
fn caller_timeout(query: Option<&str>) -> Option<Duration> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "timeout")
        .and_then(|(_, value)| parse_go_duration(value).ok())
        .filter(|d| !d.is_zero())
}

/// Per-request deadline (covering body upload and the rules) plus HTTP metrics.
pub(crate) async fn deadline_and_metrics(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = route_label(request.uri().path());
    let deadline = caller_timeout(request.uri().query()).map_or(state.request_timeout, |caller| {
        caller.min(state.request_timeout)
    });
    let started = Instant::now();
    state.metrics.in_flight(path, 1.0);
    let response = match tokio::time::timeout(deadline, next.run(request)).await {
        // With every worker busy the timer cannot fire before a slow rule returns; a verdict
        // arriving after the deadline is still not delivered.
        Ok(response) if started.elapsed() <= deadline => response,
        _ => {
            state.metrics.record_rejected(path, "deadline");
            tracing::warn!(
                path,
                deadline_ms = deadline.as_millis(),
                "admission request exceeded its deadline"
            );
            (
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "admission request not answered within {}ms\n",
                    deadline.as_millis()
                ),
            )
                .into_response()
        }
    };
    state.metrics.in_flight(path, -1.0);
    let status = response.status().as_u16();
    if status == StatusCode::PAYLOAD_TOO_LARGE.as_u16() {
        state.metrics.record_rejected(path, "too_large");
    }
    state.metrics.record_http(path, status, started.elapsed());
    response
}
