//! Which claims an issuer makes selectively disclosable.

use std::collections::{BTreeMap, BTreeSet};

use crate::claims_path::{ClaimPath, PathElement};
use crate::error::{Error, Result};

/// A disclosure frame: at each level, the members or array indexes that become
/// Disclosures, nested frames for deeper levels, and how many decoy digests to add.
///
/// Built from claims paths (the `claims` of an OID4VCI credential configuration) with
/// [`Frame::from_paths`]; `null` in a path means every array element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    pub(crate) sd: BTreeSet<Key>,
    pub(crate) sd_all_elements: bool,
    pub(crate) children: BTreeMap<Key, Frame>,
    pub(crate) all_elements_child: Option<Box<Frame>>,
    pub(crate) decoys: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    Name(String),
    Index(usize),
}

impl Frame {
    /// An empty frame: nothing selectively disclosable.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frame in which every listed path is selectively disclosable, and so is every
    /// ancestor object member or array element on the way to it (a nested claim is only
    /// useful to withhold if its parent can be withheld too).
    pub fn from_paths(paths: &[ClaimPath]) -> Result<Self> {
        let mut frame = Self::new();
        for p in paths {
            frame.add_path(p)?;
        }
        Ok(frame)
    }

    /// Adds one path (and its ancestors) as selectively disclosable.
    pub fn add_path(&mut self, path: &ClaimPath) -> Result<()> {
        let mut level = self;
        for element in path.elements() {
            match element {
                PathElement::Name(n) => {
                    if n == "_sd" || n == "..." || n == "_sd_alg" {
                        return Err(Error::SdJwt(format!("{n} cannot be a claim name")));
                    }
                    level.sd.insert(Key::Name(n.clone()));
                    level = level.children.entry(Key::Name(n.clone())).or_default();
                }
                PathElement::Index(i) => {
                    level.sd.insert(Key::Index(*i));
                    level = level.children.entry(Key::Index(*i)).or_default();
                }
                PathElement::AllElements => {
                    level.sd_all_elements = true;
                    level = level.all_elements_child.get_or_insert_with(Box::default);
                }
            }
        }
        Ok(())
    }

    /// Makes a top-level member selectively disclosable (shorthand for a one-name path).
    pub fn sd(mut self, name: &str) -> Self {
        self.sd.insert(Key::Name(name.into()));
        self
    }

    /// Sets the nested frame for a member.
    pub fn child(mut self, name: &str, frame: Frame) -> Self {
        self.children.insert(Key::Name(name.into()), frame);
        self
    }

    /// Makes every element of this array selectively disclosable.
    pub fn sd_elements(mut self) -> Self {
        self.sd_all_elements = true;
        self
    }

    /// Adds `n` decoy digests at this level (RFC 9901 §4.2.5).
    pub fn decoys(mut self, n: usize) -> Self {
        self.decoys = n;
        self
    }

    /// The names made selectively disclosable at this level.
    pub(crate) fn is_sd(&self, key: &Key) -> bool {
        self.sd.contains(key) || (self.sd_all_elements && matches!(key, Key::Index(_)))
    }

    pub(crate) fn child_for(&self, key: &Key) -> Option<&Frame> {
        match key {
            Key::Index(_) => self
                .children
                .get(key)
                .or(self.all_elements_child.as_deref()),
            Key::Name(_) => self.children.get(key),
        }
    }

    /// Whether a top-level member name is selectively disclosable.
    pub fn is_top_level_sd(&self, name: &str) -> bool {
        self.sd.contains(&Key::Name(name.into()))
    }
}
