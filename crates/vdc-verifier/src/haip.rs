//! The verifier's side of OpenID4VC HAIP 1.0 (§5 "OpenID for Verifiable Presentations",
//! §5.1 "via Redirects"): every rule as it applies to one verifier ([`verifier_rules`]),
//! which `GET /api/v1/verifiers/{verifier}/haip` answers and which a HAIP-mode create or
//! update must meet ([`refusal`]).

use vdc_core::x509;
use vdc_http::haip::{HaipReport, HaipRule};

use crate::tenant::ClientIdPrefix;

/// HAIP 1.0 §5 ("OpenID for Verifiable Presentations").
pub const SECTION_OID4VP: &str = "5";
/// HAIP 1.0 §5.1 ("OpenID for Verifiable Presentations via Redirects").
pub const SECTION_REDIRECTS: &str = "5.1";

/// What of a verifier the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct HaipSubject<'a> {
    /// Whether the verifier runs in HAIP mode.
    pub haip: bool,
    /// Its client identifier prefix.
    pub prefix: ClientIdPrefix,
    /// The `x5c` its signed requests carry (DER, leaf first); empty without certificates.
    pub sent_x5c: &'a [Vec<u8>],
}

/// Every verifier-side HAIP 1.0 rule, met or not, in the order of the profile's text.
pub fn verifier_rules(v: &HaipSubject<'_>) -> HaipReport {
    let leaf = v.sent_x5c.first();
    let is_x509 = matches!(
        v.prefix,
        ClientIdPrefix::X509Hash | ClientIdPrefix::X509SanDns
    );
    // Unreadable certificates count as unmet: nothing vouches for them.
    let self_signed = |c: &Vec<u8>| x509::is_self_signed(c).unwrap_or(true);
    let rules = vec![
        // Spec: HAIP 1.0 §5: "For signed requests, the Verifier MUST use ... the Client
        // Identifier Prefix `x509_hash`".
        HaipRule::new(
            "x509_hash_client_id",
            SECTION_OID4VP,
            v.prefix == ClientIdPrefix::X509Hash,
            if v.prefix == ClientIdPrefix::X509Hash {
                "the client_id uses the x509_hash prefix".to_owned()
            } else {
                format!(
                    "the client_id prefix is {}; HAIP requires x509_hash (create a verifier with \
                     \"client_id_prefix\": \"x509_hash\")",
                    v.prefix.as_str()
                )
            },
        ),
        // Spec: HAIP 1.0 §5.1: "Signed Authorization Requests MUST be used by utilizing JAR
        // [RFC9101] with the `request_uri` parameter."
        HaipRule::new(
            "signed_request_by_reference",
            SECTION_REDIRECTS,
            v.prefix.signed(),
            if v.prefix.signed() {
                "requests are signed request objects (oauth-authz-req+jwt) passed by request_uri"
            } else {
                "redirect_uri verifiers pass unsigned requests by value; use x509_hash"
            },
        ),
        // Spec: HAIP 1.0 §5: "The X.509 certificate of the trust anchor MUST NOT be included in
        // the `x5c` JOSE header of the signed request."
        HaipRule::new(
            "x5c_excludes_trust_anchor",
            SECTION_OID4VP,
            is_x509 && !v.sent_x5c.is_empty() && !v.sent_x5c.iter().skip(1).any(self_signed),
            match (is_x509, v.sent_x5c.len()) {
                (false, _) | (_, 0) => "the verifier signs without an x5c chain",
                (true, _) if v.sent_x5c.iter().skip(1).any(self_signed) => {
                    "the x5c chain includes a self-signed (trust anchor) certificate; configure \
                     the chain without its root"
                }
                _ => "the x5c chain of signed requests ends below the trust anchor",
            },
        ),
        // Spec: HAIP 1.0 §5: "The X.509 certificate signing the request MUST NOT be
        // self-signed."
        HaipRule::new(
            "signing_certificate_not_self_signed",
            SECTION_OID4VP,
            is_x509 && leaf.is_some_and(|l| !self_signed(l)),
            match leaf {
                None => "the verifier has no request-signing certificate",
                Some(l) if self_signed(l) => {
                    "the request-signing certificate is self-signed; use one issued by a CA"
                }
                Some(_) => "the request-signing certificate is issued by a CA",
            },
        ),
        // Spec: HAIP 1.0 §5: "The Response type MUST be `vp_token`"; "The DCQL query and
        // response MUST be used".
        HaipRule::new(
            "vp_token_with_dcql",
            SECTION_OID4VP,
            true,
            "requests ask for a vp_token with a DCQL query",
        ),
        // Spec: HAIP 1.0 §5.1: "Response encryption MUST be used by utilizing response mode
        // `direct_post.jwt`".
        HaipRule::new(
            "direct_post_jwt_only",
            SECTION_REDIRECTS,
            v.haip,
            if v.haip {
                "requests use response_mode direct_post.jwt (the default); others are refused"
            } else {
                "requests may use direct_post (unencrypted); HAIP mode allows direct_post.jwt only"
            },
        ),
        // Spec: HAIP 1.0 §5: ECDH-ES on P-256; "Verifiers MUST list both `A128GCM` and
        // `A256GCM` in `encrypted_response_enc_values_supported`".
        HaipRule::new(
            "response_encryption_algorithms",
            SECTION_OID4VP,
            true,
            "direct_post.jwt requests offer an ECDH-ES P-256 key and list A128GCM and A256GCM \
             in encrypted_response_enc_values_supported",
        ),
        // Spec: HAIP 1.0 §5: "Verifiers MUST supply ephemeral encryption public keys specific
        // to each Authorization Request".
        HaipRule::new(
            "ephemeral_encryption_keys",
            SECTION_OID4VP,
            true,
            "every direct_post.jwt request carries a fresh encryption key in client_metadata.jwks",
        ),
        // Spec: HAIP 1.0 §5: the `aki` Trusted Authority Query "MUST be supported".
        HaipRule::new(
            "trusted_authorities_aki",
            SECTION_OID4VP,
            true,
            "DCQL trusted_authorities of type aki is honoured against the issuer's checked x5c chain",
        ),
        // Spec: HAIP 1.0 §5.1: "Verifiers MUST reject presentations if ... the redirect back
        // arrives in a different user session to the one the request was initiated in."
        HaipRule::new(
            "same_device_session_binding",
            SECTION_REDIRECTS,
            v.haip,
            if v.haip {
                "a response_code is redeemed only together with the id of the request it belongs \
                 to (the relying party's session), and a same-device request's presentation is \
                 handed out only through its code; create requests with redirect_uri \
                 (same-device flow, RECOMMENDED)"
            } else {
                "a response_code may be redeemed without its request id and the result shows the \
                 presentation without it; HAIP mode requires the request id and withholds the \
                 presentation until its code is redeemed in the request's session"
            },
        ),
    ];
    HaipReport {
        haip: v.haip,
        rules,
    }
}

/// Why a HAIP-mode verifier with this configuration is refused: `HAIP 1.0 §N: …` for the
/// first unmet rule; `None` when every rule is met (or the verifier is not in HAIP mode).
pub fn refusal(v: &HaipSubject<'_>) -> Option<String> {
    if !v.haip {
        return None;
    }
    verifier_rules(v)
        .first_unmet()
        .map(|r| format!("HAIP 1.0 §{} ({}): {}", r.section, r.id, r.detail))
}

#[cfg(test)]
mod tests {
    use vdc_core::jose::{Algorithm, SigningKey};
    use vdc_core::rng::SeededRandom;
    use vdc_core::time::UnixTime;
    use vdc_core::x509::CertificateSpec;

    use super::*;

    /// A CA and a leaf it issued.
    fn pki() -> (Vec<u8>, Vec<u8>) {
        let rng = SeededRandom::new(5);
        let spec = |cn: &str| {
            CertificateSpec::new(cn, UnixTime(1_000), UnixTime(2_000_000_000), &rng).unwrap()
        };
        let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let ca = x509::self_signed(&spec("CA").ca(), &ca_key).unwrap();
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = x509::issue(&spec("leaf"), key.public_key(), &ca, &ca_key).unwrap();
        (ca, leaf)
    }

    fn met(report: &HaipReport, id: &str) -> bool {
        report
            .rules
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no rule {id}"))
            .met
    }

    #[test]
    fn a_haip_x509_hash_verifier_with_a_ca_issued_leaf_meets_every_rule() {
        let (_, leaf) = pki();
        let chain = [leaf];
        let v = HaipSubject {
            haip: true,
            prefix: ClientIdPrefix::X509Hash,
            sent_x5c: &chain,
        };
        let report = verifier_rules(&v);
        assert!(report.haip);
        assert_eq!(report.first_unmet(), None, "{report:?}");
        assert_eq!(refusal(&v), None);
        for id in [
            "x509_hash_client_id",
            "signed_request_by_reference",
            "x5c_excludes_trust_anchor",
            "signing_certificate_not_self_signed",
            "direct_post_jwt_only",
            "response_encryption_algorithms",
            "ephemeral_encryption_keys",
            "trusted_authorities_aki",
            "same_device_session_binding",
        ] {
            assert!(met(&report, id), "{id}");
        }
    }

    #[test]
    fn another_prefix_is_refused_in_haip_mode_naming_section_5() {
        let (_, leaf) = pki();
        let chain = [leaf];
        for prefix in [
            ClientIdPrefix::X509SanDns,
            ClientIdPrefix::DecentralizedIdentifier,
            ClientIdPrefix::RedirectUri,
        ] {
            let v = HaipSubject {
                haip: true,
                prefix,
                sent_x5c: &chain,
            };
            assert!(!met(&verifier_rules(&v), "x509_hash_client_id"));
            let why = refusal(&v).unwrap();
            assert!(
                why.starts_with("HAIP 1.0 §5 (x509_hash_client_id)"),
                "{why}"
            );
        }
    }

    #[test]
    fn a_chain_with_its_anchor_or_a_self_signed_leaf_is_unmet() {
        let (ca, leaf) = pki();
        let with_anchor = [leaf, ca.clone()];
        let v = HaipSubject {
            haip: true,
            prefix: ClientIdPrefix::X509Hash,
            sent_x5c: &with_anchor,
        };
        assert!(!met(&verifier_rules(&v), "x5c_excludes_trust_anchor"));
        assert!(met(
            &verifier_rules(&v),
            "signing_certificate_not_self_signed"
        ));
        assert!(refusal(&v).unwrap().contains("x5c_excludes_trust_anchor"));
        let self_signed = [ca];
        let v = HaipSubject {
            sent_x5c: &self_signed,
            ..v
        };
        assert!(!met(
            &verifier_rules(&v),
            "signing_certificate_not_self_signed"
        ));
        assert!(
            refusal(&v)
                .unwrap()
                .contains("signing_certificate_not_self_signed")
        );
    }

    #[test]
    fn a_non_haip_verifier_is_reported_with_the_mode_rules_unmet_and_never_refused() {
        let v = HaipSubject {
            haip: false,
            prefix: ClientIdPrefix::RedirectUri,
            sent_x5c: &[],
        };
        let report = verifier_rules(&v);
        assert!(!report.haip);
        for id in [
            "x509_hash_client_id",
            "signed_request_by_reference",
            "x5c_excludes_trust_anchor",
            "signing_certificate_not_self_signed",
            "direct_post_jwt_only",
            "same_device_session_binding",
        ] {
            assert!(!met(&report, id), "{id}");
        }
        assert!(met(&report, "trusted_authorities_aki"));
        assert_eq!(refusal(&v), None);
    }
}
