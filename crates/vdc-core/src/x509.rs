//! X.509 chains (x5c) and certificate creation. Filled in by the X.509 work item.
