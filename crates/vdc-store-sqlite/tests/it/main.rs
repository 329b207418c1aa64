//! Integration tests of the SQLite store: the whole contract suite of `vdc-store` (each test
//! on a fresh temporary database file), plus what only SQLite has (busy timeouts, reopening).

// Tests slice strings they built themselves (known ASCII), never untrusted input.
#![allow(clippy::string_slice)]

mod fixture;
mod sqlite;

vdc_store::contract_suite!(fixture::fresh);
