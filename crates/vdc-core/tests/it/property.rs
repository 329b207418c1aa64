//! Property tests: issue → present any subset → verify gives exactly that subset.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use vdc_core::claims_path::ClaimPath;
use vdc_core::jose::jws::TimeRules;
use vdc_core::jose::{Algorithm, AlgorithmPolicy, Signer};
use vdc_core::rng::SeededRandom;
use vdc_core::sd_jwt::{self, Frame, KeyBindingInput, KeyBindingRequirement, SdJwt, VerifyOptions};
use vdc_core::time::UnixTime;

use crate::support::*;

fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9 äöü\"\\\\]{0,12}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        prop::collection::vec("[a-z]{1,4}", 0..4).prop_map(|v| json!(v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_subset_round_trips(
        claims in prop::collection::btree_map("[a-z_]{1,8}", claim_value(), 1..8),
        nested in prop::collection::btree_map("[a-z]{1,6}", claim_value(), 0..4),
        mask in any::<u16>(),
        seed in any::<u64>(),
    ) {
        let claims: Map<String, Value> = claims.into_iter().filter(|(k, _)| k != "_sd" && k != "cnf").collect();
        let (issuer, holder) = (signer(Algorithm::Es256, 70), signer(Algorithm::EdDsa, 71));
        let mut payload = claims.clone();
        payload.insert("nested".into(), Value::Object(nested.clone().into_iter().collect()));
        payload.insert("cnf".into(), json!({"jwk": jwk_value(&holder)}));
        let mut paths: Vec<ClaimPath> = claims.keys().map(|k| ClaimPath::names(&[k]).unwrap()).collect();
        paths.extend(nested.keys().map(|k| ClaimPath::names(&["nested", k]).unwrap()));
        let frame = Frame::from_paths(&paths).unwrap().decoys(2);
        let mut header = Map::new();
        header.insert("typ".into(), "dc+sd-jwt".into());
        let issued = block_on(sd_jwt::issue(payload, &frame, header, &issuer, &SeededRandom::new(seed))).unwrap();

        let chosen_paths: Vec<ClaimPath> = paths.iter().enumerate().filter(|(i, _)| mask & (1 << (i % 16)) != 0).map(|(_, p)| p.clone()).collect();
        let sd = SdJwt::parse(&issued.compact).unwrap();
        let chosen = sd_jwt::select_disclosures(&sd, &chosen_paths).unwrap();
        let pres = block_on(sd_jwt::present(&sd, chosen, Some(KeyBindingInput { signer: &holder, aud: "aud", nonce: "n", iat: UnixTime(NOW) }))).unwrap();
        let p = AlgorithmPolicy::default();
        let opts = VerifyOptions { policy: &p, now: UnixTime(NOW), time_rules: TimeRules::default(),
            key_binding: KeyBindingRequirement::Required { aud: "aud", nonce: "n", max_age_secs: 60 } };
        let parsed = SdJwt::parse(&pres).unwrap();
        let v = parsed.verify(&parsed.issuer_jws().unwrap(), &issuer.public_jwk().key, &opts).unwrap();

        for (k, val) in &claims {
            let wanted = chosen_paths.contains(&ClaimPath::names(&[k]).unwrap());
            prop_assert_eq!(v.claims.get(k), wanted.then_some(val));
        }
        for (k, val) in &nested {
            let wanted = chosen_paths.contains(&ClaimPath::names(&["nested", k]).unwrap());
            let got = v.claims.get("nested").and_then(|n| n.get(k));
            prop_assert_eq!(got, wanted.then_some(val));
        }
    }
}
