//! SD-JWT VC.
