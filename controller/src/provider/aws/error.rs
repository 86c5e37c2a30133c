//! AWS errors as provider errors: the call, AWS's error code and message (AWS never echoes a
//! secret value in them), or the transport failure.

use std::error::Error as StdError;

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::provider::ProviderError;

/// AWS's error code of a failed call, if the service answered.
pub(super) fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// `<call>: <code>: <message>`, or the transport error's chain.
pub(super) fn describe<E, R>(call: &str, e: &SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("Unknown");
            match err.message() {
                Some(m) if !m.is_empty() => ProviderError::Other(format!("{call}: {code}: {m}")),
                _ => ProviderError::Other(format!("{call}: {code}")),
            }
        }
        other => ProviderError::Other(format!("{call}: {}", DisplayErrorContext(other))),
    }
}
