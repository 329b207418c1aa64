//! vdc-core integration tests: one binary (STYLE.md §8), one module per concern.

// Test helpers outside #[test] functions fail loudly by design.
// Tests slice strings they built themselves (known ASCII), never untrusted input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::string_slice
)]

mod interop;
mod issuer_keys;
mod key_proof;
mod property;
mod rfc_examples;
mod sd_jwt_rules;
mod sd_jwt_vc;
mod support;
