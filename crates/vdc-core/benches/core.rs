//! Criterion benchmarks for the credential core.
fn main() {}
