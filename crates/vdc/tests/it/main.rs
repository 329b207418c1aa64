//! End-to-end tests of the `vdc` server over real HTTP, each on SQLite and on Postgres
//! (one test binary, STYLE.md §8).

// Test helpers outside #[test] functions fail loudly by design.
// Tests slice strings they built themselves (known ASCII), never untrusted input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::string_slice
)]

mod access;
mod authorization;
mod browser;
mod claims_endpoint;
mod conformance;
mod credential_encryption;
mod dc_api;
mod demo;
mod deployment;
mod docs;
mod errors;
mod files;
mod haip;
mod hardening;
mod hsm;
mod issuance;
mod issuer_x5c;
mod kek_rotation;
mod key_attestation;
mod key_rotation;
mod limits;
mod logs;
mod management;
mod mdoc_issuance;
mod mdoc_presentation;
mod observability;
mod pages;
mod pages_tenants;
mod presentation;
mod races;
mod shutdown;
mod startup;
mod status;
mod status_bitstring_foreign;
mod status_cwt;
mod strictness;
mod support;
mod tenants;
mod throughput;
mod tls;
mod transaction_data;
mod vcdm11;
mod verifier_haip;
mod verifier_info;
mod verifier_keys;
mod wallet_attestation;
mod wallet_cli;
mod wallet_login;
mod wallet_mdoc;
mod webhooks;
