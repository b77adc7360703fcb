//! Candidates → feature matrix (row-major, one row per candidate, one column per feature).

use super::context::RequestContext;
use super::definitions::*;
use super::view::Copurchase;
use super::view::ProfileView;
use crate::catalog::{CatalogItem, CatalogSnapshot};
use crate::profile::signals::{decay_factor, RECENT_PURCHASE_HALF_LIFE_SECS};
use crate::profile::ItemStats;

const DAY: f64 = 86_400.0;

fn recency(now: i64, then: i64, half_life_days: f64) -> f32 {
    if then <= 0 {
        0.0
    } else {
        decay_factor(now - then, half_life_days * DAY) as f32
    }
}

/// `ln(1 + x)` without the libm call for the common 0 (most candidates have no co-purchase
/// score and most requests no context); the same value otherwise.
fn ln_1p(x: f32) -> f32 {
    if x == 0.0 {
        0.0
    } else {
        x.ln_1p()
    }
}

fn cosine(a: Option<&[f32]>, b: Option<&[f32]>) -> f32 {
    match (a, b) {
        (Some(a), Some(b)) => a.iter().zip(b).map(|(x, y)| x * y).sum(),
        _ => 0.0,
    }
}

/// What one candidate's features read, looked up once per row rather than once per feature.
struct Cell<'a> {
    idx: u32,
    item: &'a CatalogItem,
    stats: Option<&'a ItemStats>,
    copurchase: Option<&'a Copurchase>,
}

fn cell<'a>(idx: u32, catalog: &'a CatalogSnapshot, view: &'a ProfileView) -> Cell<'a> {
    Cell {
        idx,
        item: catalog.item(idx),
        stats: view.stats(catalog, idx),
        copurchase: view.copurchase.get(&idx),
    }
}

/// One feature of one candidate, for a request without a context.
pub fn value(f: Feature, idx: u32, catalog: &CatalogSnapshot, view: &ProfileView) -> f32 {
    let none = RequestContext::default();
    let mut v = [0.0];
    let cells = [cell(idx, catalog, view)];
    fill_column(f, &cells, catalog, view, &none, &mut v, 1, 0);
    v[0]
}

/// Write feature `f` of every candidate in `cells` into column `col` of the row-major `out`
/// (`width` values a row). A column at a time: the feature is matched once per call, not once
/// per candidate and feature (the per-value call and dispatch were a tenth of a rank of 1,000),
/// and each arm's loop is compiled for its feature alone.
#[allow(clippy::too_many_arguments)]
fn fill_column(
    f: Feature,
    cells: &[Cell<'_>],
    catalog: &CatalogSnapshot,
    view: &ProfileView,
    ctx: &RequestContext,
    out: &mut [f32],
    width: usize,
    col: usize,
) {
    let now = view.now;
    let column = out.get_mut(col..).unwrap_or_default();
    // `$c` is each candidate's cell; `$value` its value of `f`.
    macro_rules! each {
        (|$c:ident| $value:expr) => {
            for ($c, v) in cells.iter().zip(column.iter_mut().step_by(width.max(1))) {
                *v = $value;
            }
        };
    }
    match f {
        Feature::AffinityCategory => each!(|c| view.category.get(c.item.category)),
        Feature::AffinityBrand => each!(|c| view.brand.get(c.item.brand)),
        Feature::AffinityTags => each!(|c| view.tag.mean(&c.item.tags)),
        Feature::AffinityPriceBand => each!(|c| if c.item.price > 0.0 {
            view.price_band
                .get(&c.item.price_band)
                .copied()
                .unwrap_or(0.0)
        } else {
            0.0
        }),
        Feature::SessionAffinityCategory => each!(|c| view.session_category.get(c.item.category)),
        Feature::SessionAffinityBrand => each!(|c| view.session_brand.get(c.item.brand)),
        Feature::SessionAffinityTags => each!(|c| view.session_tag.mean(&c.item.tags)),
        Feature::BoughtCount => {
            each!(|c| c.stats.map(|s| (s.purchases as f32).ln_1p()).unwrap_or(0.0))
        }
        Feature::RecencyBought => each!(|c| c
            .stats
            .map(|s| recency(now, s.last_purchase, BOUGHT_HALF_LIFE_DAYS))
            .unwrap_or(0.0)),
        Feature::BoughtRecent => each!(|c| c
            .stats
            .map(|s| (s.recent_purchases.at(now, RECENT_PURCHASE_HALF_LIFE_SECS) as f32).ln_1p())
            .unwrap_or(0.0)),
        Feature::BoughtShare => each!(|c| match c.stats {
            Some(s) if view.total_purchases > 0 => s.purchases as f32 / view.total_purchases as f32,
            _ => 0.0,
        }),
        Feature::RepurchaseDue => each!(|c| match c.stats {
            Some(s) if s.purchases >= 2 && s.last_purchase > s.first_purchase => {
                let interval =
                    (s.last_purchase - s.first_purchase) as f32 / (s.purchases - 1) as f32;
                ((now - s.last_purchase).max(0) as f32 / interval).min(5.0)
            }
            _ => 0.0,
        }),
        Feature::ViewedCount => each!(|c| c
            .stats
            .map(|s| ((s.views + s.clicks) as f32).ln_1p())
            .unwrap_or(0.0)),
        Feature::RecencyViewed => each!(|c| c
            .stats
            .map(|s| recency(now, s.last_view, VIEWED_HALF_LIFE_DAYS))
            .unwrap_or(0.0)),
        Feature::CartedNotBought => each!(|c| c
            .stats
            .filter(|s| s.last_cart > s.last_purchase)
            .map(|s| recency(now, s.last_cart, CART_HALF_LIFE_DAYS))
            .unwrap_or(0.0)),
        Feature::Dismissed => each!(|c| c
            .stats
            .map(|s| recency(now, s.last_dismiss, DISMISS_HALF_LIFE_DAYS))
            .unwrap_or(0.0)),
        Feature::PriceVsUsual => each!(|c| match view.usual_ln_price {
            Some(usual) if c.item.price > 0.0 => (c.item.log_price - usual).clamp(-5.0, 5.0),
            _ => 0.0,
        }),
        Feature::ItemPopularity => each!(|c| c.item.ln_popularity),
        Feature::PopularityPercentile => {
            each!(|c| catalog.popularity_percentile[c.idx as usize])
        }
        Feature::CopurchaseScore => {
            each!(|c| c.copurchase.map(|c| ln_1p(c.score)).unwrap_or(0.0))
        }
        Feature::EmbeddingSimilarity => each!(|c| cosine(
            c.item.embedding.as_deref(),
            view.profile_embedding.as_deref()
        )),
        Feature::SessionEmbeddingSimilarity => each!(|c| cosine(
            c.item.embedding.as_deref(),
            view.session_embedding.as_deref()
        )),
        Feature::ExplicitPreference => each!(|c| {
            let item = c.item;
            let hit = view.preferred_categories.contains(&item.category)
                || view.preferred_brands.contains(&item.brand)
                || item.tags.iter().any(|t| view.preferred_tags.contains(t));
            hit as u8 as f32
        }),
        Feature::InStock => each!(|c| c.item.in_stock as u8 as f32),
        Feature::PriceLog => each!(|c| c.item.ln_price),
        Feature::ProfileEventCount => each!(|_c| view.ln_event_count),
        Feature::ShopperRepeatShare => each!(|_c| if view.total_purchases > 0 {
            view.repeat_purchases as f32 / view.total_purchases as f32
        } else {
            0.0
        }),
        Feature::ItemRepeatRate => each!(|c| c.item.repeat_rate.unwrap_or(0.0)),
        Feature::ItemRepeatKnown => each!(|c| c.item.repeat_rate.is_some() as u8 as f32),
        Feature::ContextCopurchase => each!(|c| ln_1p(ctx.copurchase(c.idx))),
        Feature::ContextEmbeddingSimilarity => {
            each!(|c| ctx.embedding_similarity(catalog, c.idx))
        }
        Feature::ContextSameCategory => each!(|c| ctx.same_category(catalog, c.idx)),
        Feature::ContextSameBrand => each!(|c| ctx.same_brand(catalog, c.idx)),
        Feature::ContextPriceVs => each!(|c| ctx.price_vs(catalog, c.idx)),
        Feature::ContextSize => each!(|_c| ln_1p(ctx.items.len() as f32)),
        Feature::RetrievalScore => {
            each!(|c| ctx.retrieval.get(&c.idx).copied().unwrap_or(0.0))
        }
        Feature::SequenceScore => {
            each!(|c| ctx.sequence.as_ref().map_or(0.0, |s| s.score(&c.item.id)))
        }
        Feature::ItemEmbedding(i) => each!(|c| c
            .item
            .embedding
            .as_ref()
            .and_then(|e| e.get(i as usize))
            .copied()
            .unwrap_or(0.0)),
        Feature::ProfileEmbedding(i) => each!(|_c| view
            .profile_embedding
            .as_ref()
            .and_then(|e| e.get(i as usize))
            .copied()
            .unwrap_or(0.0)),
    }
}

/// Fill `out` with `candidates.len() x features.len()` values, row-major, for a request
/// without a context (the "for you" page).
pub fn assemble(
    features: &[Feature],
    candidates: &[u32],
    catalog: &CatalogSnapshot,
    view: &ProfileView,
    out: &mut Vec<f32>,
) {
    assemble_in(
        features,
        candidates,
        catalog,
        view,
        &RequestContext::default(),
        out,
    )
}

/// Fill `out` with `candidates.len() x features.len()` values, row-major, for a request with
/// the context `ctx` (its items and retrieval scores).
pub fn assemble_in(
    features: &[Feature],
    candidates: &[u32],
    catalog: &CatalogSnapshot,
    view: &ProfileView,
    ctx: &RequestContext,
    out: &mut Vec<f32>,
) {
    let width = features.len();
    out.clear();
    out.resize(candidates.len() * width, 0.0);
    // Blocks of rows small enough that a block's rows stay in cache while every column of it is
    // written (a column pass over 10,000 rows would touch a line of 1.4 MB per value).
    const BLOCK: usize = 256;
    let mut cells = Vec::with_capacity(BLOCK.min(candidates.len()));
    for (block, rows) in candidates
        .chunks(BLOCK)
        .zip(out.chunks_mut(BLOCK * width.max(1)))
    {
        cells.clear();
        cells.extend(block.iter().map(|&idx| cell(idx, catalog, view)));
        for (col, &f) in features.iter().enumerate() {
            fill_column(f, &cells, catalog, view, ctx, rows, width, col);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CatalogSnapshot;
    use crate::profile::signals::{Params, ProfileEvent, ProfileState, Touched};
    use crate::types::{Attribute, AttributeKind, EventKind, Item, RelatedItem};
    use std::sync::Arc;

    const NOW: i64 = 1_000_000_000;
    const D: i64 = 86_400;

    fn item(id: &str, cat: &str, brand: &str, price: f64, pop: f64, emb: Vec<f32>) -> Item {
        Item {
            id: id.into(),
            title: id.into(),
            category: cat.into(),
            brand: brand.into(),
            price,
            tags: vec![cat.into(), "common".into()],
            in_stock: id != "oos",
            margin: None,
            embedding: Some(emb),
            popularity: pop,
            repeat_rate: None,
            related: vec![],
        }
    }

    struct Fixture {
        catalog: CatalogSnapshot,
        profile: Arc<ProfileState>,
        params: Params,
    }

    /// a (shoes/acme, bought twice, carted since), b (shoes/zeta, viewed, dismissed),
    /// c (books, unseen, neighbour of a), oos (out of stock, unseen).
    fn fixture() -> Fixture {
        let mut a = item("a", "shoes", "acme", 20.0, 9.0, vec![1.0, 0.0]);
        a.related = vec![RelatedItem {
            item_id: "c".into(),
            weight: 2.0,
        }];
        let catalog = CatalogSnapshot::build(vec![
            a,
            item("b", "shoes", "zeta", 40.0, 3.0, vec![0.0, 1.0]),
            item("c", "books", "acme", 10.0, 0.0, vec![1.0, 1.0]),
            item("oos", "toys", "", 5.0, 1.0, vec![-1.0, 0.0]),
        ]);
        let params = Params::default();
        let mut profile = ProfileState::default();
        let mut t = Touched::default();
        let evs = [
            (EventKind::Purchase, "a", NOW - 40 * D, None),
            (EventKind::Purchase, "a", NOW - 10 * D, None),
            (EventKind::AddToCart, "a", NOW - 3 * D, None),
            (EventKind::View, "b", NOW - 600, Some("s1")),
            (EventKind::Dismiss, "b", NOW - 300, Some("s1")),
        ];
        for (kind, id, ts, s) in evs {
            let ev = ProfileEvent {
                kind,
                item_id: Arc::from(id),
                ts,
                session: s.map(String::from),
                quantity: 1,
            };
            profile.apply_history(&ev, &params, &mut t);
            let idx = catalog.get(id).unwrap();
            profile.apply_attributes(&ev, catalog.record(idx), &params, &mut t);
        }
        profile.preferences.push(Attribute {
            kind: AttributeKind::Category,
            value: "books".into(),
        });
        Fixture {
            catalog,
            profile: Arc::new(profile),
            params,
        }
    }

    fn values<'a>(f: &'a Fixture, session: Option<&str>) -> impl Fn(Feature, &str) -> f32 + 'a {
        let view = ProfileView::build(&f.profile, &f.catalog, NOW, session, &f.params);
        move |feat, id| value(feat, f.catalog.get(id).unwrap(), &f.catalog, &view)
    }

    #[test]
    fn history_features() {
        let f = fixture();
        let v = values(&f, None);
        assert!((v(Feature::BoughtCount, "a") - 3f32.ln()).abs() < 1e-6);
        assert_eq!(v(Feature::BoughtCount, "c"), 0.0);
        assert!((v(Feature::RecencyBought, "a") - 0.5f32.powf(10.0 / 30.0)).abs() < 1e-5);
        let recent = 0.5f32.powf(40.0 / 30.0) + 0.5f32.powf(10.0 / 30.0);
        assert!((v(Feature::BoughtRecent, "a") - recent.ln_1p()).abs() < 1e-5);
        assert_eq!(v(Feature::BoughtShare, "a"), 1.0);
        // Two purchases of `a`, one of them a repeat: the same for every candidate.
        assert_eq!(v(Feature::ShopperRepeatShare, "a"), 0.5);
        assert_eq!(v(Feature::ShopperRepeatShare, "c"), 0.5);
        assert!(
            (v(Feature::RepurchaseDue, "a") - 10.0 / 30.0).abs() < 1e-5,
            "10 days since, every 30 days"
        );
        assert!(
            (v(Feature::CartedNotBought, "a") - 0.5f32.powf(1.0)).abs() < 1e-5,
            "carted 3 days ago"
        );
        assert!((v(Feature::ViewedCount, "b") - 2f32.ln()).abs() < 1e-6);
        assert!(v(Feature::RecencyViewed, "b") > 0.99);
        assert!(v(Feature::Dismissed, "b") > 0.99);
        assert_eq!(v(Feature::Dismissed, "a"), 0.0);
        assert!((v(Feature::ProfileEventCount, "c") - 5f32.ln_1p()).abs() < 1e-6);
    }

    #[test]
    fn affinity_features() {
        let f = fixture();
        let v = values(&f, None);
        // shoes: 8 + 8 + 4 + 1 - 4 (decayed); books: only the chosen preference (8, no decay).
        assert_eq!(
            v(Feature::AffinityCategory, "a"),
            1.0,
            "the strongest category is 1"
        );
        let books = v(Feature::AffinityCategory, "c");
        assert!(books > 0.0 && books < 1.0, "{books}");
        assert_eq!(v(Feature::ExplicitPreference, "c"), 1.0);
        assert_eq!(v(Feature::ExplicitPreference, "a"), 0.0);
        assert!(
            v(Feature::AffinityBrand, "a") > v(Feature::AffinityBrand, "b"),
            "acme bought, zeta dismissed"
        );
        assert!(v(Feature::AffinityTags, "a") > 0.0);
        assert!(v(Feature::AffinityPriceBand, "a") > v(Feature::AffinityPriceBand, "c"));
        assert_eq!(v(Feature::AffinityCategory, "oos"), 0.0);
    }

    #[test]
    fn session_features_only_in_the_live_session() {
        let f = fixture();
        let inside = values(&f, None); // no session id given: the 30-minute rule, still live
                                       // Session events: view (+1) and dismiss (-4) of b → shoes negative within the session.
        assert_eq!(inside(Feature::SessionAffinityCategory, "b"), -1.0);
        assert!(inside(Feature::SessionAffinityBrand, "b") < 0.0);
        assert!(inside(Feature::SessionAffinityTags, "b") < 0.0);
        let other = values(&f, Some("another"));
        assert_eq!(other(Feature::SessionAffinityCategory, "b"), 0.0);
        assert_eq!(other(Feature::SessionEmbeddingSimilarity, "b"), 0.0);
    }

    #[test]
    fn catalog_and_price_features() {
        let f = fixture();
        let v = values(&f, None);
        assert!((v(Feature::ItemPopularity, "a") - 10f32.ln()).abs() < 1e-6);
        assert_eq!(v(Feature::PopularityPercentile, "a"), 1.0);
        assert_eq!(v(Feature::PopularityPercentile, "c"), 0.0);
        assert_eq!(v(Feature::InStock, "a"), 1.0);
        assert_eq!(v(Feature::InStock, "oos"), 0.0);
        assert!((v(Feature::PriceLog, "c") - 11f32.ln()).abs() < 1e-6);
        // Usual price: ln 20 (bought and carted a); b at 40 is one octave above.
        assert!((v(Feature::PriceVsUsual, "b") - 2f32.ln()).abs() < 1e-5);
        assert!(
            v(Feature::CopurchaseScore, "c") > 0.0,
            "c is a neighbour of bought a"
        );
        assert_eq!(v(Feature::CopurchaseScore, "b"), 0.0);
    }

    #[test]
    fn embedding_features() {
        let f = fixture();
        let v = values(&f, None);
        // The profile leans to a's direction [1, 0]; c is [1, 1]/sqrt2, oos is [-1, 0].
        assert!(v(Feature::EmbeddingSimilarity, "a") > v(Feature::EmbeddingSimilarity, "c"));
        assert!(v(Feature::EmbeddingSimilarity, "oos") < 0.0);
        assert!(
            v(Feature::SessionEmbeddingSimilarity, "b") > 0.99,
            "b is the session's item"
        );
        assert!((v(Feature::ItemEmbedding(1), "c") - 0.5f32.sqrt()).abs() < 1e-6);
        assert_eq!(
            v(Feature::ItemEmbedding(5), "c"),
            0.0,
            "beyond the dimension"
        );
        let p0 = v(Feature::ProfileEmbedding(0), "c");
        let p1 = v(Feature::ProfileEmbedding(1), "c");
        assert!(((p0 * p0 + p1 * p1) - 1.0).abs() < 1e-5 && p0 > p1);
    }

    #[test]
    fn assemble_is_row_major_in_manifest_order() {
        let f = fixture();
        let view = ProfileView::build(&f.profile, &f.catalog, NOW, None, &f.params);
        let feats = [Feature::InStock, Feature::BoughtCount];
        let mut out = Vec::new();
        assemble(&feats, &[3, 0], &f.catalog, &view, &mut out);
        assert_eq!(out, vec![0.0, 0.0, 1.0, 3f32.ln()]);
    }

    /// Filled a column at a time, every value still lands in its candidate's row and its
    /// feature's column: the matrix equals the features read one by one, for every feature.
    #[test]
    fn every_feature_lands_in_its_row_and_column() {
        let f = fixture();
        let view = ProfileView::build(&f.profile, &f.catalog, NOW, Some("s1"), &f.params);
        let mut feats: Vec<Feature> = SCALARS.iter().map(|s| s.1).collect();
        feats.extend([Feature::ItemEmbedding(1), Feature::ProfileEmbedding(0)]);
        let rows = [2, 0, 3, 1, 0];
        let mut out = Vec::new();
        assemble(&feats, &rows, &f.catalog, &view, &mut out);
        assert_eq!(out.len(), rows.len() * feats.len());
        let mut distinct = std::collections::HashSet::new();
        for (r, &idx) in rows.iter().enumerate() {
            for (k, &feat) in feats.iter().enumerate() {
                let want = value(feat, idx, &f.catalog, &view);
                assert_eq!(
                    out[r * feats.len() + k].to_bits(),
                    want.to_bits(),
                    "{feat:?} of {idx}"
                );
                distinct.insert(want.to_bits());
            }
        }
        assert!(distinct.len() > 10, "the fixture tells the features apart");
    }
}
