//! vdc-status integration tests: one binary (STYLE.md §8), one module per concern.

mod client;
mod interop;
mod property;
mod support;
