//! OpenID4VP over the Digital Credentials API (OID4VP 1.0 Appendix A; HAIP 1.0 §5.2): the
//! answer the page posts back with its origin, checked as a `direct_post` response is and
//! bound to that origin (`aud` = `origin:<origin>`, A.4; for mdoc the B.2.6.2
//! `OpenID4VPDCAPIHandover`). The request side (`dc_api_request`: unsigned
//! `openid4vp-v1-unsigned`, or signed `openid4vp-v1-signed` with `expected_origins`) is
//! made with every request in `request`.

use serde_json::{Map, Value};
use vdc_core::jose::jwe::{self, ContentEncryption};

use crate::error::{RejectReason, Result, VerifierError};
use crate::request::{
    DcApiAnswer, LoadedRequest, RequestResult, check_origin, loaded, response_key,
};
use crate::response::{Answer, Binding};
use crate::service::{Verifier, bounded};

/// Longest encrypted answer (`response`), as the response endpoint bounds `vp_token`.
const MAX_RESPONSE_LEN: usize = 700 * 1024;

/// The members a DC API answer's `data` may have (OID4VP 1.0 §8.1, §8.3, §8.5; A.2: no
/// `state`).
const DATA_MEMBERS: [&str; 5] = [
    "vp_token",
    "response",
    "error",
    "error_description",
    "error_uri",
];

impl Verifier {
    /// `POST /api/v1/verifiers/{verifier}/requests/{id}/dc-api-response`: checks the
    /// answer of a pending `dc_api`/`dc_api.jwt` request as the response endpoint checks a
    /// `direct_post` one, bound to `answer.origin`; the request's result object after it.
    /// A failed check rejects the request and is `Err(Rejected)`; a wallet's error
    /// response rejects it and is the result object. A malformed call (not a DC API
    /// request, a malformed origin or `data`) changes nothing.
    pub async fn dc_api_respond(
        &self,
        verifier: &str,
        id: &str,
        answer: DcApiAnswer,
    ) -> Result<RequestResult> {
        let (_, config) = self.load_verifier(verifier).await?;
        let record = self
            .pending_by_id(verifier, id)
            .await?
            .ok_or_else(|| VerifierError::NotFound("no such presentation request".into()))?;
        let req = loaded(record)?;
        if !req.mode.is_dc_api() {
            return Err(VerifierError::InvalidRequest(format!(
                "this request's response_mode is {}: its wallet posts to the response URI",
                req.mode.as_str()
            )));
        }
        if let Some(unknown) = answer
            .data
            .keys()
            .find(|k| !DATA_MEMBERS.contains(&k.as_str()))
        {
            return Err(VerifierError::InvalidRequest(format!(
                "data has an unknown member {}",
                bounded(unknown)
            )));
        }
        check_origin(&answer.origin)
            .map_err(|m| VerifierError::InvalidRequest(format!("origin: {m}")))?;
        let mut checked = self.dc_api_params(verifier, &req, &answer.data)?;
        // Spec: OID4VP 1.0 Appendix A.2 `expected_origins`: a signed request is for the
        // origins it names (compared as strings); an answer from another origin comes from
        // a page that replayed the request. A wallet's error answer is recorded as such.
        let is_error =
            matches!(&checked, Answer::Params { params, .. } if params.contains_key("error"));
        if let Some(expected) = req.claims.get("expected_origins").and_then(Value::as_array)
            && !expected.iter().any(|o| o.as_str() == Some(&answer.origin))
            && !is_error
        {
            checked = Answer::Refused(
                RejectReason::Origin,
                format!(
                    "the answer comes from {}, which is not in this request's \
                     expected_origins (OID4VP 1.0 Appendix A.2)",
                    bounded(&answer.origin)
                ),
            );
        }
        let binding = Binding::DcApi {
            origin: answer.origin,
        };
        self.settle(verifier, &config, &req, checked, &binding)
            .await?;
        self.result(verifier, id).await
    }

    /// The response parameters of an answer's `data`: as given (`dc_api`), or decrypted
    /// from `response` (`dc_api.jwt`, §8.3).
    fn dc_api_params(
        &self,
        verifier: &str,
        req: &LoadedRequest,
        data: &Map<String, Value>,
    ) -> Result<Answer> {
        let Some(response) = data.get("response") else {
            return Ok(Answer::Params {
                params: data.clone(),
                encrypted: false,
            });
        };
        let Some(token) = response.as_str().filter(|t| t.len() <= MAX_RESPONSE_LEN) else {
            return Err(VerifierError::InvalidRequest(
                "data.response must be a JWE of at most 700 KiB".into(),
            ));
        };
        if data.len() != 1 {
            return Err(VerifierError::InvalidRequest(
                "an encrypted answer carries data.response alone (OID4VP 1.0 §8.3)".into(),
            ));
        }
        let Some(key) = response_key(self, verifier, req)? else {
            return Ok(Answer::Refused(
                RejectReason::Decryption,
                "this request takes an unencrypted answer (response_mode dc_api)".into(),
            ));
        };
        let Ok(decrypted) = jwe::decrypt(
            token,
            &key,
            &[ContentEncryption::A128Gcm, ContentEncryption::A256Gcm],
        ) else {
            return Ok(Answer::Refused(
                RejectReason::Decryption,
                "data.response does not decrypt with this request's key".into(),
            ));
        };
        match vdc_core::json::parse_object(&decrypted.plaintext, MAX_RESPONSE_LEN) {
            Ok(params) => Ok(Answer::Params {
                params,
                encrypted: true,
            }),
            Err(_) => Ok(Answer::Refused(
                RejectReason::Decryption,
                "the decrypted answer is not a JSON object".into(),
            )),
        }
    }
}
