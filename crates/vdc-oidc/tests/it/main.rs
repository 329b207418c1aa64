//! vdc-oidc integration tests: one binary (STYLE.md §8), against a real OpenID Provider
//! (`conformance/idp`, npm oidc-provider) started per test by `vdc_oidc::IdpPeer`. They need
//! node >= 20 and npm (for `npm ci` on first use); they never skip.
//! The modules are `cfg(test)` so clippy's allow-unwrap/expect/panic-in-tests covers their
//! helpers too.

#[cfg(test)]
mod flow;
