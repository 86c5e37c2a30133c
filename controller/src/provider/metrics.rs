//! `externalsecret_provider_api_calls_count{provider, call, status}`: one increment per call a
//! provider makes to its backend, with ESO's label values.

use metrics::counter;

/// Metric name, as ESO registers it.
pub const PROVIDER_API_CALLS: &str = "externalsecret_provider_api_calls_count";

/// Records one backend call and passes the result through.
pub fn observe<T, E>(
    provider: &'static str,
    call: &'static str,
    result: Result<T, E>,
) -> Result<T, E> {
    record(provider, call, result.is_ok());
    result
}

/// Records one backend call that succeeded or failed.
pub fn record(provider: &'static str, call: &'static str, ok: bool) {
    counter!(
        PROVIDER_API_CALLS,
        "provider" => provider,
        "call" => call,
        "status" => if ok { "success" } else { "error" }
    )
    .increment(1);
}
