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
use crate::request::{LoadedRequest, PresentationError, loaded, response_key};
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
        if req.mode.is_dc_api() {
            // Spec: OID4VP 1.0 Appendix A.4: its answer is bound to the page's origin and
            // comes back through the Digital Credentials API, never to the response URI.
            return Err(VerifierError::InvalidRequest(
                "this request is answered over the Digital Credentials API".into(),
            ));
        }
        self.settle(
            verifier,
            &config,
            &req,
            Answer::Params { params, encrypted },
            &Binding::Redirect,
        )
        .await
    }

    /// Checks a located response and ends its request: verified, or rejected with the
    /// failed check (then `Err(Rejected)`), or with the wallet's error (then `Ok`).
    pub(crate) async fn settle(
        &self,
        verifier: &str,
        config: &VerifierConfig,
        req: &LoadedRequest,
        answer: Answer,
        binding: &Binding,
    ) -> Result<ResponseAck> {
        let req = req.clone();
        let now = self.deps.clock.now();
        if req.record.status != PresentationStatus::Pending {
            return Err(VerifierError::NotPending);
        }
        if req.record.expires_at <= now {
            self.expire(verifier, &req.record.request_id).await?;
            return Err(VerifierError::NotPending);
        }
        let checked = match answer {
            Answer::Params { params, encrypted } => {
                self.check(config, &req, &params, encrypted, binding).await
            }
            Answer::Refused(reason, description) => Err(Rejection::Check(reason, description)),
        };
        match checked {
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
        binding: &Binding,
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
        // Spec: OID4VP 1.0 §8.3.1, Appendix A.2: a direct_post.jwt (dc_api.jwt) request
        // takes encrypted responses only.
        if req.mode.is_encrypted() && !encrypted {
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
        let internal = Rejection::Internal;
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
            dc_api_origin: match binding {
                Binding::Redirect => None,
                Binding::DcApi { origin } => Some(origin),
            },
        };
        let transaction_data =
            crate::request::stored_transaction_data(&Value::Object(req.claims.clone()))
                .map_err(internal)?;
        // Spec: OID4VP 1.0 Appendix A.4: over the DC API "the audience for the response
        // ... MUST be the Origin, prefixed with `origin:`", even for signed requests.
        let audience = match binding {
            // The client_id the request was made with: a rotation since may have changed the
            // verifier's (x509_hash, decentralized_identifier).
            Binding::Redirect => req
                .claims
                .get("client_id")
                .and_then(Value::as_str)
                .unwrap_or(&config.client_id)
                .to_owned(),
            Binding::DcApi { origin } => format!("origin:{origin}"),
        };
        let context = Context {
            audience: &audience,
            nonce,
            resolver: resolver.as_ref(),
            mdoc: &mdoc,
            transaction_data: &transaction_data,
        };
        let mut authorized = BTreeSet::new();
        let mut seen = BTreeSet::new();
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
                // The same presentation twice in one answer counts once: refused, as it
                // would let one credential stand for two (`multiple`, credential sets).
                if !seen.insert(p.as_str().unwrap_or_default().to_owned()) {
                    return Err(Rejection::Check(
                        RejectReason::DcqlUnsatisfied,
                        "the same presentation appears twice in the answer".into(),
                    ));
                }
                let (credentials, bound) =
                    self.check_presentation(config, query, p, &context).await?;
                authorized.extend(bound);
                verified.extend(credentials);
            }
            // Spec: OID4VP 1.0 §6.1 `multiple`: a VP may carry several credentials; more than
            // one result only when the query allows it.
            if !query.multiple && verified.len() != 1 {
                return Err(Rejection::Check(
                    RejectReason::DcqlUnsatisfied,
                    format!("credential query {id} allows one credential"),
                ));
            }
            out.insert(id.clone(), verified);
        }
        let answered: BTreeSet<&str> = vp_token.keys().map(String::as_str).collect();
        req.dcql
            .satisfied_by(&answered)
            .map_err(|m| Rejection::Check(RejectReason::DcqlUnsatisfied, m))?;
        // Spec: OID4VP 1.0 §8.4, Appendix B.3.3: every transaction data entry is authorized
        // by the key binding of a presentation of one of its credential_ids.
        crate::transaction_data::check_all_authorized(&transaction_data, &authorized)
            .map_err(|(r, m)| Rejection::Check(r, m))?;
        Ok(out)
    }

    /// One presentation: its credentials and the transaction data entries its key binding
    /// authorized.
    async fn check_presentation(
        &self,
        config: &VerifierConfig,
        query: &CredentialQuery,
        presentation: &Value,
        context: &Context<'_>,
    ) -> std::result::Result<(Vec<PresentedCredential>, Vec<usize>), Rejection> {
        let Some(text) = presentation.as_str() else {
            return Err(Rejection::Check(
                RejectReason::Signature,
                "a presentation must be a string".into(),
            ));
        };
        let check = PresentationCheck {
            client_id: context.audience,
            nonce: context.nonce,
            resolver: context.resolver,
            issuer_chains: Some(context.resolver),
            status: self.deps.status.as_ref(),
            settings: &self.settings,
            now: self.deps.clock.now(),
            require_status: config.require_status,
            transaction_data: context.transaction_data,
        };
        let checked = match query.format.as_str() {
            FORMAT_MSO_MDOC => mso_mdoc::check_mso_mdoc(&check, context.mdoc, query, text)
                .await
                .map(|c| (vec![c], Vec::new())),
            FORMAT_DC_SD_JWT => dc_sd_jwt::check_dc_sd_jwt_authorizing(&check, query, text)
                .await
                .map(|(c, bound)| (vec![c], bound)),
            FORMAT_JWT_VC_JSON => jwt_vc_json::check_jwt_vc_json_all(&check, query, text)
                .await
                .map(|c| (c, Vec::new())),
            other => Err((
                RejectReason::Signature,
                format!("{} presentations are not supported", bounded(other)),
            )),
        };
        checked.map_err(|(reason, m)| Rejection::Check(reason, m))
    }
}

/// A response's parameters, or the check it failed before they could be read.
pub(crate) enum Answer {
    /// The parameters (decrypted when `encrypted`).
    Params {
        /// The response parameters.
        params: Map<String, Value>,
        /// Whether they came encrypted.
        encrypted: bool,
    },
    /// Refused before any parameter was read (e.g. an answer from an unexpected origin).
    Refused(RejectReason, String),
}

/// What a response is bound to.
#[derive(Debug, Clone)]
pub(crate) enum Binding {
    /// A redirect-based response (§8.2): the client identifier, the response URI.
    Redirect,
    /// An answer through the Digital Credentials API from the page at `origin` (A.4).
    DcApi {
        /// The page's origin.
        origin: String,
    },
}

/// What every presentation of one response is checked against.
struct Context<'a> {
    /// The KB-JWT / VP `aud`.
    audience: &'a str,
    nonce: &'a str,
    resolver: &'a DeploymentKeyResolver,
    mdoc: &'a MdocCheck<'a>,
    transaction_data: &'a [crate::transaction_data::TransactionDataEntry],
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
pub(crate) enum Rejection {
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
