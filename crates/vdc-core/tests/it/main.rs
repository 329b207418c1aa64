//! vdc-core integration tests: one binary (STYLE.md §8), one module per concern.

mod interop;
mod issuer_keys;
mod key_proof;
mod property;
mod rfc_examples;
mod sd_jwt_rules;
mod sd_jwt_vc;
mod support;
