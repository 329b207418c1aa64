//! Integration tests of the Postgres store: the whole contract suite of `vdc-store` (each
//! test on its own fresh database), plus outage behaviour. Postgres must be running: if it
//! cannot be reached, every test here fails with a message saying so (never skips).

// Tests slice strings they built themselves (known ASCII), never untrusted input.
#![allow(clippy::string_slice)]

mod fixture;
mod postgres;

vdc_store::contract_suite!(fixture::fresh);
