//! Reading the audit log: the query string, who may read which tenant's entries, pages
//! (contract: "Webhooks and audit").

use serde::Serialize;
use utoipa::ToSchema;
use vdc_core::time::UnixTime;
use vdc_core::vc_jose::{format_date_time_stamp, parse_date_time_stamp};
use vdc_store::access::MAX_AUDIT_PAGE;
use vdc_store::events::EventTenant;
use vdc_store::{AccessStore, AuditEntry, AuditQuery};

use crate::auth::is_slug;
use crate::{AccessError, Caller, Scope};

/// The audit page size when `limit` is absent.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;

/// An audit query as the URL gives it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AuditParams {
    /// `issuer=`.
    pub issuer: Option<String>,
    /// `verifier=`.
    pub verifier: Option<String>,
    /// `since=` (RFC 3339).
    pub since: Option<UnixTime>,
    /// `limit=` (1 to 1000, default 100).
    pub limit: u32,
    /// `cursor=` (the `next` of the previous page).
    pub cursor: Option<String>,
}

/// Parses the audit query string: each parameter at most once, `since` as RFC 3339, `limit`
/// 1 to [`MAX_AUDIT_PAGE`], `cursor` as a `next` this server handed out.
pub fn parse_audit_params(query: Option<&str>) -> Result<AuditParams, AccessError> {
    let mut p = AuditParams {
        limit: DEFAULT_AUDIT_LIMIT,
        ..AuditParams::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let name = name.into_owned();
        if !matches!(
            name.as_str(),
            "issuer" | "verifier" | "since" | "limit" | "cursor"
        ) {
            continue;
        }
        if !seen.insert(name.clone()) {
            return Err(AccessError::InvalidRequest(format!(
                "{name} is given twice"
            )));
        }
        match name.as_str() {
            "issuer" | "verifier" => {
                if !is_slug(&value) {
                    return Err(AccessError::InvalidRequest(format!(
                        "{name} must be a slug"
                    )));
                }
                if name == "issuer" {
                    p.issuer = Some(value.into_owned());
                } else {
                    p.verifier = Some(value.into_owned());
                }
            }
            "since" => {
                let t = (value.len() <= 64)
                    .then(|| parse_date_time_stamp(&value).ok())
                    .flatten()
                    .ok_or_else(|| {
                        AccessError::InvalidRequest("since must be an RFC 3339 date-time".into())
                    })?;
                p.since = Some(t);
            }
            "limit" => {
                p.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=MAX_AUDIT_PAGE).contains(l))
                    .ok_or_else(|| {
                        AccessError::InvalidRequest(format!(
                            "limit must be an integer from 1 to {MAX_AUDIT_PAGE}"
                        ))
                    })?;
            }
            _ => {
                p.cursor = Some(decode_cursor(&value).ok_or_else(|| {
                    AccessError::InvalidRequest("cursor is not one this server handed out".into())
                })?);
            }
        }
    }
    if p.issuer.is_some() && p.verifier.is_some() {
        return Err(AccessError::InvalidRequest(
            "name an issuer or a verifier, not both".into(),
        ));
    }
    Ok(p)
}

/// The opaque cursor for "entries below this id".
pub fn encode_cursor(id: &str) -> String {
    vdc_core::base64url::encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<String> {
    if cursor.len() > 64 {
        return None;
    }
    let bytes = vdc_core::base64url::decode(cursor).ok()?;
    let id = String::from_utf8(bytes).ok()?;
    (id.len() == 28
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(id)
}

/// The tenant the caller may read the log of (`None`: everything, admin only).
pub fn audit_scope(caller: &Caller, p: &AuditParams) -> Result<Option<EventTenant>, AccessError> {
    let tenant = p
        .issuer
        .clone()
        .map(EventTenant::Issuer)
        .or_else(|| p.verifier.clone().map(EventTenant::Verifier));
    match (&tenant, caller.is_admin()) {
        (_, true) => Ok(tenant),
        (None, false) => Err(AccessError::Forbidden(
            "an API key must name one of its issuers or verifiers".into(),
        )),
        (Some(t), false) => caller.require(t, Scope::Read).map(|()| tenant),
    }
}

/// One audit entry (ids and outcomes only; never claim values or secrets).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "0000695661c0000000035e1f0a2b", "at": "2026-01-01T12:00:00Z",
    "actor": "hr-backend", "actor_key_id": "key_9c1f0a2b3d4e5f60",
    "action": "POST /api/v1/issuers/{issuer}/offers", "issuer": "acme", "target": "o-3kP9",
    "outcome": "201"}))]
pub struct AuditItem {
    /// The entry id, ordered by time (the `cursor` of the next page encodes one).
    pub id: String,
    /// When (RFC 3339).
    pub at: String,
    /// Who: `admin`, an API key's name, `wallet` or `system`.
    pub actor: String,
    /// The id of the API key that made the call, for calls with a scoped key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub actor_key_id: Option<String>,
    /// A management call (`METHOD /route/{template}`) or a domain event type
    /// (`credential.issued`, ...).
    pub action: String,
    /// The issuer, for issuer entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub issuer: Option<String>,
    /// The verifier, for verifier entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub verifier: Option<String>,
    /// The object: an offer, credential, request, issuer, verifier or key id.
    #[schema(required = true)]
    pub target: Option<String>,
    /// The HTTP status of a call, or the event's outcome.
    pub outcome: String,
}

impl AuditItem {
    /// The answered form of `entry`.
    pub fn new(entry: &AuditEntry) -> Self {
        let (issuer, verifier) = match &entry.tenant {
            Some(EventTenant::Issuer(id)) => (Some(id.clone()), None),
            Some(EventTenant::Verifier(id)) => (None, Some(id.clone())),
            None => (None, None),
        };
        Self {
            id: entry.id.clone(),
            at: format_date_time_stamp(entry.at),
            actor: entry.actor.clone(),
            actor_key_id: entry.actor_key_id.clone(),
            action: entry.action.clone(),
            issuer,
            verifier,
            target: entry.target.clone(),
            outcome: entry.outcome.clone(),
        }
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<AuditItem>,
    /// The `cursor` for the next page; null on the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// One page of the log; `next` is null once a page comes back short.
pub async fn audit_page(
    store: &dyn AccessStore,
    tenant: Option<EventTenant>,
    p: &AuditParams,
) -> Result<AuditPage, AccessError> {
    let entries = store
        .query_audit(&AuditQuery {
            tenant,
            since: p.since,
            before: p.cursor.clone(),
            limit: p.limit,
        })
        .await?;
    let full = u32::try_from(entries.len()).unwrap_or(u32::MAX) >= p.limit;
    let next = entries
        .last()
        .filter(|_| full)
        .map(|e| encode_cursor(&e.id));
    Ok(AuditPage {
        items: entries.iter().map(AuditItem::new).collect(),
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::time::UnixTime;

    #[test]
    fn audit_items_name_their_tenant_kind_and_carry_a_null_target() {
        let mut entry = AuditEntry {
            id: "1".into(),
            at: UnixTime(0),
            actor: "system".into(),
            actor_key_id: None,
            action: "credential.issued".into(),
            tenant: None,
            target: None,
            outcome: "ok".into(),
        };
        assert_eq!(
            serde_json::to_value(AuditItem::new(&entry)).unwrap(),
            serde_json::json!({"id": "1", "at": "1970-01-01T00:00:00Z", "actor": "system",
                "action": "credential.issued", "target": null, "outcome": "ok"})
        );
        entry.actor_key_id = Some("key_1".into());
        entry.tenant = Some(EventTenant::Verifier("v".into()));
        entry.target = Some("r-1".into());
        assert_eq!(
            serde_json::to_value(AuditItem::new(&entry)).unwrap(),
            serde_json::json!({"id": "1", "at": "1970-01-01T00:00:00Z", "actor": "system",
                "actor_key_id": "key_1", "action": "credential.issued", "verifier": "v",
                "target": "r-1", "outcome": "ok"})
        );
        entry.tenant = Some(EventTenant::Issuer("acme".into()));
        let v = serde_json::to_value(AuditItem::new(&entry)).unwrap();
        assert_eq!(v["issuer"], "acme");
        assert!(v.get("verifier").is_none());
    }

    #[test]
    fn audit_params_parse_strictly() {
        let p = parse_audit_params(Some("issuer=acme&since=2026-01-01T00:00:00Z&limit=5")).unwrap();
        assert_eq!(p.issuer.as_deref(), Some("acme"));
        assert_eq!(p.limit, 5);
        assert_eq!(p.since, Some(UnixTime(1_767_225_600)));
        assert_eq!(parse_audit_params(None).unwrap().limit, 100);
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=x",
            "since=yesterday",
            "issuer=a&verifier=b",
            "issuer=a&issuer=b",
            "issuer=UP",
            "cursor=zz",
        ] {
            assert!(parse_audit_params(Some(bad)).is_err(), "{bad}");
        }
        let id = vdc_store::access::audit_id(UnixTime(5), 9);
        let p = parse_audit_params(Some(&format!("cursor={}", encode_cursor(&id)))).unwrap();
        assert_eq!(p.cursor, Some(id));
    }
}
