//! Limits on catalog input. Checked before anything is written, so a bad batch changes nothing.

use crate::error::{Error, Result};
use crate::types::Item;

pub const MAX_ITEMS: usize = 1_000_000;
pub const MAX_TEXT_BYTES: usize = 1024;
pub const MAX_TAGS: usize = 64;
pub const MAX_EMBEDDING_DIM: usize = 512;
pub const MAX_RELATED: usize = 200;
pub const MAX_PRICE: f64 = 1e9;

pub use crate::validate::id;

fn text(what: &str, item: &str, value: &str) -> Result<()> {
    if value.len() > MAX_TEXT_BYTES {
        return Err(Error::invalid(format!(
            "item {item}: {what} is {} bytes; the limit is {MAX_TEXT_BYTES}",
            value.len()
        )));
    }
    Ok(())
}

/// Check one item; the message names the item and the field.
pub fn item(item: &Item) -> Result<()> {
    id("item id", &item.id)?;
    let i = &item.id;
    text("title", i, &item.title)?;
    text("category", i, &item.category)?;
    text("brand", i, &item.brand)?;
    if !item.price.is_finite() || item.price < 0.0 || item.price > MAX_PRICE {
        return Err(Error::invalid(format!(
            "item {i}: price {} must be a finite number between 0 and {MAX_PRICE}",
            item.price
        )));
    }
    if item.tags.len() > MAX_TAGS {
        return Err(Error::invalid(format!(
            "item {i}: {} tags; at most {MAX_TAGS}",
            item.tags.len()
        )));
    }
    for tag in &item.tags {
        text("tag", i, tag)?;
    }
    if let Some(m) = item.margin {
        if !m.is_finite() || !(-1.0..=1.0).contains(&m) {
            return Err(Error::invalid(format!(
                "item {i}: margin {m} must be a fraction of the price between -1 and 1"
            )));
        }
    }
    if let Some(r) = item.repeat_rate {
        if !r.is_finite() || !(0.0..=1.0).contains(&r) {
            return Err(Error::invalid(format!(
                "item {i}: repeat_rate {r} must be a share of buyers between 0 and 1"
            )));
        }
    }
    if !item.popularity.is_finite() || item.popularity < 0.0 {
        return Err(Error::invalid(format!(
            "item {i}: popularity {} must be a finite number >= 0",
            item.popularity
        )));
    }
    if let Some(e) = &item.embedding {
        if e.is_empty() || e.len() > MAX_EMBEDDING_DIM {
            return Err(Error::invalid(format!(
                "item {i}: embedding has {} values; use 1..={MAX_EMBEDDING_DIM}",
                e.len()
            )));
        }
        if e.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "item {i}: embedding contains NaN or infinity"
            )));
        }
    }
    if item.related.len() > MAX_RELATED {
        return Err(Error::invalid(format!(
            "item {i}: {} related items; at most {MAX_RELATED}",
            item.related.len()
        )));
    }
    for r in &item.related {
        id("related item id", &r.item_id)?;
        if !r.weight.is_finite() || r.weight < 0.0 {
            return Err(Error::invalid(format!(
                "item {i}: related item {} has weight {}; use a finite number >= 0",
                r.item_id, r.weight
            )));
        }
    }
    Ok(())
}

/// Check a batch: every item valid, no duplicate ids, one embedding dimension.
pub fn batch(items: &[Item], existing_dim: Option<usize>) -> Result<()> {
    if items.len() > MAX_ITEMS {
        return Err(Error::invalid(format!(
            "{} items in one call; the catalog holds at most {MAX_ITEMS}",
            items.len()
        )));
    }
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let mut dim = existing_dim;
    for it in items {
        item(it)?;
        if !seen.insert(it.id.as_str()) {
            return Err(Error::invalid(format!(
                "item {} appears twice in one batch; send each id once",
                it.id
            )));
        }
        if let Some(e) = &it.embedding {
            match dim {
                Some(d) if d != e.len() => {
                    return Err(Error::invalid(format!(
                        "item {}: embedding has {} values but the catalog uses {d}; \
                         all items must share one dimension",
                        it.id,
                        e.len()
                    )))
                }
                _ => dim = Some(e.len()),
            }
        }
    }
    Ok(())
}
