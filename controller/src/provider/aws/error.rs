//! AWS errors as provider errors: the call, AWS's error code and message (AWS never echoes a
//! secret value in them), or the transport failure.

use std::error::Error as StdError;

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::provider::ProviderError;

/// The text between `<tag>` and `</tag>` in an XML error body.
fn xml_field<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(&body[start..end])
}

/// AWS's error code and message of a failed call, if the service answered. Some endpoints
/// (moto, proxies) wrap query-protocol errors in an extra `<Errors>` element the SDK does not
/// parse; the code is then taken from the body itself.
fn code_and_message<E: ProvideErrorMetadata>(
    e: &SdkError<E, HttpResponse>,
) -> Option<(String, Option<String>)> {
    let SdkError::ServiceError(s) = e else {
        return None;
    };
    if let Some(code) = s.err().code() {
        return Some((code.to_string(), s.err().message().map(str::to_string)));
    }
    let body = std::str::from_utf8(s.raw().body().bytes()?).ok()?;
    let code = xml_field(body, "Code")?;
    Some((
        code.to_string(),
        xml_field(body, "Message").map(str::to_string),
    ))
}

/// AWS's error code of a failed call.
pub(super) fn code<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Option<String> {
    code_and_message(e).map(|(c, _)| c)
}

/// AWS's error message of a failed call.
pub(super) fn message<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Option<String> {
    code_and_message(e).and_then(|(_, m)| m)
}

/// `<call>: <code>: <message>`, or the transport error's chain.
pub(super) fn describe<E>(call: &str, e: &SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    match code_and_message(e) {
        Some((code, Some(m))) if !m.is_empty() => {
            ProviderError::Other(format!("{call}: {code}: {m}"))
        }
        Some((code, _)) => ProviderError::Other(format!("{call}: {code}")),
        None => ProviderError::Other(format!("{call}: {}", DisplayErrorContext(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::xml_field;

    #[test]
    fn reads_codes_from_wrapped_query_errors() {
        let body = "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code>\
                    <Message>The security token included in the request is invalid.</Message>\
                    </Error></Errors></ErrorResponse>";
        assert_eq!(xml_field(body, "Code"), Some("InvalidClientTokenId"));
        assert_eq!(
            xml_field(body, "Message"),
            Some("The security token included in the request is invalid.")
        );
        assert_eq!(xml_field("<a>", "Code"), None);
    }
}
