//! Writes the committed seed corpus, `fuzz/seeds/<target>/<name>`: one valid input per mode
//! of each target, made with vdc's own code, the fixed keys of the harness and the test
//! vectors of crates/vdc-core/tests/vectors, so the fuzzer starts past the first checks.
//!
//! Deterministic (fixed keys, Ed25519, a seeded RNG for the JWE): running it again gives the
//! same files. Run: `cargo run --manifest-path fuzz/Cargo.toml -p vdc-fuzz-common --bin
//! write_seeds` (scripts/fuzz.sh --write-seeds).

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use vdc_core::base64url;
use vdc_core::did;
use vdc_core::jose::jwe::{self, ContentEncryption, JweHeaderParams};
use vdc_core::jose::{LocalSigner, SigningKey};
use vdc_core::rng::SeededRandom;
use vdc_core::sd_jwt;
use vdc_core::vc_jose;
use vdc_core::x509;
use vdc_fuzz_common as h;
use vdc_status::{
    BitstringStatusList, BitstringStatusListCredential, BitstringStatusListEntry, StatusList,
    StatusPurpose, StatusReference,
};

type Res<T = ()> = Result<T, Box<dyn Error>>;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/vdc-core/tests/vectors"
);

struct Seeds {
    root: PathBuf,
}

impl Seeds {
    fn put(&self, target: &str, name: &str, mode: Option<u8>, bytes: &[u8]) -> Res {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir)?;
        let mut data = Vec::with_capacity(bytes.len() + 1);
        data.extend(mode);
        data.extend_from_slice(bytes);
        fs::write(dir.join(name), data)?;
        Ok(())
    }
}

/// `a NUL b NUL c ...`
fn joined(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&[h::SEP][..])
}

fn main() -> Res {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds"));
    let s = Seeds { root };
    jws_and_key_proof(&s)?;
    sd_jwt_seeds(&s)?;
    jwk_seeds(&s)?;
    jwe_seeds(&s)?;
    dcql_seeds(&s)?;
    status_seeds(&s)?;
    x5c_seeds(&s)?;
    did_seeds(&s)?;
    form_seeds(&s)?;
    vc_jwt_seeds(&s)?;
    println!("seeds written to {}", s.root.display());
    Ok(())
}

fn proof_parts() -> (Value, Value) {
    let header =
        json!({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": h::jwk_of(h::holder_key())});
    let payload =
        json!({"aud": h::ISSUER, "iat": h::NOW.secs() - 10, "nonce": h::NONCE, "iss": "wallet"});
    (header, payload)
}

fn jws_and_key_proof(s: &Seeds) -> Res {
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "k1"});
    let payload = json!({"iss": h::ISSUER, "iat": h::NOW.secs() - 10, "exp": h::NOW.secs() + 600, "nbf": h::NOW.secs() - 10});
    s.put(
        "jws",
        "signed",
        Some(0),
        h::sign_json(&header, &payload, h::issuer_key()).as_bytes(),
    )?;
    s.put(
        "jws",
        "resigned",
        Some(1),
        &joined(&[
            header.to_string().as_bytes(),
            payload.to_string().as_bytes(),
        ]),
    )?;
    // The RFC 9901 issuer-signed JWTs (ES256 by the RFC's example key: the signature fails
    // here, the parsing does not).
    for (name, file) in [
        ("rfc9901_a1", "sd_jwt/rfc9901_a_1_simple_structured.json"),
        ("rfc9901_5", "sd_jwt/rfc9901_5_example_sd_jwt.json"),
    ] {
        let v: Value = serde_json::from_str(&fs::read_to_string(Path::new(VECTORS).join(file))?)?;
        if let Some(p) = v["presentation"].as_str() {
            let jwt = p.split('~').next().unwrap_or_default();
            s.put("jws", name, Some(0), jwt.as_bytes())?;
        }
    }
    let (ph, pp) = proof_parts();
    let proof = h::sign_json(&ph, &pp, h::holder_key());
    let expect = vdc_core::key_proof::ProofExpectations {
        policy: h::policy(),
        audience: h::ISSUER,
        now: h::NOW,
        max_age_secs: 300,
        skew: 60,
    };
    vdc_core::key_proof::verify(&proof, &expect).map_err(|e| format!("key proof seed: {e}"))?;
    s.put("key_proof", "signed", Some(0), proof.as_bytes())?;
    s.put(
        "key_proof",
        "resigned",
        Some(1),
        &joined(&[ph.to_string().as_bytes(), pp.to_string().as_bytes()]),
    )?;
    Ok(())
}

fn sd_jwt_seeds(s: &Seeds) -> Res {
    // The spec vectors as they are (their issuer keys are not ours: parsing, disclosure
    // and KB structure are reached, the signature check fails).
    for entry in fs::read_dir(Path::new(VECTORS).join("sd_jwt"))?
        .chain(fs::read_dir(Path::new(VECTORS).join("sd_jwt_vc"))?)
    {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_str(&fs::read_to_string(&path)?)?;
        let Some(stem) = path.file_stem().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(p) = v["presentation"].as_str() {
            s.put("sd_jwt", stem, Some(0), p.as_bytes())?;
        }
        // Re-signed: the vector's payload and disclosures, with our holder key as cnf.
        let (Some(Value::Object(payload)), Some(disclosures)) = (
            v.get("issuer_payload").cloned(),
            v["disclosures"].as_array(),
        ) else {
            continue;
        };
        let mut payload = payload;
        payload.insert("cnf".into(), json!({"jwk": h::jwk_of(h::holder_key())}));
        payload
            .entry("vct")
            .or_insert_with(|| json!("https://credentials.example.com/identity_credential"));
        let mut text = String::new();
        for d in disclosures.iter().filter_map(|d| d["encoded"].as_str()) {
            text.push_str(d);
            text.push('~');
        }
        let kb = json!({"aud": h::AUDIENCE, "nonce": h::NONCE, "iat": h::NOW.secs() - 5});
        s.put(
            "sd_jwt",
            &format!("{stem}_resigned"),
            Some(1),
            &joined(&[
                Value::Object(payload).to_string().as_bytes(),
                text.as_bytes(),
                kb.to_string().as_bytes(),
            ]),
        )?;
    }
    // A complete presentation as the re-signed mode builds it, as text.
    let payload = json!({
        "iss": h::ISSUER, "vct": "urn:eudi:pid:1", "iat": h::NOW.secs() - 100,
        "exp": h::NOW.secs() + 3600, "cnf": {"jwk": h::jwk_of(h::holder_key())},
        "_sd": [], "_sd_alg": "sha-256"
    });
    let issuer_jwt = h::sign_json(
        &json!({"alg": "EdDSA", "typ": "dc+sd-jwt"}),
        &payload,
        h::issuer_key(),
    );
    let presented = format!("{issuer_jwt}~");
    let kb = json!({"aud": h::AUDIENCE, "nonce": h::NONCE, "iat": h::NOW.secs() - 5, "sd_hash": sd_jwt::sha256_b64(&presented)});
    let kb_jwt = h::sign_json(
        &json!({"alg": "EdDSA", "typ": "kb+jwt"}),
        &kb,
        h::holder_key(),
    );
    let text = format!("{presented}{kb_jwt}");
    let opts = sd_jwt::VerifyOptions {
        policy: h::policy(),
        now: h::NOW,
        time_rules: vdc_core::jose::jws::TimeRules::default(),
        key_binding: sd_jwt::KeyBindingRequirement::Required {
            aud: h::AUDIENCE,
            nonce: h::NONCE,
            max_age_secs: 300,
        },
    };
    h::block_on(vdc_core::sd_jwt_vc::verify(&text, &h::FixedResolver, &opts))
        .map_err(|e| format!("SD-JWT seed: {e}"))?;
    s.put("sd_jwt", "harness_kb", Some(0), text.as_bytes())?;
    Ok(())
}

fn jwk_seeds(s: &Seeds) -> Res {
    let ed = h::jwk_of(h::holder_key());
    let p256 = SigningKey::p256_from_scalar(&[5; 32])?;
    let p256 = Value::Object(p256.public_key().to_jwk_members());
    let mut with_kid = p256.clone();
    with_kid["kid"] = json!("k1");
    let enc = h::ecdh_key().public_jwk_value(Some("enc-1"));
    s.put("jwk", "ed25519", None, ed.to_string().as_bytes())?;
    s.put("jwk", "p256_kid", None, with_kid.to_string().as_bytes())?;
    s.put("jwk", "enc", None, enc.to_string().as_bytes())?;
    let set = json!({"keys": [with_kid, ed, enc, {"kty": "RSA", "n": "AQAB", "e": "AQAB"}]});
    s.put("jwk", "set", None, set.to_string().as_bytes())?;
    s.put(
        "jwk",
        "private_ecdh",
        None,
        h::ecdh_key().to_private_jwk().as_bytes(),
    )?;
    Ok(())
}

fn jwe_seeds(s: &Seeds) -> Res {
    let key = h::ecdh_key();
    let params = JweHeaderParams {
        kid: Some("enc-1".into()),
        apu: Some(b"wallet".to_vec()),
        apv: Some(b"nonce".to_vec()),
        typ: None,
        cty: None,
    };
    let response = json!({"vp_token": {"q1": ["eyJ..."]}, "state": "s1"}).to_string();
    for (name, enc) in [
        ("a128", ContentEncryption::A128Gcm),
        ("a256", ContentEncryption::A256Gcm),
    ] {
        let token = jwe::encrypt(
            response.as_bytes(),
            key.public_key(),
            enc,
            params.clone(),
            &SeededRandom::new(1),
        )?;
        jwe::decrypt(&token, key, &[enc])?;
        s.put("jwe", name, Some(0), token.as_bytes())?;
    }
    s.put("jwe", "roundtrip", Some(1), response.as_bytes())?;
    Ok(())
}

fn dcql_seeds(s: &Seeds) -> Res {
    // OID4VP 1.0 §6 / Appendix D shapes.
    let simple = json!({"credentials": [{
        "id": "pid", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
        "claims": [{"path": ["given_name"]}, {"path": ["address", "locality"]}, {"path": ["nationalities", null]}]
    }]});
    let sets = json!({
        "credentials": [
            {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eudi:pid:1"]},
             "claims": [{"id": "a", "path": ["age_over_18"], "values": [true]},
                        {"id": "b", "path": ["birth_year"], "values": [1984, 1985]},
                        {"id": "c", "path": ["degrees", 0, "type"]}],
             "claim_sets": [["a"], ["b", "c"]]},
            {"id": "diploma", "format": "jwt_vc_json", "meta": {"type_values": [["VerifiableCredential", "ExampleDegreeCredential"]]},
             "require_cryptographic_holder_binding": false, "multiple": true}
        ],
        "credential_sets": [{"options": [["pid"], ["diploma"]]}, {"options": [["diploma"]], "required": false}]
    });
    s.put("dcql", "simple", None, simple.to_string().as_bytes())?;
    let claims = json!({"age_over_18": false, "birth_year": 1985, "degrees": [{"type": "PhD"}]});
    s.put(
        "dcql",
        "sets_claims",
        None,
        &joined(&[sets.to_string().as_bytes(), claims.to_string().as_bytes()]),
    )?;
    Ok(())
}

fn status_seeds(s: &Seeds) -> Res {
    let mut list = StatusList::new(64, 2)?;
    list.set(3, 1)?;
    list.set(7, 2)?;
    let compressed = list.encode(6)?;
    let payload = json!({
        "sub": h::STATUS_URI, "iss": h::ISSUER, "iat": h::NOW.secs() - 60, "exp": h::NOW.secs() + 3600, "ttl": 300,
        "status_list": {"bits": 2, "lst": base64url::encode(&compressed), "aggregation_uri": "https://issuer.example/statuslists"}
    });
    let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": "k1"});
    let token = h::sign_json(&header, &payload, h::issuer_key());
    let opts = vdc_status::VerifyOptions {
        uri: h::STATUS_URI,
        expected_issuer: Some(h::ISSUER),
        now: h::NOW,
        skew: 60,
        policy: h::policy(),
        max_list_bytes: 64 * 1024,
    };
    h::block_on(vdc_status::verify_status_list_token(
        &token,
        &h::FixedResolver,
        &opts,
    ))
    .map_err(|e| format!("status list token seed: {e}"))?;
    s.put("status_list", "token", Some(0), token.as_bytes())?;
    s.put(
        "status_list",
        "token_resigned",
        Some(1),
        payload.to_string().as_bytes(),
    )?;
    let mut lst = vec![1u8];
    lst.extend_from_slice(&compressed);
    s.put("status_list", "lst_bits2", Some(2), &lst)?;
    let reference = StatusReference::new(7, h::STATUS_URI)?.to_status_claim();
    s.put(
        "status_list",
        "status_claim",
        Some(3),
        reference.to_string().as_bytes(),
    )?;
    let entry = BitstringStatusListEntry::new(
        StatusPurpose::Revocation,
        7,
        "https://issuer.example/bitstring/1",
    )
    .with_id("https://issuer.example/bitstring/1#7")
    .to_value()?;
    s.put(
        "status_list",
        "bitstring_entry",
        Some(3),
        entry.to_string().as_bytes(),
    )?;
    let mut bits = BitstringStatusList::new(vdc_status::MIN_BITSTRING_ENTRIES, 1)?;
    bits.set(7, 1)?;
    s.put(
        "status_list",
        "encoded_list",
        Some(3),
        Value::String(bits.encode(6)?).to_string().as_bytes(),
    )?;
    let cred = BitstringStatusListCredential {
        id: "https://issuer.example/bitstring/1".into(),
        issuer: h::ISSUER.into(),
        valid_from: h::NOW.plus(-3600),
        valid_until: Some(h::NOW.plus(3600)),
        subject_id: None,
        status_purpose: StatusPurpose::Revocation,
        ttl_ms: Some(300_000),
    }
    .to_credential(&bits, 6)?;
    let cred = Value::Object(cred).to_string();
    let signed = h::sign_compact(
        br#"{"alg":"EdDSA","typ":"vc+jwt"}"#,
        cred.as_bytes(),
        h::issuer_key(),
    );
    vdc_status::verify_bitstring_status_list_credential(
        &signed,
        h::issuer_public(),
        h::policy(),
        h::NOW,
        60,
        1 << 19,
    )
    .map_err(|e| format!("bitstring credential seed: {e}"))?;
    s.put(
        "status_list",
        "bitstring_credential",
        Some(4),
        cred.as_bytes(),
    )?;
    Ok(())
}

fn x5c_seeds(s: &Seeds) -> Res {
    let dir = Path::new(VECTORS).join("x509");
    let ca = fs::read(dir.join("ca.der"))?;
    let p256 = fs::read(dir.join("leaf_p256.der"))?;
    let ed = fs::read(dir.join("leaf_ed25519.der"))?;
    s.put("x5c", "leaf_p256", Some(0), &p256)?;
    s.put("x5c", "leaf_ed25519", Some(0), &ed)?;
    s.put("x5c", "ca", Some(0), &ca)?;
    // A three-certificate chain made by vdc: the vector root issues an intermediate CA,
    // which issues a leaf (x509::issue, the code the issuer uses for its own chains).
    let scalar = fs::read_to_string(dir.join("ca_p256_scalar.hex"))?;
    let scalar: Vec<u8> = (0..scalar.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&scalar.trim()[i..i + 2], 16))
        .collect::<Result<_, _>>()?;
    let ca_key = SigningKey::p256_from_scalar(&scalar)?;
    let rng = SeededRandom::new(2);
    let mid_key = SigningKey::p256_from_scalar(&[6; 32])?;
    let mid_spec = x509::CertificateSpec::new(
        "Fuzz Intermediate",
        h::NOW.plus(-86_400),
        h::NOW.plus(86_400 * 365),
        &rng,
    )?
    .ca();
    let mid = x509::issue(&mid_spec, mid_key.public_key(), &ca, &ca_key)?;
    let leaf_spec = x509::CertificateSpec::new(
        "Fuzz Leaf",
        h::NOW.plus(-86_400),
        h::NOW.plus(86_400 * 30),
        &rng,
    )?
    .with_dns_name("verifier.example.org")
    .with_uri("https://verifier.example.org/id");
    let leaf = x509::issue(&leaf_spec, h::issuer_key().public_key(), &mid, &mid_key)?;
    let anchors = x509::TrustAnchors::from_der_certs(vec![ca.clone()])?;
    x509::validate_x5c(&[leaf.clone(), mid.clone(), ca.clone()], &anchors, h::NOW)
        .map_err(|e| format!("x5c seed: {e}"))?;
    let mut chain = Vec::new();
    for der in [&leaf, &mid] {
        let len = u16::try_from(der.len())?;
        chain.extend_from_slice(&len.to_be_bytes());
        chain.extend_from_slice(der);
    }
    chain.extend_from_slice(&ca);
    s.put("x5c", "chain3", Some(1), &chain)?;
    let header = x509::to_x5c(&[leaf.clone(), mid.clone()]);
    s.put("x5c", "x5c_json", Some(2), header.to_string().as_bytes())?;
    let pem = format!("{}{}", x509::to_pem(&leaf), x509::to_pem(&ca));
    s.put("x5c", "pem", Some(3), pem.as_bytes())?;
    Ok(())
}

fn did_seeds(s: &Seeds) -> Res {
    let key = h::holder_key().public_key();
    let p256 = SigningKey::p256_from_scalar(&[5; 32])?;
    let did_key = did::did_key_from(key);
    let did_key_p256 = did::did_key_from(p256.public_key());
    let did_jwk = did::did_jwk_from(key);
    s.put(
        "did",
        "did_key_ed25519",
        Some(0),
        format!("{did_key}#{}", &did_key["did:key:".len()..]).as_bytes(),
    )?;
    s.put("did", "did_key_p256", Some(0), did_key_p256.as_bytes())?;
    s.put("did", "did_jwk", Some(0), format!("{did_jwk}#0").as_bytes())?;
    s.put(
        "did",
        "did_web",
        Some(0),
        b"did:web:example.com%3A3000:user:alice",
    )?;
    let id = "did:web:issuer.example";
    let doc = json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": id,
        "verificationMethod": [
            {"id": "#key-1", "type": "JsonWebKey2020", "controller": id, "publicKeyJwk": h::jwk_of(h::issuer_key())},
            {"id": format!("{id}#key-2"), "type": "Multikey", "controller": id,
             "publicKeyMultibase": did_key_p256["did:key:".len()..]}
        ],
        "assertionMethod": ["#key-1", format!("{id}#key-2")],
        "authentication": [{"id": "#key-3", "type": "Multikey", "controller": id,
             "publicKeyMultibase": &did_key["did:key:".len()..]}]
    });
    did::DidDocument::from_json(&doc)?.key_for("#key-2", did::Relationship::AssertionMethod)?;
    s.put(
        "did",
        "document",
        Some(1),
        &joined(&[doc.to_string().as_bytes(), b"#key-2"]),
    )?;
    Ok(())
}

fn form_seeds(s: &Seeds) -> Res {
    s.put(
        "form",
        "token",
        Some(0),
        b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=SplxlOBeZQQYbYS6WxSbIA&tx_code=493536",
    )?;
    s.put(
        "form",
        "direct_post",
        Some(0),
        b"vp_token=%7B%22q1%22%3A%5B%22eyJ%22%5D%7D&state=abc+def",
    )?;
    s.put(
        "form",
        "json",
        Some(1),
        br#"{"credential_configuration_id":"pid","proofs":{"jwt":["a.b.c"]}}"#,
    )?;
    s.put(
        "form",
        "typed",
        Some(2),
        br#"{"grant_type":"authorization_code","tx_code":"1234","batch":3,"proof":{"jwt":"x"}}"#,
    )?;
    s.put("form", "bearer", Some(3), b"Bearer 2YotnFZFEjr1zCsicMWpAA")?;
    Ok(())
}

fn vc_jwt_seeds(s: &Seeds) -> Res {
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "http://university.example/credentials/3732",
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": "https://university.example/issuers/14",
        "validFrom": "2010-01-01T19:23:24Z",
        "validUntil": "2040-01-01T19:23:24.5+02:00",
        "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
                              "degree": {"type": "ExampleBachelorDegree", "name": "Bachelor of Science and Arts"}},
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                             "statusListIndex": "7", "statusListCredential": "https://issuer.example/bitstring/1"}
    });
    let vc = h::sign_json(
        &json!({"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc"}),
        &credential,
        h::issuer_key(),
    );
    s.put("vc_jwt", "vc", Some(0), vc.as_bytes())?;
    s.put(
        "vc_jwt",
        "vc_resigned",
        Some(1),
        credential.to_string().as_bytes(),
    )?;
    let holder = LocalSigner::new(h::ed25519(h::HOLDER_SEED));
    let vp = h::block_on(vc_jose::present_vp_jwt(
        std::slice::from_ref(&vc),
        &holder,
        h::AUDIENCE,
        h::NONCE,
        h::NOW.plus(-5),
        Some("https://holder.example"),
    ))?;
    vc_jose::verify_vc_jwt(&vc, h::issuer_public(), h::policy(), h::NOW, 60)
        .map_err(|e| format!("vc+jwt seed: {e}"))?;
    vc_jose::verify_vp_jwt(
        &vp,
        h::holder_key().public_key(),
        h::policy(),
        h::AUDIENCE,
        h::NONCE,
        h::NOW,
        300,
    )
    .map_err(|e| format!("vp+jwt seed: {e}"))?;
    s.put("vc_jwt", "vp", Some(0), vp.as_bytes())?;
    let vp_payload = vp
        .split('.')
        .nth(1)
        .map(base64url::decode)
        .transpose()?
        .unwrap_or_default();
    s.put("vc_jwt", "vp_resigned", Some(2), &vp_payload)?;
    s.put(
        "vc_jwt",
        "datetime",
        Some(3),
        b"2025-06-15T15:06:40.250-01:30",
    )?;
    Ok(())
}
