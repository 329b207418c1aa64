//! Wallet-side operations.
