//! JWE Compact Serialization with ECDH-ES key agreement and AES-GCM (RFC 7516, RFC 7518
//! §4.6, §5.3). Filled in by the JWE work item.
