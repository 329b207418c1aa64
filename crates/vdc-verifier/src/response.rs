//! The Response Endpoint (OID4VP 1.0 §8.2 `direct_post`, §8.3.1 `direct_post.jwt`): the
//! response decoded and matched to its request, the `vp_token` held against the DCQL query
//! (§8.1), and each presentation sent to its credential format's checks in `presentation`
//! (§8.6).
//!
//! The request is found by `state` (or, encrypted, by the JWE `kid`, which names the
//! request's ephemeral key); it must be pending. Every failing check ends the request as
//! `rejected` with its reason, through the store's single conditional update, so of N
//! concurrent responses exactly one is processed (G2).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use vdc_core::jose::jwe::{self, ContentEncryption};
use vdc_core::rng::random_b64;
use vdc_store::events::EventKind;
use vdc_store::{PresentationOutcome, PresentationStatus, SecretHash};

use crate::dcql::{CredentialQuery, FORMAT_DC_SD_JWT, FORMAT_JWT_VC_JSON, FORMAT_MSO_MDOC};
use crate::error::{RejectReason, Result, VerifierError};
use crate::presentation::{
    MdocCheck, PresentationCheck, Presentations, PresentedCredential, dc_sd_jwt, jwt_vc_json,
    mso_mdoc,
};
use crate::request::{LoadedRequest, PresentationError, ResponseMode, loaded, response_key};
use crate::service::{Verifier, bounded};
use crate::tenant::VerifierConfig;
use crate::trust::DeploymentKeyResolver;

/// Longest `vp_token` accepted (bounded before any parsing).
const MAX_VP_TOKEN_LEN: usize = 512 * 1024;

/// What the response endpoint answers on success (OID4VP 1.0 §8.2: `redirect_uri` for the
/// same-device flow, else an empty object). `Debug` does not print the `response_code`
/// the redirect carries.
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ResponseAck {
    /// Where the wallet sends the user, with `#response_code=…` (same-device flow only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
}

impl std::fmt::Debug for ResponseAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseAck")
            .field(
                "redirect_uri",
                &self.redirect_uri.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl Verifier {
    /// Handles one Authorization Response posted to the response URI (form parameters).
    pub async fn respond(
        &self,
        verifier: &str,
        form: &BTreeMap<String, String>,
    ) -> Result<ResponseAck> {
        let (_, config) = self.wallet_verifier(verifier).await?;
        let (req, params, encrypted) = self.locate(verifier, form).await?;
        let now = self.deps.clock.now();
        if req.record.status != PresentationStatus::Pending {
            return Err(VerifierError::NotPending);
        }
        if req.record.expires_at <= now {
            self.expire(verifier, &req.record.request_id).await?;
            return Err(VerifierError::NotPending);
        }
        match self.check(&config, &req, &params, encrypted).await {
            Ok(presentation) => self.accept(verifier, &req, presentation).await,
            Err(Rejection::Wallet(error)) => {
                self.finish(
                    verifier,
                    &req,
                    PresentationStatus::Rejected,
                    None,
                    Some(error),
                    None,
                    self.event(
                        EventKind::PresentationRejected,
                        verifier,
                        &req.record.request_id,
                        "wallet_error",
                        "wallet",
                    ),
                )
                .await?;
                self.metrics.presentation_rejected("wallet_error");
                Ok(ResponseAck::default())
            }
            Err(Rejection::Internal(e)) => Err(e),
            Err(Rejection::Check(reason, description)) => {
                let error = PresentationError::check(reason, &description);
                self.finish(
                    verifier,
                    &req,
                    PresentationStatus::Rejected,
                    None,
                    Some(error),
                    None,
                    self.event(
                        EventKind::PresentationRejected,
                        verifier,
                        &req.record.request_id,
                        reason.as_str(),
                        "wallet",
                    ),
                )
                .await?;
                self.metrics.presentation_rejected(reason.as_str());
                Err(VerifierError::Rejected {
                    reason,
                    description,
                })
            }
        }
    }

    /// Ends the request with `status`; `event` commits with it (the transactional outbox).
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        verifier: &str,
        req: &LoadedRequest,
        status: PresentationStatus,
        result: Option<Presentations>,
        error: Option<PresentationError>,
        code: Option<SecretHash>,
        event: vdc_store::events::DomainEvent,
    ) -> Result<()> {
        let json = |e: serde_json::Error| VerifierError::Internal(e.to_string());
        let outcome = PresentationOutcome {
            status,
            result: result.map(serde_json::to_value).transpose().map_err(json)?,
            error: error.map(serde_json::to_value).transpose().map_err(json)?,
            response_code_hash: code,
        };
        let won = self
            .deps
            .store
            .finish_presentation_request(
                verifier,
                &req.record.request_id,
                &outcome,
                self.deps.clock.now(),
                &self.outbox(std::slice::from_ref(&event)),
            )
            .await?;
        // Ended either way (by this call, or before it by another).
        self.ended(verifier, &req.record.request_id);
        if won {
            // The outcome for operators (docs/LOGGING.md): ids and the error code only, never
            // claim values, the nonce or the response. Logged once, by the call that ended it.
            let request = req.record.request_id.as_str();
            match status {
                PresentationStatus::Verified => {
                    tracing::info!(
                        verifier,
                        request,
                        outcome = "verified",
                        "presentation verified"
                    );
                }
                _ => tracing::info!(
                    verifier,
                    request,
                    outcome = "rejected",
                    error = event.outcome.as_str(),
                    "presentation rejected"
                ),
            }
            self.events.committed(std::slice::from_ref(&event));
            Ok(())
        } else {
            Err(VerifierError::NotPending)
        }
    }

    async fn accept(
        &self,
        verifier: &str,
        req: &LoadedRequest,
        presentation: Presentations,
    ) -> Result<ResponseAck> {
        let redirect = req
            .record
            .request
            .get("redirect_uri")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let code = match &redirect {
            Some(_) => Some(random_b64(self.deps.rng.as_ref(), 32)?),
            None => None,
        };
        self.finish(
            verifier,
            req,
            PresentationStatus::Verified,
            Some(presentation),
            None,
            code.as_deref().map(SecretHash::of),
            self.event(
                EventKind::PresentationVerified,
                verifier,
                &req.record.request_id,
                "verified",
                "wallet",
            ),
        )
        .await?;
        self.metrics.presentation_verified();
        Ok(ResponseAck {
            redirect_uri: match (redirect, code) {
                // Spec: OID4VP 1.0 §8.2: "the Verifier MUST ... bind the response_code".
                (Some(r), Some(c)) => Some(format!("{r}#response_code={c}")),
                _ => None,
            },
        })
    }

    /// Finds the request a response belongs to and its parameters (decrypted for
    /// `direct_post.jwt`). A response naming no known request changes nothing.
    async fn locate(
        &self,
        verifier: &str,
        form: &BTreeMap<String, String>,
    ) -> Result<(LoadedRequest, Map<String, Value>, bool)> {
        let unknown =
            || VerifierError::InvalidRequest("the response names no known request".into());
        if let Some(jwe_token) = form.get("response") {
            // Spec: OID4VP 1.0 §8.3: the JWE `kid` repeats the chosen JWK's kid, which is
            // the request id.
            let header = jwe::protected_header(jwe_token)
                .map_err(|_| VerifierError::InvalidRequest("response is not a JWE".into()))?;
            let kid = header
                .get("kid")
                .and_then(Value::as_str)
                .ok_or_else(unknown)?;
            let record = self
                .pending_by_id(verifier, kid)
                .await?
                .ok_or_else(unknown)?;
            let req = loaded(record)?;
            let key = response_key(self, verifier, &req)?.ok_or_else(unknown)?;
            let decrypted = jwe::decrypt(
                jwe_token,
                &key,
                &[ContentEncryption::A128Gcm, ContentEncryption::A256Gcm],
            )
            .map_err(|_| unknown())?;
            let params = vdc_core::json::parse_object(&decrypted.plaintext, MAX_VP_TOKEN_LEN)
                .map_err(|_| {
                    VerifierError::InvalidRequest(
                        "the decrypted response is not a JSON object".into(),
                    )
                })?;
            // The state inside must be this request's: a JWE cannot be moved to another.
            let state = params
                .get("state")
                .and_then(Value::as_str)
                .ok_or_else(unknown)?;
            if SecretHash::of(state) != req.record.state_hash {
                return Err(unknown());
            }
            return Ok((req, params, true));
        }
        let state = form.get("state").ok_or_else(unknown)?;
        let record = self
            .pending_by_state(verifier, &SecretHash::of(state))
            .await?
            .ok_or_else(unknown)?;
        let params = form
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Ok((loaded(record)?, params, false))
    }

    /// Every check; the verified presentation (contract shape) or why not.
    async fn check(
        &self,
        config: &VerifierConfig,
        req: &LoadedRequest,
        params: &Map<String, Value>,
        encrypted: bool,
    ) -> std::result::Result<Presentations, Rejection> {
        // Spec: OID4VP 1.0 §8.5: an error response ends the transaction with that error.
        if let Some(error) = params.get("error").and_then(Value::as_str) {
            let description = params
                .get("error_description")
                .and_then(Value::as_str)
                .map(bounded);
            return Err(Rejection::Wallet(PresentationError::wallet(
                bounded(error),
                description,
            )));
        }
        // Spec: OID4VP 1.0 §8.3.1: a direct_post.jwt request takes encrypted responses only.
        if req.mode == ResponseMode::DirectPostJwt && !encrypted {
            return Err(Rejection::Check(
                RejectReason::Decryption,
                "this request requires an encrypted response".into(),
            ));
        }
        let vp_token = match params.get("vp_token") {
            Some(Value::String(s)) if s.len() <= MAX_VP_TOKEN_LEN => {
                vdc_core::json::parse_object(s.as_bytes(), MAX_VP_TOKEN_LEN).map_err(|_| {
                    Rejection::Check(
                        RejectReason::Signature,
                        "vp_token is not a JSON object".into(),
                    )
                })?
            }
            Some(Value::Object(o)) => o.clone(),
            _ => {
                return Err(Rejection::Check(
                    RejectReason::Signature,
                    "vp_token is missing or malformed".into(),
                ));
            }
        };
        let nonce = req
            .claims
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let resolver = self
            .resolver(&req.record.verifier_id, config)
            .map_err(|e| Rejection::Check(RejectReason::UntrustedIssuer, e.to_string()))?;
        let internal = |e: VerifierError| Rejection::Internal(e);
        // The mdoc context (IACA roots, the encryption key's thumbprint) is read only when a
        // query asks for an mdoc: the key is unsealed once more otherwise for nothing.
        let wants_mdoc = req
            .dcql
            .credentials
            .iter()
            .any(|c| c.format == FORMAT_MSO_MDOC);
        let trusted_iaca = if wants_mdoc {
            crate::tenant::iaca_anchors(&config.trusted_iaca).map_err(internal)?
        } else {
            Vec::new()
        };
        // Spec: OID4VP 1.0 Appendix B.2.6.1: the thumbprint of "the Verifier's public key
        // used to encrypt the response" when it is encrypted, else null.
        let jwk_thumbprint = if encrypted && wants_mdoc {
            let key = response_key(self, &req.record.verifier_id, req)
                .map_err(internal)?
                .ok_or_else(|| {
                    internal(VerifierError::Internal(
                        "an encrypted response without its request key".into(),
                    ))
                })?;
            let raw = vdc_core::base64url::decode(&key.public_key().thumbprint())
                .ok()
                .and_then(|t| <[u8; 32]>::try_from(t).ok())
                .ok_or_else(|| internal(VerifierError::Internal("JWK thumbprint length".into())))?;
            Some(raw)
        } else {
            None
        };
        let mdoc = MdocCheck {
            response_uri: req
                .claims
                .get("response_uri")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            jwk_thumbprint,
            trusted_iaca: &trusted_iaca,
            public_url: &self.public_url,
        };
        let mut out = Presentations::new();
        for (id, presentations) in &vp_token {
            let query = req.dcql.credential(id).ok_or_else(|| {
                Rejection::Check(
                    RejectReason::DcqlUnsatisfied,
                    format!("presentation for unknown credential query {}", bounded(id)),
                )
            })?;
            let list = match presentations {
                Value::Array(a) if !a.is_empty() => a,
                _ => {
                    return Err(Rejection::Check(
                        RejectReason::Signature,
                        "each vp_token entry must be a non-empty array".into(),
                    ));
                }
            };
            // Spec: OID4VP 1.0 §8.1: without `multiple`, exactly one presentation.
            if !query.multiple && list.len() != 1 {
                return Err(Rejection::Check(
                    RejectReason::DcqlUnsatisfied,
                    format!("credential query {id} allows one presentation"),
                ));
            }
            let mut verified = Vec::new();
            for p in list {
                verified.push(
                    self.check_presentation(config, query, p, nonce, resolver.as_ref(), &mdoc)
                        .await?,
                );
            }
            out.insert(id.clone(), verified);
        }
        let answered: BTreeSet<&str> = vp_token.keys().map(String::as_str).collect();
        req.dcql
            .satisfied_by(&answered)
            .map_err(|m| Rejection::Check(RejectReason::DcqlUnsatisfied, m))?;
        Ok(out)
    }

    async fn check_presentation(
        &self,
        config: &VerifierConfig,
        query: &CredentialQuery,
        presentation: &Value,
        nonce: &str,
        resolver: &DeploymentKeyResolver,
        mdoc: &MdocCheck<'_>,
    ) -> std::result::Result<PresentedCredential, Rejection> {
        let Some(text) = presentation.as_str() else {
            return Err(Rejection::Check(
                RejectReason::Signature,
                "a presentation must be a string".into(),
            ));
        };
        let check = PresentationCheck {
            client_id: &config.client_id,
            nonce,
            resolver,
            issuer_chains: Some(resolver),
            status: self.deps.status.as_ref(),
            settings: &self.settings,
            now: self.deps.clock.now(),
            require_status: config.require_status,
        };
        let checked = if query.format == FORMAT_MSO_MDOC {
            mso_mdoc::check_mso_mdoc(&check, mdoc, query, text).await
        } else {
            check_presentation(&check, query, text).await
        };
        checked.map_err(|(reason, m)| Rejection::Check(reason, m))
    }
}

/// Checks one presentation for one credential query: issuer signature with a key from the
/// verifier's policy (G3, G5), every RFC 9901 §7 rule, the KB-JWT (`aud`, `nonce`, fresh
/// `iat`, `sd_hash`) when the query requires holder binding, `exp`/`nbf`, `vct` and the
/// requested claims (OID4VP 1.0 §6.4.1), and the status. The result entry of the contract
/// (`issuer`, `vct`, `claims` = exactly the disclosed claims, `status`), or the failed
/// check and why. `jwt_vc_json` presentations are checked as OID4VP 1.0 Appendix B.1
/// says; their entry has `type` (the credential's types) instead of `vct`, and `claims`
/// holds exactly the requested claims. `mso_mdoc` presentations need the session
/// transcript and IACA roots of a response and are checked by the response endpoint only.
pub async fn check_presentation(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    text: &str,
) -> std::result::Result<PresentedCredential, (RejectReason, String)> {
    if query.format == FORMAT_JWT_VC_JSON {
        return jwt_vc_json::check_jwt_vc_json(check, query, text).await;
    }
    if query.format != FORMAT_DC_SD_JWT {
        return Err((
            RejectReason::Signature,
            format!("{} presentations are not supported", bounded(&query.format)),
        ));
    }
    dc_sd_jwt::check_dc_sd_jwt(check, query, text).await
}

/// Why a response was not accepted.
enum Rejection {
    /// The wallet answered with an error (stored as is).
    Wallet(PresentationError),
    /// A check failed.
    Check(RejectReason, String),
    /// Our side failed (a stored key or trust list unreadable): nothing is recorded.
    Internal(VerifierError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_ack_is_an_empty_object_or_the_redirect_and_debug_hides_the_code() {
        assert_eq!(
            serde_json::to_value(ResponseAck::default()).unwrap(),
            serde_json::json!({})
        );
        let ack = ResponseAck {
            redirect_uri: Some("https://rp.example/done#response_code=secret".into()),
        };
        assert_eq!(
            serde_json::to_value(&ack).unwrap(),
            serde_json::json!({"redirect_uri": "https://rp.example/done#response_code=secret"})
        );
        assert!(!format!("{ack:?}").contains("secret"));
    }
}
