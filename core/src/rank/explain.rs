//! Typed reasons for each returned item, strongest first. Computed from the same profile view
//! the features came from, so an explanation never claims a signal the ranking did not have.

use crate::catalog::CatalogSnapshot;
use crate::features::definitions::{
    BOUGHT_HALF_LIFE_DAYS, CART_HALF_LIFE_DAYS, VIEWED_HALF_LIFE_DAYS,
};
use crate::features::{ProfileView, RequestContext};
use crate::profile::signals::decay_factor;
use crate::types::{Attribute, AttributeKind, Boost, Reason, SurfaceKind};

pub const MAX_REASONS: usize = 3;
/// Relative affinity (0..1) above which "you like X" is claimed.
const LIKES: f32 = 0.35;
const DAY: f64 = 86_400.0;

pub struct Marks<'a> {
    pub pinned: bool,
    pub exploration: bool,
    pub boost: Option<&'a Boost>,
    pub personalized: bool,
    pub surface: SurfaceKind,
    pub context: &'a RequestContext,
}

fn attr(kind: AttributeKind, value: &str) -> Attribute {
    Attribute {
        kind,
        value: value.to_string(),
    }
}

/// The strongest tag of an item by `aff`, if any passes the threshold.
fn best_tag(tags: &[u32], aff: &crate::features::view::DimAffinity) -> Option<(u32, f32)> {
    tags.iter()
        .map(|&t| (t, aff.get(t)))
        .filter(|&(_, a)| a >= LIKES)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// What the surface itself says about an item: which context item it goes with or looks like,
/// or that it trends in its category. Ranked above the profile's reasons on these surfaces,
/// since that is what the page is about.
fn surface_reasons(
    idx: u32,
    catalog: &CatalogSnapshot,
    marks: &Marks<'_>,
    out: &mut Vec<(f32, Reason)>,
) {
    let ctx = marks.context;
    let named = |c: u32| {
        let r = catalog.record(c);
        (r.id.clone(), r.title.clone())
    };
    match marks.surface {
        SurfaceKind::GoesWith | SurfaceKind::CompleteCart => {
            if let Some((c, w)) = ctx.goes_with(catalog, idx).filter(|l| l.1 > 0.0) {
                let (item_id, title) = named(c);
                out.push((4.0 + w.min(1.0), Reason::GoesWith { item_id, title }));
            }
        }
        SurfaceKind::Similar => {
            if let Some((c, s)) = ctx.looks_like(catalog, idx) {
                let (item_id, title) = named(c);
                out.push((4.0 + s.min(1.0), Reason::LooksLike { item_id, title }));
            }
        }
        SurfaceKind::Trending => {
            let item = catalog.item(idx);
            if item.category != 0 && item.popularity > 0.0 {
                out.push((
                    4.0,
                    Reason::TrendingInCategory {
                        category: catalog.categories.name(item.category).to_string(),
                    },
                ));
            }
        }
        SurfaceKind::ForYou | SurfaceKind::BuyAgain | SurfaceKind::Search => {}
    }
}

pub fn reasons(
    idx: u32,
    catalog: &CatalogSnapshot,
    view: &ProfileView,
    marks: &Marks<'_>,
) -> Vec<Reason> {
    let mut out: Vec<(f32, Reason)> = Vec::new();
    if marks.pinned {
        out.push((100.0, Reason::Pinned));
    }
    if marks.exploration {
        out.push((90.0, Reason::Exploration));
    }
    if let Some(b) = marks.boost {
        out.push((
            50.0,
            Reason::Boosted {
                attribute: b.attribute.clone(),
            },
        ));
    }
    let item = catalog.item(idx);
    surface_reasons(idx, catalog, marks, &mut out);
    if marks.personalized {
        let now = view.now;
        if let Some(s) = view.stats(catalog, idx) {
            if s.purchases > 0 {
                let r = decay_factor(now - s.last_purchase, BOUGHT_HALF_LIFE_DAYS * DAY) as f32;
                out.push((
                    2.0 + r,
                    Reason::BoughtBefore {
                        times: i64::from(s.purchases),
                    },
                ));
            }
            if s.last_cart > s.last_purchase {
                let r = decay_factor(now - s.last_cart, CART_HALF_LIFE_DAYS * DAY) as f32;
                out.push((3.0 + r, Reason::LeftInCart));
            }
            if s.purchases == 0 && s.last_view > 0 {
                let r = decay_factor(now - s.last_view, VIEWED_HALF_LIFE_DAYS * DAY) as f32;
                if r > 0.1 {
                    out.push((1.0 + r, Reason::ViewedRecently));
                }
            }
        }
        if let Some(c) = view.copurchase.get(&idx) {
            if c.best_contribution > 0.05 {
                let src = catalog.record(c.best_source);
                out.push((
                    1.5 + c.best_contribution.min(1.0),
                    Reason::SimilarTo {
                        item_id: src.id.clone(),
                        title: src.title.clone(),
                    },
                ));
            }
        }
        if view.session_active {
            let s = view.session_category.get(item.category);
            if item.category != 0 && s >= LIKES {
                out.push((
                    1.4 + s,
                    Reason::SessionIntent {
                        attribute: attr(
                            AttributeKind::Category,
                            catalog.categories.name(item.category),
                        ),
                    },
                ));
            } else if let Some((t, a)) = best_tag(&item.tags, &view.session_tag) {
                out.push((
                    1.3 + a,
                    Reason::SessionIntent {
                        attribute: attr(AttributeKind::Tag, catalog.tags.name(t)),
                    },
                ));
            }
        }
        if view.preferred_categories.contains(&item.category) {
            out.push((
                1.2,
                Reason::ChosenPreference {
                    attribute: attr(
                        AttributeKind::Category,
                        catalog.categories.name(item.category),
                    ),
                },
            ));
        } else if view.preferred_brands.contains(&item.brand) {
            out.push((
                1.2,
                Reason::ChosenPreference {
                    attribute: attr(AttributeKind::Brand, catalog.brands.name(item.brand)),
                },
            ));
        } else if let Some(&t) = item.tags.iter().find(|t| view.preferred_tags.contains(t)) {
            out.push((
                1.1,
                Reason::ChosenPreference {
                    attribute: attr(AttributeKind::Tag, catalog.tags.name(t)),
                },
            ));
        }
        let c = view.category.get(item.category);
        let b = view.brand.get(item.brand);
        if item.category != 0 && c >= LIKES && !view.preferred_categories.contains(&item.category) {
            out.push((
                c,
                Reason::Likes {
                    attribute: attr(
                        AttributeKind::Category,
                        catalog.categories.name(item.category),
                    ),
                },
            ));
        }
        if item.brand != 0 && b >= LIKES && !view.preferred_brands.contains(&item.brand) {
            out.push((
                b,
                Reason::Likes {
                    attribute: attr(AttributeKind::Brand, catalog.brands.name(item.brand)),
                },
            ));
        }
        if let Some((t, a)) = best_tag(&item.tags, &view.tag) {
            out.push((
                a * 0.9,
                Reason::Likes {
                    attribute: attr(AttributeKind::Tag, catalog.tags.name(t)),
                },
            ));
        }
    }
    if catalog.popularity_percentile[idx as usize] >= 0.9 && item.popularity > 0.0 {
        out.push((0.5, Reason::PopularNow));
    }
    // A context item the surface already names ("goes with X") is not named again as "because
    // you viewed X".
    let named: Vec<String> = out
        .iter()
        .filter_map(|(_, r)| match r {
            Reason::GoesWith { item_id, .. } | Reason::LooksLike { item_id, .. } => {
                Some(item_id.clone())
            }
            _ => None,
        })
        .collect();
    out.retain(|(_, r)| !matches!(r, Reason::SimilarTo { item_id, .. } if named.contains(item_id)));
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().take(MAX_REASONS).map(|(_, r)| r).collect()
}
