//! DCQL queries (OID4VP 1.0 §6) as the management API receives them:
//! `DcqlQuery::parse`, its JSON form, `satisfied_by`, and `match_claims` / `select` against
//! a credential's claims.
//!
//! Input: `query NUL claims` (both JSON; the claims part is optional). A query that parses
//! must parse again from its own JSON form, to the same JSON.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use vdc_core::json;
use vdc_fuzz_common as h;
use vdc_verifier::dcql::{self, DcqlQuery};

fuzz_target!(|data: &[u8]| {
    let parts = h::split(data, 2);
    let Ok(value) = json::parse(parts[0], json::DEFAULT_MAX_LEN) else {
        return;
    };
    let Ok(query) = DcqlQuery::parse(&value) else {
        return;
    };
    let shown = query.to_value();
    match DcqlQuery::parse(&shown) {
        Ok(again) => assert_eq!(again.to_value(), shown, "DCQL JSON form is not stable"),
        Err(e) => panic!("DCQL query refused its own JSON form {shown}: {e}"),
    }
    let claims: Map<String, Value> = parts
        .get(1)
        .and_then(|c| json::parse_object(c, json::DEFAULT_MAX_LEN).ok())
        .unwrap_or_else(default_claims);
    let root = Value::Object(claims.clone());
    let mut answered = BTreeSet::new();
    for c in &query.credentials {
        assert!(query.credential(&c.id).is_some());
        if c.match_claims(&claims).is_ok() {
            answered.insert(c.id.as_str());
        }
        for q in c.claims.iter().flatten() {
            let _ = dcql::select(&root, &q.path);
        }
    }
    let _ = query.satisfied_by(&answered);
    let _ = query.satisfied_by(&BTreeSet::new());
    let all: BTreeSet<&str> = query.credentials.iter().map(|c| c.id.as_str()).collect();
    let _ = query.satisfied_by(&all);
});

fn default_claims() -> Map<String, Value> {
    let v = json!({
        "vct": "https://credentials.example.com/identity_credential",
        "given_name": "Erika",
        "family_name": "Mustermann",
        "age_over_18": true,
        "birth_year": 1984,
        "nationalities": ["DE", "AT"],
        "address": {"street_address": "Heidestrasse 17", "locality": "Koeln", "country": "DE"},
        "degrees": [{"type": "Bachelor", "university": "X"}, {"type": "Master"}]
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
