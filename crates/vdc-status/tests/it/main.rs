//! vdc-status integration tests: one binary (STYLE.md §8), one module per concern.
//! The modules are `cfg(test)` so clippy's allow-unwrap/expect/panic-in-tests covers their
//! helpers too.

// Tests slice strings they built themselves (known ASCII), never untrusted input.
#![allow(clippy::string_slice)]

#[cfg(test)]
mod client;
#[cfg(test)]
mod interop;
#[cfg(test)]
mod property;
#[cfg(test)]
mod support;
