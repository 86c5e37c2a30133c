//! AWS list calls answer in pages linked by `NextToken`.

use crate::provider::ProviderError;

/// One page of a listing: its items and the token of the next page (`None` on the last).
pub(super) type Page<T> = (Vec<T>, Option<String>);

/// The items of every page: `page` is called with no token first, then with each page's
/// `NextToken` until a page has none. The first error ends the listing.
///
/// `page` returns a future rather than being an async closure: the futures of async closures
/// that borrow are not (yet) provably `Send`, which `#[async_trait]` methods need.
pub(super) async fn all_pages<T, Fut>(
    mut page: impl FnMut(Option<String>) -> Fut,
) -> Result<Vec<T>, ProviderError>
where
    Fut: Future<Output = Result<Page<T>, ProviderError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (mut batch, next) = page(token).await?;
        items.append(&mut batch);
        match next {
            Some(next) => token = Some(next),
            None => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn follows_tokens_until_the_last_page() {
        let mut seen = Vec::new();
        let items = all_pages(|token: Option<String>| {
            seen.push(token.clone());
            async move {
                Ok(match token.as_deref() {
                    None => (vec![1, 2], Some("b".to_string())),
                    Some("b") => (vec![], Some("c".to_string())),
                    Some("c") => (vec![3], None),
                    Some(other) => panic!("unexpected token {other}"),
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(items, vec![1, 2, 3]);
        assert_eq!(seen, vec![None, Some("b".into()), Some("c".into())]);
    }

    #[tokio::test]
    async fn an_error_ends_the_listing() {
        let mut calls = 0;
        let result: Result<Vec<u8>, _> = all_pages(|_| {
            calls += 1;
            let call = calls;
            async move {
                if call == 2 {
                    Err(ProviderError::Other("throttled".into()))
                } else {
                    Ok((vec![call], Some("next".to_string())))
                }
            }
        })
        .await;
        assert!(matches!(result, Err(ProviderError::Other(m)) if m == "throttled"));
        assert_eq!(calls, 2);
    }
}
