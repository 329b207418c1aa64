//! The answer of `GET /api/v1/issuers/{issuer}/haip` and `GET /api/v1/verifiers/{verifier}/haip`
//! (contract-next "HAIP mode"): each rule of OpenID4VC HAIP 1.0 that applies to the tenant,
//! met or not, with the section it comes from. Shared here because issuer and verifier both
//! answer it and neither depends on the other.

use serde::Serialize;

/// A tenant's HAIP report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HaipReport {
    /// Whether the tenant runs in HAIP mode (its rules enforced).
    pub haip: bool,
    /// Every rule, in the order of the profile's sections.
    pub rules: Vec<HaipRule>,
}

/// One rule of the profile as it applies to a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HaipRule {
    /// A short stable name (e.g. `wallet_attestation`).
    pub id: String,
    /// The HAIP 1.0 section (e.g. `4.4.1`).
    pub section: String,
    /// Whether the tenant meets it.
    pub met: bool,
    /// What the rule asks and, when unmet, what to change.
    pub detail: String,
}

impl HaipRule {
    /// A rule.
    pub fn new(id: &str, section: &str, met: bool, detail: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            section: section.into(),
            met,
            detail: detail.into(),
        }
    }
}

impl HaipReport {
    /// The first unmet rule, if any: what a HAIP-mode create/update is refused for.
    pub fn first_unmet(&self) -> Option<&HaipRule> {
        self.rules.iter().find(|r| !r.met)
    }
}
