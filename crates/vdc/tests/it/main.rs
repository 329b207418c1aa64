//! End-to-end tests of the `vdc` server over real HTTP, each on SQLite and on Postgres
//! (one test binary, STYLE.md §8).

// Test helpers outside #[test] functions fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod browser;
mod conformance;
mod deployment;
mod docs;
mod errors;
mod files;
mod issuance;
mod limits;
mod management;
mod observability;
mod pages;
mod presentation;
mod races;
mod shutdown;
mod status;
mod strictness;
mod support;
mod tls;
mod webhooks;
