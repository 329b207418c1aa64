//! DID resolution: did:key, did:jwk, did:web. Filled in by the DID work item.
