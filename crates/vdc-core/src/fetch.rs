//! Hardened outbound HTTP fetches (G7). Filled in by the fetch work item.
