//! The holder side of OpenID for Verifiable Presentations 1.0: resolve an `openid4vp://`
//! authorization request, fetch and verify its request object per the client identifier
//! prefix (§5.9.3), match the DCQL query (§6) against stored credentials, disclose only what
//! is asked, bind each presentation with a KB-JWT (`aud` = full `client_id`, the request's
//! `nonce`) or, for `mso_mdoc` (Appendix B.2), a device signature over the B.2.6.1 session
//! transcript, and answer with `direct_post` (§8.2) or `direct_post.jwt` (§8.3.1).
//!
//! The steps are public so tests can drive them one by one (and tamper in between):
//! [`Wallet::resolve_presentation_request`], [`Wallet::select_credentials`],
//! [`Wallet::presentation_for`], [`Wallet::send_presentation`]; [`Wallet::present`] chains
//! them.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use vdc_core::claims_path::ClaimPath;
use vdc_core::did::{Relationship, did_from_url};
use vdc_core::jose::jwe::{self, ContentEncryption, JweHeaderParams, RecipientKey};
use vdc_core::jose::{AlgorithmPolicy, PublicKey, jws};
use vdc_core::rng::random_b64;
use vdc_core::sd_jwt::{
    Disclosure, KeyBindingInput, SdJwt, present, select_disclosures, unpack_payload,
};
use vdc_core::x509::{self, TrustAnchors};

use crate::error::{Endpoint, Error, Result};
use crate::mdoc::{FORMAT_MSO_MDOC, elements_json, namespace_element};
use crate::status::CredentialState;
use crate::store::StoredCredential;
use crate::wallet::Wallet;

/// Spec: RFC 9101 §10.2: the request object media type.
const REQUEST_OBJECT_MEDIA_TYPE: &str = "application/oauth-authz-req+jwt";

/// Why a certificate-identified verifier is refused when the wallet has no anchors for it
/// (see [`Error::is_unanchored_verifier`]).
pub(crate) const NO_TRUST_ANCHOR: &str = "no trust anchor for verifier certificates";

/// How the wallet decides to trust a verifier's request object.
#[derive(Clone, Default)]
pub struct VerifierTrust {
    /// Anchors for `x509_san_dns` / `x509_hash` certificate chains.
    pub x509_anchors: Option<TrustAnchors>,
    /// Accept an `x5c` chain without a trust anchor (the signature and the client id binding
    /// are still checked). For local demos only.
    pub accept_unanchored_x509: bool,
}

impl std::fmt::Debug for VerifierTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierTrust")
            .field(
                "x509_anchors",
                &self.x509_anchors.as_ref().map(TrustAnchors::len),
            )
            .field("accept_unanchored_x509", &self.accept_unanchored_x509)
            .finish()
    }
}

/// A verified authorization request.
#[derive(Debug, Clone)]
pub struct PresentationRequest {
    /// The full client identifier (with prefix): the KB-JWT `aud`.
    pub client_id: String,
    /// The request parameters (from the request object, or by value for `redirect_uri`).
    pub params: Map<String, Value>,
}

impl PresentationRequest {
    fn str(&self, name: &str) -> Result<&str> {
        self.params
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("{name} is missing")))
    }

    /// The `nonce`.
    pub fn nonce(&self) -> Result<&str> {
        self.str("nonce")
    }

    /// The `state`, if any.
    pub fn state(&self) -> Option<&str> {
        self.params.get("state").and_then(Value::as_str)
    }

    /// The `response_uri`.
    pub fn response_uri(&self) -> Result<&str> {
        self.str("response_uri")
    }

    /// The `response_mode`.
    pub fn response_mode(&self) -> Result<&str> {
        self.str("response_mode")
    }

    /// The `dcql_query`.
    pub fn dcql_query(&self) -> Result<&Map<String, Value>> {
        self.params
            .get("dcql_query")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("dcql_query is missing"))
    }
}

/// One credential chosen for one credential query, with the paths to disclose.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The DCQL credential query id.
    pub query_id: String,
    /// The stored credential.
    pub credential: StoredCredential,
    /// The claims to disclose.
    pub paths: Vec<ClaimPath>,
}

/// How [`Wallet::select_credentials_with`] chooses.
#[derive(Debug, Clone)]
pub struct SelectOptions {
    /// Check each candidate's status list and pass over revoked and suspended credentials.
    pub check_status: bool,
    /// Stored credential ids that alone may answer the queries they match (other queries
    /// are answered as usual); each must match some query of the request.
    pub only: Vec<String>,
}

impl Default for SelectOptions {
    fn default() -> Self {
        Self {
            check_status: true,
            only: Vec::new(),
        }
    }
}

/// One candidate credential looked at while selecting.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The DCQL credential query it matched.
    pub query_id: String,
    /// The stored credential's id.
    pub credential_id: String,
    /// What its status list said (`Unknown("not checked")` without a status check).
    pub state: CredentialState,
    /// Whether it was selected (false: passed over as revoked or suspended).
    pub chosen: bool,
}

/// What [`Wallet::select_credentials_with`] chose, and what it looked at on the way.
#[derive(Debug, Clone)]
pub struct SelectionOutcome {
    /// One selection per credential query to answer.
    pub selections: Vec<Selection>,
    /// Every candidate whose status was looked at, in order.
    pub checked: Vec<Checked>,
}

/// What the verifier answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationSent {
    /// The `redirect_uri` of a same-device flow, if the verifier sent one.
    pub redirect_uri: Option<String>,
}

fn bad(m: impl Into<String>) -> Error {
    Error::InvalidPresentationRequest(m.into())
}

fn query_params(uri: &str) -> Result<BTreeMap<String, String>> {
    let url = url::Url::parse(uri).map_err(|_| bad("not a URL"))?;
    let mut out = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(bad(format!("parameter {k} is repeated")));
        }
    }
    Ok(out)
}

impl Wallet {
    /// Resolves an `openid4vp://` authorization request: fetches its request object
    /// (`request_uri_method` get or post) and verifies it per the client id prefix.
    pub async fn resolve_presentation_request(
        &self,
        uri: &str,
        trust: &VerifierTrust,
    ) -> Result<PresentationRequest> {
        let q = query_params(uri)?;
        let client_id = q
            .get("client_id")
            .ok_or_else(|| bad("client_id is missing"))?;
        let Some(request_uri) = q.get("request_uri") else {
            // Spec: OID4VP 1.0 §5.9.3: only redirect_uri requests come unsigned, by value.
            let Some(response_uri) = client_id.strip_prefix("redirect_uri:") else {
                return Err(bad("an unsigned request needs the redirect_uri prefix"));
            };
            let mut params = Map::new();
            for (k, v) in &q {
                let value = match k.as_str() {
                    "dcql_query" | "client_metadata" => {
                        serde_json::from_str(v).map_err(|_| bad(format!("{k} is not JSON")))?
                    }
                    _ => Value::String(v.clone()),
                };
                params.insert(k.clone(), value);
            }
            let request = PresentationRequest {
                client_id: client_id.clone(),
                params,
            };
            if request.response_uri()? != response_uri {
                return Err(bad("response_uri differs from the client id"));
            }
            return Ok(request);
        };
        let post = match q.get("request_uri_method").map(String::as_str) {
            None | Some("get") => false,
            Some("post") => true,
            Some(_) => return Err(bad("unknown request_uri_method")),
        };
        let http = self.http();
        let mut wallet_nonce = None;
        let response = if post {
            let n = random_b64(self.options().rng.as_ref(), 16)?;
            // Spec: OID4VP 1.0 B.2.2: mdoc algorithms are COSE identifiers (-7 ES256,
            // -8 EdDSA), what vdc_core::mdoc signs and verifies.
            let metadata = json!({"vp_formats_supported": {"dc+sd-jwt": {
                "sd-jwt_alg_values": ["ES256", "EdDSA"], "kb-jwt_alg_values": ["ES256", "EdDSA"]},
                "jwt_vc_json": {"alg_values": ["ES256", "EdDSA"]},
                "mso_mdoc": {"issuerauth_alg_values": [-7, -8], "deviceauth_alg_values": [-7, -8]}}})
            .to_string();
            let r = http
                .post_form_accept(
                    Endpoint::RequestObject,
                    request_uri,
                    &[("wallet_metadata", &metadata), ("wallet_nonce", &n)],
                    REQUEST_OBJECT_MEDIA_TYPE,
                )
                .await?;
            wallet_nonce = Some(n);
            r
        } else {
            http.get(
                Endpoint::RequestObject,
                request_uri,
                REQUEST_OBJECT_MEDIA_TYPE,
            )
            .await?
        };
        if !response.is_success() {
            return Err(response.into_error(Endpoint::RequestObject, http.max_bytes()));
        }
        let token = std::str::from_utf8(&response.body)
            .map_err(|_| bad("request object is not text"))?
            .trim()
            .to_owned();
        let jws = jws::decode(&token).map_err(|e| bad(format!("request object: {e}")))?;
        jws.expect_typ("oauth-authz-req+jwt")
            .map_err(|e| bad(e.to_string()))?;
        // Spec: OID4VP 1.0 §5.10.1: client_id in the request and the object MUST be identical.
        if jws.claim_str("client_id") != Some(client_id.as_str()) {
            return Err(bad("client_id of the request object differs"));
        }
        let key = self.request_key(client_id, &jws.header, trust)?;
        jws.verify(&key, &AlgorithmPolicy::default())
            .map_err(|e| bad(format!("request object signature: {e}")))?;
        if let Some(n) = &wallet_nonce
            && jws.claim_str("wallet_nonce") != Some(n.as_str())
        {
            // Spec: OID4VP 1.0 §5.10.1: "If it does not, the Wallet MUST terminate".
            return Err(bad("wallet_nonce does not match"));
        }
        let request = PresentationRequest {
            client_id: client_id.clone(),
            params: jws.payload.clone(),
        };
        if jws.claim_str("response_type") != Some("vp_token") {
            return Err(bad("response_type must be vp_token"));
        }
        request.nonce()?;
        request.response_uri()?;
        Ok(request)
    }

    /// The key that must have signed the request object, per the client id prefix.
    fn request_key(
        &self,
        client_id: &str,
        header: &Map<String, Value>,
        trust: &VerifierTrust,
    ) -> Result<PublicKey> {
        let (prefix, original) = client_id
            .split_once(':')
            .ok_or_else(|| bad("client_id has no prefix"))?;
        match prefix {
            "x509_san_dns" | "x509_hash" => {
                let chain = x509::parse_x5c(header.get("x5c").unwrap_or(&Value::Null))
                    .map_err(|e| bad(format!("x5c: {e}")))?;
                let leaf = chain.first().ok_or_else(|| bad("x5c is empty"))?;
                let key = match &trust.x509_anchors {
                    Some(anchors) => {
                        let v = x509::validate_x5c(&chain, anchors, self.options().clock.now())
                            .map_err(|e| bad(format!("verifier certificate: {e}")))?;
                        v.public_key
                    }
                    None if trust.accept_unanchored_x509 => x509::leaf_public_key(leaf)
                        .map_err(|e| bad(format!("verifier certificate: {e}")))?,
                    None => return Err(bad(NO_TRUST_ANCHOR)),
                };
                if prefix == "x509_san_dns" {
                    // Spec: OID4VP 1.0 §5.9.3: the DNS name MUST match a dNSName SAN.
                    if !x509::leaf_has_dns_san(leaf, original).unwrap_or(false) {
                        return Err(bad("client id is not a DNS SAN of the certificate"));
                    }
                } else if x509::x509_hash(leaf) != original {
                    return Err(bad("client id is not the hash of the certificate"));
                }
                Ok(key)
            }
            "decentralized_identifier" => {
                // Spec: OID4VP 1.0 §5.9.3: the key is identified by `kid`, a DID URL of
                // this DID. did:jwk resolves locally.
                let kid = header
                    .get("kid")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("kid is missing"))?;
                if did_from_url(kid) != original {
                    return Err(bad("kid is not a key of the client's DID"));
                }
                if !original.starts_with("did:jwk:") {
                    return Err(bad("only did:jwk verifiers are supported"));
                }
                let doc = vdc_core::did::jwk::resolve(original)
                    .map_err(|e| bad(format!("DID resolution: {e}")))?;
                doc.key_for(kid, Relationship::Authentication)
                    .or_else(|_| doc.key_for(kid, Relationship::AssertionMethod))
                    .cloned()
                    .map_err(|e| bad(format!("DID key: {e}")))
            }
            _ => Err(bad(format!("client id prefix {prefix} is not supported"))),
        }
    }

    /// Chooses stored credentials for the DCQL query (OID4VP 1.0 §6.4): for each credential
    /// query that must be answered, the first credential of its format and `vct` holding
    /// every requested claim (or the first satisfiable claim set), with the paths to disclose.
    ///
    /// This step does not look at status lists (tests drive it to present anything);
    /// [`Wallet::select_credentials_with`] skips revoked and suspended credentials.
    pub async fn select_credentials(
        &self,
        request: &PresentationRequest,
    ) -> Result<Vec<Selection>> {
        let options = SelectOptions {
            check_status: false,
            only: Vec::new(),
        };
        Ok(self
            .select_credentials_with(request, &options)
            .await?
            .selections)
    }

    /// Chooses stored credentials for the DCQL query as [`Wallet::select_credentials`] does,
    /// trying the matching credentials of each query in order (oldest first) and, with
    /// [`SelectOptions::check_status`], passing over those whose status list says revoked or
    /// suspended ([`Wallet::credential_status`]). Fails with
    /// [`Error::NoMatchingCredential`] naming them when nothing usable is left for a query
    /// that must be answered.
    pub async fn select_credentials_with(
        &self,
        request: &PresentationRequest,
        options: &SelectOptions,
    ) -> Result<SelectionOutcome> {
        let query = request.dcql_query()?;
        let creds = query
            .get("credentials")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("dcql_query has no credentials"))?;
        let stored = self.list().await?;
        for id in &options.only {
            if !stored.iter().any(|c| &c.id == id) {
                return Err(Error::NoMatchingCredential(format!(
                    "no stored credential has id {}",
                    crate::error::bounded(id)
                )));
            }
        }
        let mut candidates: Vec<(String, Vec<Selection>)> = Vec::new();
        for cq in creds {
            let id = cq.get("id").and_then(Value::as_str).unwrap_or_default();
            candidates.push((id.to_owned(), match_query(cq, &stored)?));
        }
        for id in &options.only {
            if !candidates
                .iter()
                .any(|(_, m)| m.iter().any(|s| &s.credential.id == id))
            {
                return Err(Error::NoMatchingCredential(format!(
                    "credential {} does not match any credential query of the request",
                    crate::error::bounded(id)
                )));
            }
        }
        let mut found: BTreeMap<String, Selection> = BTreeMap::new();
        let mut checked = Vec::new();
        // Per query id: the matching credentials passed over as revoked or suspended.
        let mut blocked: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, mut matches) in candidates {
            if matches
                .iter()
                .any(|s| options.only.contains(&s.credential.id))
            {
                matches.retain(|s| options.only.contains(&s.credential.id));
            }
            for sel in matches {
                let state = if options.check_status {
                    self.credential_status(&sel.credential).await
                } else {
                    CredentialState::Unknown("not checked".into())
                };
                let usable = !state.is_unusable();
                if !usable {
                    blocked.entry(id.clone()).or_default().push(format!(
                        "{} ({})",
                        sel.credential.id,
                        state.as_str()
                    ));
                }
                checked.push(Checked {
                    query_id: id.clone(),
                    credential_id: sel.credential.id.clone(),
                    state,
                    chosen: usable,
                });
                if usable {
                    found.insert(
                        id.clone(),
                        Selection {
                            query_id: id.clone(),
                            ..sel
                        },
                    );
                    break;
                }
            }
        }
        let unusable = |id: &str| {
            blocked.get(id).map(|list| {
                Error::NoMatchingCredential(format!(
                    "every credential matching credential query {id} is revoked or suspended: {}",
                    list.join(", ")
                ))
            })
        };
        let required: Vec<Vec<String>> = match query
            .get("credential_sets")
            .and_then(Value::as_array)
        {
            None => creds
                .iter()
                .filter_map(|c| c.get("id").and_then(Value::as_str))
                .map(|id| vec![id.to_owned()])
                .collect(),
            Some(sets) => {
                let mut out = Vec::new();
                for set in sets {
                    let options: Vec<Vec<String>> = set
                        .get("options")
                        .and_then(|o| serde_json::from_value(o.clone()).ok())
                        .unwrap_or_default();
                    let opt = options
                        .iter()
                        .find(|o| o.iter().all(|id| found.contains_key(id)));
                    match opt {
                        Some(o) => out.push(o.clone()),
                        None if set.get("required").and_then(Value::as_bool).unwrap_or(true) => {
                            if let Some(e) = options
                                .iter()
                                .flatten()
                                .filter(|id| !found.contains_key(*id))
                                .find_map(|id| unusable(id))
                            {
                                return Err(e);
                            }
                            return Err(Error::NoMatchingCredential(
                                "a required credential set cannot be satisfied".into(),
                            ));
                        }
                        None => {}
                    }
                }
                out
            }
        };
        let mut selections = Vec::new();
        for group in required {
            for id in group {
                let sel = match found.remove(&id) {
                    Some(sel) => sel,
                    None => {
                        return Err(unusable(&id).unwrap_or_else(|| {
                            Error::NoMatchingCredential(format!(
                                "nothing matches credential query {id}"
                            ))
                        }));
                    }
                };
                selections.push(sel);
            }
        }
        Ok(SelectionOutcome {
            selections,
            checked,
        })
    }

    /// One presentation: the selected disclosures and a KB-JWT for this request; for
    /// `jwt_vc_json` a `vp+jwt` enveloping the credential (for a VCDM 1.1 credential a VCDM
    /// 1.1 VP JWT), signed with the holder key, `aud`
    /// the full `client_id` and the request's `nonce` (OID4VP 1.0 Appendix B.1.3.1). W3C
    /// credentials are not selectively disclosable: the whole credential is presented.
    pub async fn presentation_for(
        &self,
        request: &PresentationRequest,
        selection: &Selection,
    ) -> Result<String> {
        if selection.credential.format == FORMAT_MSO_MDOC {
            return self.mdoc_presentation(request, selection).await;
        }
        if selection.credential.format == "jwt_vc_json" {
            let key = selection
                .credential
                .holder_private_jwk
                .as_ref()
                .ok_or_else(|| {
                    Error::NoMatchingCredential("the credential has no holder key".into())
                })?
                .signer()?;
            let vcs = std::slice::from_ref(&selection.credential.credential);
            let (aud, nonce, now) = (
                request.client_id.as_str(),
                request.nonce()?,
                self.options().clock.now(),
            );
            // A VCDM 1.1 credential (a `vc` claim) goes into a VCDM 1.1 presentation: a
            // VCDM 2.0 one can envelope `vc+jwt` only (VC-JOSE-COSE §3.1.2).
            let v11 = vdc_core::jose::jws::decode(&selection.credential.credential)
                .is_ok_and(|d| vdc_core::vc_jose::vcdm11::is_vcdm11(&d.payload));
            if v11 {
                return Ok(vdc_core::vc_jose::vcdm11::present_vp_jwt_v11(
                    vcs, &key, aud, nonce, now, None,
                )
                .await?);
            }
            return Ok(vdc_core::vc_jose::present_vp_jwt(vcs, &key, aud, nonce, now, None).await?);
        }
        let sd = SdJwt::parse(&selection.credential.credential)?;
        let disclosures = select_disclosures(&sd, &selection.paths)?;
        let key = selection
            .credential
            .holder_private_jwk
            .as_ref()
            .ok_or_else(|| Error::NoMatchingCredential("the credential has no holder key".into()))?
            .signer()?;
        let kb = KeyBindingInput {
            signer: &key,
            aud: &request.client_id,
            nonce: request.nonce()?,
            iat: self.options().clock.now(),
        };
        Ok(present(&sd, disclosures, Some(kb)).await?)
    }

    /// An mdoc's vp_token entry (OID4VP 1.0 B.2.5): the base64url `DeviceResponse` with one
    /// `Document` disclosing exactly the selected elements, device-signed by the stored
    /// holder key over the B.2.6.1 `SessionTranscript` (`client_id` with its prefix, `nonce`,
    /// the thumbprint of the key the response is encrypted to or null, `response_uri`).
    async fn mdoc_presentation(
        &self,
        request: &PresentationRequest,
        selection: &Selection,
    ) -> Result<String> {
        let credential = &selection.credential;
        let doc_type = credential
            .doctype
            .as_deref()
            .ok_or_else(|| Error::NoMatchingCredential("the mdoc has no stored doctype".into()))?;
        let key = credential
            .holder_private_jwk
            .as_ref()
            .ok_or_else(|| Error::NoMatchingCredential("the credential has no holder key".into()))?
            .signer()?;
        // Spec: OID4VP 1.0 B.2.6.1: "If the response is encrypted, e.g., using
        // direct_post.jwt, the third element MUST be the JWK SHA-256 Thumbprint ... of the
        // Verifier's public key used to encrypt the response. Otherwise ... null." The key
        // is chosen exactly as `encrypt_response` chooses it.
        let jwk_thumbprint = match request.response_mode()? {
            "direct_post.jwt" => Some(crate::mdoc::thumbprint_bytes(
                &response_encryption_key(request)?.key,
            )?),
            _ => None,
        };
        let binding = crate::mdoc::Binding {
            client_id: &request.client_id,
            nonce: request.nonce()?,
            jwk_thumbprint,
            response_uri: request.response_uri()?,
        };
        crate::mdoc::present(
            &credential.credential,
            doc_type,
            &selection.paths,
            &binding,
            &key,
        )
        .await
    }

    /// Sends a `vp_token` (JSON object keyed by credential query id) per the request's
    /// response mode: form-encoded (`direct_post`) or as a JWE to the request's key
    /// (`direct_post.jwt`).
    pub async fn send_presentation(
        &self,
        request: &PresentationRequest,
        vp_token: &Value,
    ) -> Result<PresentationSent> {
        let response_uri = request.response_uri()?;
        let http = self.http();
        let vp = vp_token.to_string();
        let response = match request.response_mode()? {
            "direct_post" => {
                let mut form = vec![("vp_token", vp.as_str())];
                if let Some(s) = request.state() {
                    form.push(("state", s));
                }
                http.post_form(Endpoint::PresentationResponse, response_uri, &form)
                    .await?
            }
            "direct_post.jwt" => {
                let jwe = self.encrypt_response(request, vp_token)?;
                http.post_form(
                    Endpoint::PresentationResponse,
                    response_uri,
                    &[("response", &jwe)],
                )
                .await?
            }
            other => return Err(bad(format!("response_mode {other} is not supported"))),
        };
        if !response.is_success() {
            return Err(response.into_error(Endpoint::PresentationResponse, http.max_bytes()));
        }
        let body = response.json_object(Endpoint::PresentationResponse, http.max_bytes())?;
        Ok(PresentationSent {
            redirect_uri: body
                .get("redirect_uri")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Spec: OID4VP 1.0 §8.3: the response parameters as an unsigned JWT encrypted to a key of
    /// `client_metadata.jwks`, `enc` from `encrypted_response_enc_values_supported`
    /// (default A128GCM), the JWK's `kid` repeated.
    pub fn encrypt_response(
        &self,
        request: &PresentationRequest,
        vp_token: &Value,
    ) -> Result<String> {
        let metadata = request
            .params
            .get("client_metadata")
            .ok_or_else(|| bad("client_metadata is missing"))?;
        let key = response_encryption_key(request)?;
        let enc = match metadata
            .get("encrypted_response_enc_values_supported")
            .and_then(Value::as_array)
        {
            Some(values) => values
                .iter()
                .filter_map(Value::as_str)
                .find_map(|v| ContentEncryption::from_name(v).ok())
                .ok_or_else(|| bad("no supported enc value"))?,
            None => ContentEncryption::A128Gcm,
        };
        let mut payload = json!({"vp_token": vp_token});
        if let Some(s) = request.state() {
            payload["state"] = s.into();
        }
        let header = JweHeaderParams {
            kid: key.kid.clone(),
            ..JweHeaderParams::default()
        };
        Ok(jwe::encrypt(
            payload.to_string().as_bytes(),
            &key.key,
            enc,
            header,
            self.options().rng.as_ref(),
        )?)
    }

    /// Answers an authorization request end to end: resolve, select, present, send. Like
    /// [`Wallet::select_credentials`] it does not check status lists; see
    /// [`Wallet::present_with`].
    pub async fn present(&self, uri: &str, trust: &VerifierTrust) -> Result<PresentationSent> {
        let options = SelectOptions {
            check_status: false,
            only: Vec::new(),
        };
        self.present_with(uri, trust, &options).await
    }

    /// Answers an authorization request end to end, choosing credentials with
    /// [`Wallet::select_credentials_with`] (by default passing over revoked and suspended
    /// ones).
    pub async fn present_with(
        &self,
        uri: &str,
        trust: &VerifierTrust,
        options: &SelectOptions,
    ) -> Result<PresentationSent> {
        let request = self.resolve_presentation_request(uri, trust).await?;
        let selections = self
            .select_credentials_with(&request, options)
            .await?
            .selections;
        let mut vp_token = Map::new();
        for s in &selections {
            let p = self.presentation_for(&request, s).await?;
            vp_token
                .entry(s.query_id.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(Value::Array(a)) = vp_token.get_mut(&s.query_id) {
                a.push(Value::String(p));
            }
        }
        self.send_presentation(&request, &Value::Object(vp_token))
            .await
    }
}

/// The key of `client_metadata.jwks` a `direct_post.jwt` response is encrypted to (OID4VP
/// 1.0 §8.3).
fn response_encryption_key(request: &PresentationRequest) -> Result<RecipientKey> {
    let metadata = request
        .params
        .get("client_metadata")
        .ok_or_else(|| bad("client_metadata is missing"))?;
    Ok(RecipientKey::select(
        metadata.get("jwks").unwrap_or(&Value::Null),
    )?)
}

/// Every stored credential matching one credential query (oldest first), each with the
/// paths to disclose.
fn match_query(cq: &Value, stored: &[StoredCredential]) -> Result<Vec<Selection>> {
    let mut out = Vec::new();
    let format = cq.get("format").and_then(Value::as_str).unwrap_or_default();
    if format != "dc+sd-jwt" && format != "jwt_vc_json" && format != FORMAT_MSO_MDOC {
        return Ok(out);
    }
    // Spec: OID4VP 1.0 B.2.3: `doctype_value` is REQUIRED for mdoc queries; a query
    // without one matches nothing.
    let doctype_value = cq
        .get("meta")
        .and_then(|m| m.get("doctype_value"))
        .and_then(Value::as_str);
    if format == FORMAT_MSO_MDOC && doctype_value.is_none() {
        return Ok(out);
    }
    // Spec: OID4VP 1.0 Appendix B.1.1: `type_values`, a list of type lists; a credential
    // matches if its `type` holds every type of one of them.
    let type_values: Option<Vec<Vec<String>>> = cq
        .get("meta")
        .and_then(|m| m.get("type_values"))
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let vcts: Option<Vec<String>> = cq
        .get("meta")
        .and_then(|m| m.get("vct_values"))
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let claims = cq.get("claims").and_then(Value::as_array);
    for c in stored.iter().filter(|c| c.format == format) {
        if format == FORMAT_MSO_MDOC && c.doctype.as_deref() != doctype_value {
            continue;
        }
        if let Some(vcts) = &vcts
            && !c.vct.as_ref().is_some_and(|v| vcts.contains(v))
        {
            continue;
        }
        if let Some(ta) = cq.get("trusted_authorities")
            && !trusted_authorities_match(ta, &c.credential, format)
        {
            continue;
        }
        let full = if format == FORMAT_MSO_MDOC {
            // Spec: OID4VP 1.0 B.2.4: claims paths are [namespace, element identifier] of the
            // IssuerSigned items the wallet holds.
            let Ok(full) =
                crate::mdoc::decode_issuer_signed(&c.credential).and_then(|i| elements_json(&i))
            else {
                continue;
            };
            full
        } else if format == "jwt_vc_json" {
            // Spec: OID4VP 1.0 Appendix B.1.1: claims paths are relative to the credential
            // (the VCDM 2.0 `vc+jwt` payload; for VCDM 1.1 the `vc` claim decoded as VCDM
            // 1.1 §6.3.1.2 says, as the verifier reads it).
            let Ok(decoded) = jws::decode(&c.credential) else {
                continue;
            };
            let credential = if vdc_core::vc_jose::vcdm11::is_vcdm11(&decoded.payload) {
                match vdc_core::vc_jose::vcdm11::decode_credential(&decoded.payload) {
                    Ok(vc) => vc,
                    Err(_) => continue,
                }
            } else {
                decoded.payload
            };
            let payload = Value::Object(credential);
            if let Some(type_values) = &type_values {
                let types: Vec<&str> = match payload.get("type") {
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                    Some(Value::String(t)) => vec![t.as_str()],
                    _ => Vec::new(),
                };
                if !type_values
                    .iter()
                    .any(|set| set.iter().all(|t| types.contains(&t.as_str())))
                {
                    continue;
                }
            }
            payload
        } else {
            let Ok(full) = full_claims(&c.credential) else {
                continue;
            };
            full
        };
        let Some(claims) = claims else {
            out.push(Selection {
                query_id: String::new(),
                credential: c.clone(),
                paths: Vec::new(),
            });
            continue;
        };
        let parsed: Vec<(Option<String>, ClaimPath, Option<Vec<Value>>)> = claims
            .iter()
            .map(|q| {
                let path = ClaimPath::from_value(q.get("path").unwrap_or(&Value::Null))?;
                Ok((
                    q.get("id").and_then(Value::as_str).map(str::to_owned),
                    path,
                    q.get("values").and_then(Value::as_array).cloned(),
                ))
            })
            .collect::<vdc_core::Result<_>>()?;
        if format == FORMAT_MSO_MDOC && parsed.iter().any(|p| namespace_element(&p.1).is_none()) {
            return Err(bad(
                "mso_mdoc claims paths must be [namespace, element identifier]",
            ));
        }
        let ok = |p: &(Option<String>, ClaimPath, Option<Vec<Value>>)| {
            let selected = select(&full, &p.1);
            match &p.2 {
                None => !selected.is_empty(),
                Some(values) => selected.iter().any(|s| values.contains(s)),
            }
        };
        let chosen: Option<Vec<ClaimPath>> = match cq.get("claim_sets").and_then(Value::as_array) {
            None => parsed
                .iter()
                .all(ok)
                .then(|| parsed.iter().map(|p| p.1.clone()).collect()),
            Some(sets) => sets.iter().find_map(|set| {
                let ids: Vec<&str> = set.as_array()?.iter().filter_map(Value::as_str).collect();
                let qs: Vec<_> = parsed
                    .iter()
                    .filter(|p| p.0.as_deref().is_some_and(|i| ids.contains(&i)))
                    .collect();
                qs.iter()
                    .all(|p| ok(p))
                    .then(|| qs.iter().map(|p| p.1.clone()).collect())
            }),
        };
        if let Some(paths) = chosen {
            out.push(Selection {
                query_id: String::new(),
                credential: c.clone(),
                paths,
            });
        }
    }
    Ok(out)
}

/// Spec: OID4VP 1.0 §6.1.1: a credential matches `trusted_authorities` if it matches one
/// value of one entry; for type `aki` (§6.1.1.1) the base64url KeyIdentifier equals the
/// AuthorityKeyIdentifier of a certificate in the credential's `x5c` chain. Types the wallet
/// does not know match nothing.
fn trusted_authorities_match(ta: &Value, credential: &str, format: &str) -> bool {
    let chain = if format == FORMAT_MSO_MDOC {
        // The mdoc's chain is the issuerAuth `x5chain` (ISO 18013-5 §9.1.2.4).
        crate::mdoc::decode_issuer_signed(credential)
            .ok()
            .and_then(|i| i.issuer_auth.x5chain().ok())
    } else {
        let header = if format == "jwt_vc_json" {
            jws::decode(credential).ok().map(|j| j.header)
        } else {
            SdJwt::parse(credential)
                .and_then(|s| s.issuer_jws().map(|j| j.header.clone()))
                .ok()
        };
        header
            .as_ref()
            .and_then(|h| h.get("x5c"))
            .and_then(|x| x509::parse_x5c(x).ok())
    };
    let Some(chain) = chain else {
        return false;
    };
    let akis: Vec<Vec<u8>> = chain
        .iter()
        .filter_map(|c| x509::authority_key_identifier(c).ok().flatten())
        .collect();
    ta.as_array().into_iter().flatten().any(|entry| {
        entry.get("type").and_then(Value::as_str) == Some("aki")
            && entry
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|v| vdc_core::base64url::decode(v).ok())
                .any(|v| akis.contains(&v))
    })
}

/// Every claim of an issued SD-JWT, all disclosures applied.
pub(crate) fn full_claims(credential: &str) -> Result<Value> {
    let sd = SdJwt::parse(credential)?;
    let jws = sd.issuer_jws()?;
    let disclosures = sd
        .disclosures()
        .iter()
        .map(|d| Disclosure::parse(d))
        .collect::<vdc_core::Result<Vec<_>>>()?;
    let (claims, _) = unpack_payload(jws.payload, &disclosures)?;
    Ok(Value::Object(claims))
}

/// Spec: OID4VP 1.0 §7.1: the values a claims path pointer selects.
fn select<'a>(root: &'a Value, path: &ClaimPath) -> Vec<&'a Value> {
    use vdc_core::claims_path::PathElement;
    let mut current = vec![root];
    for element in path.elements() {
        let mut next = Vec::new();
        for v in current {
            match (element, v) {
                (PathElement::Name(n), Value::Object(o)) => next.extend(o.get(n)),
                (PathElement::Index(i), Value::Array(a)) => next.extend(a.get(*i)),
                (PathElement::AllElements, Value::Array(a)) => next.extend(a.iter()),
                _ => {}
            }
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mdoc::fixture::{DOCTYPE, NS, issue};
    use crate::store::PrivateJwk;

    fn stored_mdoc(id: &str, credential: String, doctype: &str) -> StoredCredential {
        StoredCredential {
            id: id.into(),
            credential,
            format: FORMAT_MSO_MDOC.into(),
            credential_configuration_id: "mDL".into(),
            credential_identifier: None,
            credential_issuer: "https://issuer.example".into(),
            issuer: "https://issuer.example".into(),
            vct: None,
            doctype: Some(doctype.into()),
            holder_private_jwk: None,
            notification_id: None,
            received_at: 0,
        }
    }

    fn mdoc_query(doctype: Option<&str>, claims: Value) -> Value {
        let mut q = json!({"id": "mdl", "format": "mso_mdoc", "claims": claims});
        if let Some(d) = doctype {
            q["meta"] = json!({ "doctype_value": d });
        }
        q
    }

    fn ids(selections: &[Selection]) -> Vec<&str> {
        selections
            .iter()
            .map(|s| s.credential.id.as_str())
            .collect()
    }

    #[tokio::test]
    async fn mdoc_queries_match_by_doctype_and_held_elements() {
        let issued = issue(DOCTYPE, 3).await;
        let mut mdl = stored_mdoc("mdl", issued.credential.clone(), DOCTYPE);
        mdl.holder_private_jwk = Some(PrivateJwk::from_key(&issued.holder));
        let other = issue("org.example.other", 4).await;
        let stored = vec![
            mdl,
            stored_mdoc("other", other.credential, "org.example.other"),
        ];
        let given = json!([{"path": [NS, "given_name"]}]);

        let m = match_query(&mdoc_query(Some(DOCTYPE), given.clone()), &stored).unwrap();
        assert_eq!(ids(&m), ["mdl"]);
        let paths: Vec<String> = m[0].paths.iter().map(ToString::to_string).collect();
        assert_eq!(
            paths,
            [ClaimPath::from_value(&json!([NS, "given_name"]))
                .unwrap()
                .to_string()]
        );

        // Doctype mismatch: nothing of that doctype is held.
        let m = match_query(
            &mdoc_query(Some("org.example.none"), given.clone()),
            &stored,
        )
        .unwrap();
        assert!(m.is_empty());
        // The other doctype matches only the other mdoc.
        let m = match_query(
            &mdoc_query(Some("org.example.other"), given.clone()),
            &stored,
        )
        .unwrap();
        assert_eq!(ids(&m), ["other"]);
        // Spec: OID4VP 1.0 B.2.3: doctype_value is required; without it nothing matches.
        assert!(
            match_query(&mdoc_query(None, given.clone()), &stored)
                .unwrap()
                .is_empty()
        );
        // A missing element (or one of another namespace) leaves the mdoc out.
        for claims in [
            json!([{"path": [NS, "given_name"]}, {"path": [NS, "family_name"]}]),
            json!([{"path": ["org.example.ns", "given_name"]}]),
        ] {
            let m = match_query(&mdoc_query(Some(DOCTYPE), claims.clone()), &stored).unwrap();
            assert!(m.is_empty(), "{claims}");
        }
        // Values are compared with the element's value as JSON.
        let yes = json!([{"path": [NS, "age_over_18"], "values": [true]}]);
        let no = json!([{"path": [NS, "age_over_18"], "values": [false]}]);
        assert_eq!(
            ids(&match_query(&mdoc_query(Some(DOCTYPE), yes), &stored).unwrap()),
            ["mdl"]
        );
        assert!(
            match_query(&mdoc_query(Some(DOCTYPE), no), &stored)
                .unwrap()
                .is_empty()
        );
        // Claim sets: the first satisfiable one is chosen.
        let q = json!({"id": "mdl", "format": "mso_mdoc", "meta": {"doctype_value": DOCTYPE},
            "claims": [{"id": "a", "path": [NS, "family_name"]}, {"id": "b", "path": [NS, "age_over_18"]}],
            "claim_sets": [["a"], ["b"]]});
        let m = match_query(&q, &stored).unwrap();
        assert_eq!(ids(&m), ["mdl"]);
        assert_eq!(m[0].paths.len(), 1);
        // A path of another shape is not an mdoc claims path.
        assert!(match_query(&mdoc_query(Some(DOCTYPE), json!([{"path": [NS]}])), &stored).is_err());
        // No claims: the whole query is answered with nothing disclosed.
        let q = json!({"id": "mdl", "format": "mso_mdoc", "meta": {"doctype_value": DOCTYPE}});
        let m = match_query(&q, &stored).unwrap();
        assert_eq!(ids(&m), ["mdl"]);
        assert!(m[0].paths.is_empty());
        // Queries of other formats never match an mdoc.
        let sd = json!({"id": "x", "format": "dc+sd-jwt", "claims": [{"path": ["given_name"]}]});
        assert!(match_query(&sd, &stored).unwrap().is_empty());
    }
}
