//! Named candidate sets: an app defines a list of item ids once (`define_candidate_set`) and
//! names it in `RankRequest::candidate_set`, so a rank call through the Kotlin or Swift bindings
//! carries one short string instead of lowering thousands of ids, and the core resolves the ids
//! to catalog indices once per catalog snapshot instead of once per call.
//!
//! Sets live in memory until `close` (an app defines them at start, like its surfaces). Ranking
//! a set gives exactly what ranking the same `candidate_ids` gives: duplicates count once (first
//! wins), unknown ids are reported in `unknown_ids`, the request's rules filter the rest.

use super::pipeline::{Seen, MAX_CANDIDATES};
use crate::catalog::CatalogSnapshot;
use crate::error::{Error, Result};
use arc_swap::ArcSwapOption;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::{Arc, Weak};

/// How many sets may be defined at once (a set per surface or campaign, not per call).
pub const MAX_CANDIDATE_SETS: usize = 64;

/// A set's ids resolved against one catalog snapshot.
#[derive(Debug)]
pub struct Resolved {
    /// The snapshot these indices belong to. Weak, so a set does not keep an old catalog alive;
    /// the allocation stays while this lives, so a new snapshot never has the same address.
    catalog: Weak<CatalogSnapshot>,
    /// Distinct catalog indices, in the order the ids were given (first occurrence wins).
    pub indices: Vec<u32>,
    /// Ids the catalog does not have, distinct, in the order given.
    pub unknown: Vec<String>,
}

#[derive(Debug)]
pub struct CandidateSet {
    ids: Vec<String>,
    resolved: ArcSwapOption<Resolved>,
}

impl CandidateSet {
    /// The set resolved against `catalog`: cached until the catalog changes.
    pub fn resolve(&self, catalog: &Arc<CatalogSnapshot>) -> Arc<Resolved> {
        if let Some(r) = self.resolved.load_full() {
            if std::ptr::eq(r.catalog.as_ptr(), Arc::as_ptr(catalog)) {
                return r;
            }
        }
        let mut seen = Seen::new(catalog.len());
        let mut seen_unknown: FxHashSet<&str> = FxHashSet::default();
        let mut indices = Vec::with_capacity(self.ids.len());
        let mut unknown = Vec::new();
        for id in &self.ids {
            match catalog.get(id) {
                Some(i) => {
                    if seen.insert(i) {
                        indices.push(i);
                    }
                }
                None => {
                    if seen_unknown.insert(id) {
                        unknown.push(id.clone());
                    }
                }
            }
        }
        let r = Arc::new(Resolved {
            catalog: Arc::downgrade(catalog),
            indices,
            unknown,
        });
        self.resolved.store(Some(r.clone()));
        r
    }
}

/// The defined sets, by name.
#[derive(Debug, Default)]
pub struct CandidateSets {
    sets: parking_lot::RwLock<FxHashMap<String, Arc<CandidateSet>>>,
}

fn check_name(name: &str) -> Result<()> {
    crate::validate::id("candidate set name", name)
}

impl CandidateSets {
    /// Define (or replace) a set; returns how many distinct ids it holds. Bad input changes
    /// nothing: an empty or too large list, a bad id, or one set too many.
    pub fn define(&self, name: String, ids: Vec<String>) -> Result<u32> {
        check_name(&name)?;
        if ids.is_empty() {
            return Err(Error::invalid(format!(
                "candidate set {name:?} has no ids; pass at least one (or remove the set)"
            )));
        }
        if ids.len() > MAX_CANDIDATES {
            return Err(Error::invalid(format!(
                "candidate set {name:?} has {} ids; at most {MAX_CANDIDATES}",
                ids.len()
            )));
        }
        for id in &ids {
            crate::validate::id("candidate set item id", id)?;
        }
        let distinct = ids
            .iter()
            .map(String::as_str)
            .collect::<FxHashSet<_>>()
            .len();
        let mut sets = self.sets.write();
        if !sets.contains_key(&name) && sets.len() >= MAX_CANDIDATE_SETS {
            return Err(Error::invalid(format!(
                "{MAX_CANDIDATE_SETS} candidate sets are defined already; remove one \
                 (remove_candidate_set) or redefine an existing name"
            )));
        }
        sets.insert(
            name,
            Arc::new(CandidateSet {
                ids,
                resolved: ArcSwapOption::empty(),
            }),
        );
        Ok(u32::try_from(distinct).unwrap_or(u32::MAX))
    }

    /// Remove a set; returns whether it existed.
    pub fn remove(&self, name: &str) -> Result<bool> {
        check_name(name)?;
        Ok(self.sets.write().remove(name).is_some())
    }

    /// The names defined, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.sets.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// The set called `name`, or a `NotFound` error naming it.
    pub fn get(&self, name: &str) -> Result<Arc<CandidateSet>> {
        self.sets.read().get(name).cloned().ok_or_else(|| {
            Error::NotFound(format!(
                "no candidate set named {name:?}; define it with define_candidate_set first \
                 (sets last until close)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Item;

    fn catalog(ids: &[&str]) -> Arc<CatalogSnapshot> {
        Arc::new(CatalogSnapshot::build(
            ids.iter()
                .map(|id| Item {
                    id: id.to_string(),
                    title: id.to_string(),
                    category: "c".into(),
                    brand: String::new(),
                    price: 1.0,
                    tags: vec![],
                    in_stock: true,
                    margin: None,
                    embedding: None,
                    popularity: 1.0,
                    repeat_rate: None,
                    related: vec![],
                })
                .collect(),
        ))
    }

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn resolves_like_a_candidate_list_and_again_after_a_catalog_change() {
        let sets = CandidateSets::default();
        assert_eq!(
            sets.define("home".into(), strings(&["b", "x", "a", "b", "x", "y"]))
                .unwrap(),
            4
        );
        let set = sets.get("home").unwrap();
        let first = catalog(&["a", "b"]);
        let r = set.resolve(&first);
        assert_eq!(r.indices, vec![1, 0]);
        assert_eq!(r.unknown, strings(&["x", "y"]));
        assert!(Arc::ptr_eq(&r, &set.resolve(&first)), "cached per snapshot");
        let second = catalog(&["x", "a", "b"]);
        let r = set.resolve(&second);
        assert_eq!(r.indices, vec![2, 0, 1]);
        assert_eq!(r.unknown, strings(&["y"]));
    }

    #[test]
    fn bad_definitions_change_nothing() {
        let sets = CandidateSets::default();
        sets.define("s".into(), strings(&["a"])).unwrap();
        for (name, ids) in [
            ("s", vec![]),
            ("s", strings(&["a", " "])),
            (" ", strings(&["a"])),
            ("t", vec!["i".to_string(); MAX_CANDIDATES + 1]),
        ] {
            assert!(matches!(
                sets.define(name.into(), ids),
                Err(Error::Invalid(_))
            ));
        }
        assert_eq!(sets.names(), strings(&["s"]));
        assert_eq!(sets.get("s").unwrap().ids, strings(&["a"]));
        assert!(matches!(sets.get("t"), Err(Error::NotFound(_))));
        for k in 1..MAX_CANDIDATE_SETS {
            sets.define(format!("n{k}"), strings(&["a"])).unwrap();
        }
        assert!(matches!(
            sets.define("one-too-many".into(), strings(&["a"])),
            Err(Error::Invalid(_))
        ));
        sets.define("s".into(), strings(&["b"])).unwrap(); // redefining is fine
        assert!(sets.remove("s").unwrap());
        assert!(!sets.remove("s").unwrap());
    }
}
