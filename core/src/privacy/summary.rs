//! "Why am I seeing this": the shopper's profile in plain terms, for an in-app screen.

use crate::catalog::CatalogSnapshot;
use crate::profile::signals::{Dim, Params, ProfileState};
use crate::types::{Attribute, AttributeKind, AttributeStrength, ProfileSummary, RecentItem};

/// Affinities and items listed per section.
const TOP: usize = 5;

fn top(
    profile: &ProfileState,
    dim: Dim,
    now: i64,
    params: &Params,
    session: bool,
) -> Vec<AttributeStrength> {
    let Some(kind) = dim.attribute_kind() else {
        return Vec::new();
    };
    let mut scores: Vec<(&str, f64)> = if session {
        profile
            .session
            .affinity
            .iter()
            .filter(|((d, _), _)| *d == dim)
            .map(|((_, k), v)| (&**k, *v))
            .collect()
    } else {
        profile
            .affinity
            .iter()
            .filter(|((d, _), _)| *d == dim)
            .map(|((_, k), v)| (&**k, v.at(now, params.half_life_secs)))
            .collect()
    };
    // What the shopper said they are not interested in is not presented as their taste.
    scores.retain(|(k, s)| *s > 0.0 && !profile.is_not_interested(kind, k));
    scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let max = scores.first().map(|s| s.1).unwrap_or(1.0);
    scores
        .into_iter()
        .take(TOP)
        .map(|(value, s)| AttributeStrength {
            attribute: Attribute {
                kind,
                value: value.to_string(),
            },
            strength: s / max,
        })
        .collect()
}

pub fn summarize(
    profile: &ProfileState,
    catalog: &CatalogSnapshot,
    now: i64,
    params: &Params,
    consent: bool,
) -> ProfileSummary {
    let session_live = profile.session_active(now, None, params);
    let mut recent: Vec<(&str, i64)> = profile
        .items
        .iter()
        .map(|(id, s)| (&**id, s.last_seen))
        .collect();
    recent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let recent_items = recent
        .into_iter()
        .take(TOP)
        .filter_map(|(id, _)| {
            let s = profile.items.get(id)?;
            Some(RecentItem {
                item_id: id.to_string(),
                title: catalog.get(id).map(|i| catalog.record(i).title.clone()),
                views: i64::from(s.views) + i64::from(s.clicks),
                purchases: i64::from(s.purchases),
                in_cart: s.last_cart > s.last_purchase,
                last_seen: s.last_seen,
            })
        })
        .collect();
    let mut sentences = Vec::new();
    let categories = top(profile, Dim::Category, now, params, false);
    let brands = top(profile, Dim::Brand, now, params, false);
    let tags = top(profile, Dim::Tag, now, params, false);
    let session = if session_live {
        [Dim::Category, Dim::Brand, Dim::Tag]
            .into_iter()
            .flat_map(|d| top(profile, d, now, params, true))
            .take(TOP)
            .collect()
    } else {
        Vec::new()
    };
    let names = |v: &[AttributeStrength]| {
        v.iter()
            .take(3)
            .map(|a| a.attribute.value.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !consent {
        sentences
            .push("Personalization is off: results are not based on your activity.".to_string());
    }
    if !categories.is_empty() {
        sentences.push(format!("You often look at {}.", names(&categories)));
    }
    if !brands.is_empty() {
        sentences.push(format!("Brands you seem to like: {}.", names(&brands)));
    }
    if categories.is_empty() && !tags.is_empty() {
        sentences.push(format!("Your interests include {}.", names(&tags)));
    }
    if !session.is_empty() {
        sentences.push(format!("Right now you are browsing {}.", names(&session)));
    }
    let usual_price = profile.usual_ln_price(now, params).map(f64::exp);
    if let Some(p) = usual_price {
        sentences.push(format!("You usually buy items around {p:.2}."));
    }
    if !profile.preferences.is_empty() {
        let chosen: Vec<&str> = profile
            .preferences
            .iter()
            .map(|p| p.value.as_str())
            .collect();
        sentences.push(format!("You told us you like {}.", chosen.join(", ")));
    }
    if !profile.not_interested.is_empty() {
        let marked: Vec<&str> = profile
            .not_interested
            .iter()
            .map(|n| n.attribute.value.as_str())
            .collect();
        sentences.push(format!(
            "You told us you are not interested in {}.",
            marked.join(", ")
        ));
    }
    if sentences.is_empty() {
        sentences.push("We don't know your taste yet: you see what is popular.".to_string());
    }
    ProfileSummary {
        personalized: consent,
        top_categories: categories,
        top_brands: brands,
        top_tags: tags,
        session_intent: session,
        preferences: profile
            .preferences
            .iter()
            .filter(|p| p.kind != AttributeKind::Item)
            .cloned()
            .collect(),
        not_interested: profile.not_interested.clone(),
        recent_items,
        usual_price,
        events_total: i64::try_from(profile.event_count).unwrap_or(i64::MAX),
        sentences,
    }
}
