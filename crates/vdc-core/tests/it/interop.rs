//! Differential tests against independent SD-JWT implementations, run from `conformance/`
//! (pinned npm `@sd-jwt/sd-jwt-vc` 0.19.0 and PyPI `sd-jwt` 0.10.4; contract in
//! `conformance/README.md`). Their verifiers must accept our credentials and ours must
//! accept theirs. If node, python or the pinned packages are missing, these tests fail: they
//! never skip.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};
use vdc_core::claims_path::ClaimPath;
use vdc_core::jose::jws::TimeRules;
use vdc_core::jose::{Algorithm, AlgorithmPolicy, JwkSet, LocalSigner, Signer};
use vdc_core::rng::SeededRandom;
use vdc_core::sd_jwt::{self, KeyBindingInput, KeyBindingRequirement, SdJwt, VerifyOptions};
use vdc_core::sd_jwt_vc::{self, IssuerTrustPolicy, SdJwtVcClaims};
use vdc_core::time::UnixTime;

use crate::support::*;

const AUD: &str = "x509_san_dns:verifier.example";
const NONCE: &str = "XZOUco1u_gEPknxS78sWWg";
const VCT: &str = "https://acme.example/vct/employee-badge";

#[derive(Clone, Copy, Debug)]
enum Lib {
    Js,
    Python,
}

fn conformance_dir() -> PathBuf {
    std::env::var_os("VDC_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance"))
}

fn setup() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = conformance_dir();
        let out = Command::new("bash").arg(dir.join("setup.sh")).output().expect("bash is needed to run conformance/setup.sh");
        assert!(
            out.status.success(),
            "conformance/setup.sh failed (node >= 20, npm and python3 with venv are required; this test never skips):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

fn call(lib: Lib, cmd: &str, input: &Value) -> Value {
    let dir = setup();
    let mut command = match lib {
        Lib::Js => {
            let mut c = Command::new("node");
            c.arg(dir.join("sd-jwt-js/interop.mjs"));
            c
        }
        Lib::Python => {
            let mut c = Command::new(dir.join(".venv/bin/python"));
            c.arg(dir.join("sd-jwt-python/interop.py"));
            c
        }
    };
    let mut child = command
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the {lib:?} interop driver: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{lib:?} {cmd} exited with {}: {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{lib:?} printed non-JSON ({e}): {stdout}"))
}

fn private_jwk(s: &LocalSigner) -> Value {
    serde_json::from_str(&s.key().to_private_jwk()).unwrap()
}

fn our_presentation(issuer: &LocalSigner, holder: &LocalSigner) -> String {
    let claims = SdJwtVcClaims {
        iss: Some(ISSUER.into()),
        vct: VCT.into(),
        iat: Some(UnixTime(NOW)),
        nbf: None,
        exp: Some(UnixTime(NOW + 86400)),
        holder_key: Some(holder.public_jwk().key.clone()),
        status: None,
        claims: person_claims(),
    };
    let issued = block_on(sd_jwt_vc::issue(
        &claims,
        &person_frame(),
        issuer,
        &SeededRandom::new(3),
    ))
    .unwrap();
    let sd = SdJwt::parse(&issued.compact).unwrap();
    let paths: Vec<ClaimPath> = [
        json!(["given_name"]),
        json!(["address", "locality"]),
        json!(["nationalities", 1]),
    ]
    .iter()
    .map(|p| ClaimPath::from_value(p).unwrap())
    .collect();
    let chosen = sd_jwt::select_disclosures(&sd, &paths).unwrap();
    block_on(sd_jwt::present(
        &sd,
        chosen,
        Some(KeyBindingInput {
            signer: holder,
            aud: AUD,
            nonce: NONCE,
            iat: UnixTime(NOW),
        }),
    ))
    .unwrap()
}

fn our_verification(
    issuer: &LocalSigner,
    presentation: &str,
) -> vdc_core::Result<serde_json::Map<String, Value>> {
    let policy = IssuerTrustPolicy::new(vec![ISSUER.into()]).pin(
        ISSUER,
        JwkSet {
            keys: vec![issuer.public_jwk().clone()],
        },
    );
    let algs = AlgorithmPolicy::default();
    let opts = VerifyOptions {
        policy: &algs,
        now: UnixTime(NOW),
        time_rules: TimeRules::default(),
        key_binding: KeyBindingRequirement::Required {
            aud: AUD,
            nonce: NONCE,
            max_age_secs: 300,
        },
    };
    block_on(sd_jwt_vc::verify(presentation, &policy, &opts)).map(|v| v.sd_jwt.claims)
}

fn their_verification(lib: Lib, issuer: &LocalSigner, presentation: &str) -> Value {
    call(
        lib,
        "verify",
        &json!({
            "sd_jwt": presentation, "issuer_jwk": jwk_value(issuer), "holder_binding": true,
            "aud": AUD, "nonce": NONCE, "now": NOW, "strict": false,
        }),
    )
}

fn ours_accepted_by(lib: Lib) {
    let (issuer, holder) = (signer(Algorithm::Es256, 90), signer(Algorithm::Es256, 91));
    let presentation = our_presentation(&issuer, &holder);
    let ours = our_verification(&issuer, &presentation).unwrap();
    let theirs = their_verification(lib, &issuer, &presentation);
    assert_eq!(
        theirs["ok"], true,
        "{lib:?} rejected our presentation: {theirs}"
    );
    assert_eq!(theirs["kb_checked"], true);
    assert_eq!(
        theirs["claims"],
        Value::Object(ours.clone()),
        "{lib:?} read different claims"
    );
    assert_eq!(
        ours["address"],
        json!({"locality": "London", "country": "GB"})
    );
    assert_eq!(ours["nationalities"], json!(["IT"]));

    // A tampered disclosure is rejected by both implementations.
    let given = SdJwt::parse(&presentation)
        .unwrap()
        .disclosures()
        .iter()
        .find(|d| sd_jwt::Disclosure::parse(d).unwrap().name.as_deref() == Some("given_name"))
        .cloned()
        .unwrap();
    let parsed = sd_jwt::Disclosure::parse(&given).unwrap();
    let forged = vdc_core::base64url::encode(json!([parsed.salt, "given_name", "Eve"]).to_string());
    let tampered = presentation.replace(&given, &forged);
    assert!(our_verification(&issuer, &tampered).is_err());
    let theirs = their_verification(lib, &issuer, &tampered);
    assert_eq!(
        theirs["ok"], false,
        "{lib:?} accepted a tampered disclosure: {theirs}"
    );
}

fn theirs_accepted_by_us(lib: Lib) {
    let (issuer, holder) = (signer(Algorithm::Es256, 92), signer(Algorithm::Es256, 93));
    let mut payload = person_claims();
    payload.insert("iss".into(), ISSUER.into());
    payload.insert("vct".into(), VCT.into());
    payload.insert("iat".into(), NOW.into());
    payload.insert("exp".into(), (NOW + 86400).into());
    let out = call(
        lib,
        "issue",
        &json!({
            "issuer_jwk": private_jwk(&issuer),
            "holder_jwk": private_jwk(&holder),
            "payload": payload,
            "disclosure_frame": {
                "_sd": ["given_name", "family_name", "email", "address", "nationalities"],
                "address": {"_sd": ["street_address", "locality"]},
                "nationalities": {"_sd": [0, 1]}
            },
            "disclose": [["family_name"], ["address"], ["address", "street_address"], ["nationalities", 0]],
            "aud": AUD, "nonce": NONCE, "iat": NOW, "typ": "dc+sd-jwt",
        }),
    );
    let presentation = out["presentation"]
        .as_str()
        .unwrap_or_else(|| panic!("{lib:?} issue failed: {out}"));
    let claims = our_verification(&issuer, presentation)
        .unwrap_or_else(|e| panic!("we rejected {lib:?}'s presentation: {e}"));
    assert_eq!(claims["family_name"], "Lovelace");
    assert_eq!(
        claims["address"],
        json!({"street_address": "12 St James's Square", "country": "GB"})
    );
    assert_eq!(claims["nationalities"], json!(["GB"]));
    for hidden in ["given_name", "email"] {
        assert!(
            !claims.contains_key(hidden),
            "{hidden} should be undisclosed"
        );
    }
    // Their issued SD-JWT (all disclosures, no KB) verifies too and carries every claim.
    let issued = out["issued"].as_str().unwrap();
    let sd = SdJwt::parse(issued).unwrap();
    let algs = AlgorithmPolicy::default();
    let opts = VerifyOptions {
        policy: &algs,
        now: UnixTime(NOW),
        time_rules: TimeRules::default(),
        key_binding: KeyBindingRequirement::NotRequired,
    };
    let all = sd
        .verify(&sd.issuer_jws().unwrap(), &issuer.public_jwk().key, &opts)
        .unwrap();
    assert_eq!(all.claims["email"], "ada@example.com");
    // A KB-JWT for another verifier is refused.
    let err = {
        let policy = IssuerTrustPolicy::new(vec![ISSUER.into()]).pin(
            ISSUER,
            JwkSet {
                keys: vec![issuer.public_jwk().clone()],
            },
        );
        let opts = VerifyOptions {
            key_binding: KeyBindingRequirement::Required {
                aud: "x509_san_dns:other.example",
                nonce: NONCE,
                max_age_secs: 300,
            },
            ..opts
        };
        block_on(sd_jwt_vc::verify(presentation, &policy, &opts)).unwrap_err()
    };
    assert_eq!(err.kind(), vdc_core::ErrorKind::KeyBinding);
}

#[test]
fn sd_jwt_js_verifies_our_sd_jwt_vc() {
    ours_accepted_by(Lib::Js);
}

#[test]
fn sd_jwt_python_verifies_our_sd_jwt_vc() {
    ours_accepted_by(Lib::Python);
}

#[test]
fn we_verify_sd_jwt_js_presentations() {
    theirs_accepted_by_us(Lib::Js);
}

#[test]
fn we_verify_sd_jwt_python_presentations() {
    theirs_accepted_by_us(Lib::Python);
}
