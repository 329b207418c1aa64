//! Pages of the tenant listings (contract-next "Managing tenants"): `GET /api/v1/issuers`
//! and `GET /api/v1/verifiers` take `limit` and `cursor` and answer `{"items", "next"}` in
//! id order, with the audit log's cursor encoding.

use crate::audit_query::encode_cursor;
use crate::auth::is_slug;

/// The page size when `limit` is absent.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;
/// The largest `limit`.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// A listing query as the URL gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageParams {
    /// `limit=` (1 to [`MAX_PAGE_LIMIT`], default [`DEFAULT_PAGE_LIMIT`]).
    pub limit: u32,
    /// The last id of the previous page (the decoded `cursor=`).
    pub after: Option<String>,
}

/// Parses `limit` and `cursor` (each at most once; other parameters are ignored, as by the
/// audit log). The error is the `error_description` of a `400 invalid_request`.
pub fn parse_page_params(query: Option<&str>) -> Result<PageParams, String> {
    let mut p = PageParams {
        limit: DEFAULT_PAGE_LIMIT,
        after: None,
    };
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if !matches!(name.as_ref(), "limit" | "cursor") {
            continue;
        }
        if !seen.insert(name.clone().into_owned()) {
            return Err(format!("{name} is given twice"));
        }
        if name == "limit" {
            p.limit = value
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_PAGE_LIMIT).contains(l))
                .ok_or_else(|| format!("limit must be an integer from 1 to {MAX_PAGE_LIMIT}"))?;
        } else {
            p.after = Some(
                decode_tenant_cursor(&value)
                    .ok_or_else(|| "cursor is not one this server handed out".to_owned())?,
            );
        }
    }
    Ok(p)
}

/// The `next` of a page whose last item is `id`.
pub fn tenant_cursor(id: &str) -> String {
    encode_cursor(id)
}

/// A cursor names a tenant slug (base64url of it).
fn decode_tenant_cursor(cursor: &str) -> Option<String> {
    if cursor.len() > 128 {
        return None;
    }
    let bytes = vdc_core::base64url::decode(cursor).ok()?;
    let id = String::from_utf8(bytes).ok()?;
    is_slug(&id).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors_parse_or_are_refused() {
        let p = parse_page_params(None).unwrap();
        assert_eq!(p.limit, DEFAULT_PAGE_LIMIT);
        assert_eq!(p.after, None);
        let q = format!("limit=1000&cursor={}&other=1", tenant_cursor("acme"));
        let p = parse_page_params(Some(&q)).unwrap();
        assert_eq!(
            p,
            PageParams {
                limit: 1000,
                after: Some("acme".into())
            }
        );
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=ten",
            "limit=-1",
            "limit=1&limit=2",
            "cursor=%%%",
            "cursor=QUNNRQ", // "ACME": not a slug
        ] {
            assert!(parse_page_params(Some(bad)).is_err(), "{bad}");
        }
    }
}
