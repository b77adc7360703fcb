//! Named per-candidate features. A model's manifest picks which ones it reads, in which order.
//! Names are a public contract: add new ones, never change what an existing name means.

/// Components of the item/profile embedding families (`item_embedding_0..15`, ...).
pub const EMBEDDING_FEATURES: usize = 16;

/// Half-lives baked into the recency features (fixed so a trained model keeps its meaning).
pub const BOUGHT_HALF_LIFE_DAYS: f64 = 30.0;
pub const VIEWED_HALF_LIFE_DAYS: f64 = 1.0;
pub const CART_HALF_LIFE_DAYS: f64 = 3.0;
pub const DISMISS_HALF_LIFE_DAYS: f64 = 30.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    AffinityCategory,
    AffinityBrand,
    AffinityTags,
    AffinityPriceBand,
    SessionAffinityCategory,
    SessionAffinityBrand,
    SessionAffinityTags,
    BoughtCount,
    RecencyBought,
    BoughtRecent,
    BoughtShare,
    RepurchaseDue,
    ViewedCount,
    RecencyViewed,
    CartedNotBought,
    Dismissed,
    PriceVsUsual,
    ItemPopularity,
    PopularityPercentile,
    CopurchaseScore,
    EmbeddingSimilarity,
    SessionEmbeddingSimilarity,
    ExplicitPreference,
    InStock,
    PriceLog,
    ProfileEventCount,
    ShopperRepeatShare,
    ItemRepeatRate,
    ItemRepeatKnown,
    ContextCopurchase,
    ContextEmbeddingSimilarity,
    ContextSameCategory,
    ContextSameBrand,
    ContextPriceVs,
    ContextSize,
    RetrievalScore,
    SequenceScore,
    ItemEmbedding(u8),
    ProfileEmbedding(u8),
}

/// (name, feature, what it means). The table in the README is generated from this.
pub const SCALARS: &[(&str, Feature, &str)] = &[
    ("affinity_category", Feature::AffinityCategory, "Long-term decayed affinity for the item's category, relative to the shopper's strongest category (-1..1); 0 if the category is unknown (empty)."),
    ("affinity_brand", Feature::AffinityBrand, "Same for the item's brand (-1..1); 0 if unknown."),
    ("affinity_tags", Feature::AffinityTags, "Mean affinity over the item's tags, each relative to the strongest tag (-1..1); 0 without tags."),
    ("affinity_price_band", Feature::AffinityPriceBand, "Affinity for the item's price octave (-1..1); 0 if the price is unknown (empty or 0)."),
    ("session_affinity_category", Feature::SessionAffinityCategory, "Category affinity within the current session only (-1..1); 0 outside a session."),
    ("session_affinity_brand", Feature::SessionAffinityBrand, "Brand affinity within the current session (-1..1)."),
    ("session_affinity_tags", Feature::SessionAffinityTags, "Mean tag affinity within the current session (-1..1)."),
    ("bought_count", Feature::BoughtCount, "ln(1 + times the shopper bought this item)."),
    ("recency_bought", Feature::RecencyBought, "0.5^(days since last purchase / 30); 0 if never bought."),
    ("bought_recent", Feature::BoughtRecent, "ln(1 + purchases of this item, each decayed with a 30-day half-life): bought a lot lately."),
    ("bought_share", Feature::BoughtShare, "This item's share of all the shopper's purchases (0..1): a staple versus a one-off."),
    ("repurchase_due", Feature::RepurchaseDue, "Days since the last purchase divided by the shopper's mean days between purchases of it (0..5; 0 if bought fewer than twice)."),
    ("viewed_count", Feature::ViewedCount, "ln(1 + views and clicks of this item)."),
    ("recency_viewed", Feature::RecencyViewed, "0.5^(days since last view or click / 1); 0 if never viewed."),
    ("carted_not_bought", Feature::CartedNotBought, "0.5^(days since added to cart / 3) when carted after its last purchase; else 0."),
    ("dismissed", Feature::Dismissed, "0.5^(days since the shopper dismissed it / 30); 0 if never."),
    ("price_vs_usual", Feature::PriceVsUsual, "ln(price) minus the decayed mean ln(price) of what the shopper carts and buys (clamped to -5..5); 0 if either is unknown."),
    ("item_popularity", Feature::ItemPopularity, "ln(1 + the catalog's popularity value)."),
    ("popularity_percentile", Feature::PopularityPercentile, "Popularity rank within the catalog, 1 = most popular, 0 = least."),
    ("copurchase_score", Feature::CopurchaseScore, "ln(1 + sum over the shopper's items of recency x strength x co-purchase weight to this item)."),
    ("embedding_similarity", Feature::EmbeddingSimilarity, "Cosine between the item embedding and the shopper's decayed mean embedding; 0 if either is missing."),
    ("session_embedding_similarity", Feature::SessionEmbeddingSimilarity, "Cosine between the item embedding and the mean embedding of this session's items."),
    ("explicit_preference", Feature::ExplicitPreference, "1 if the item matches a preference the shopper chose (category, brand or tag); else 0."),
    ("in_stock", Feature::InStock, "1 if in stock, else 0."),
    ("price_log", Feature::PriceLog, "ln(1 + price); 0 if the price is unknown."),
    ("profile_event_count", Feature::ProfileEventCount, "ln(1 + events in the shopper's profile): lets a model trust history more when there is more of it."),
    ("shopper_repeat_share", Feature::ShopperRepeatShare, "Share of the shopper's purchases that repeated an item they had bought before (0..1; 0 without purchases): lets a model weigh bought-before signals by how this shopper repeats."),
    ("item_repeat_rate", Feature::ItemRepeatRate, "Share of the item's buyers who bought it again on a later order (0..1), from the catalog's `repeat_rate` (the merchant's order history); 0 when unknown (see item_repeat_known). With bought-before features it tells a staple (rebought) from a one-off (a sofa)."),
    ("item_repeat_known", Feature::ItemRepeatKnown, "1 when the catalog gives the item's `repeat_rate`, else 0."),
    ("context_copurchase", Feature::ContextCopurchase, "ln(1 + sum over the request's context items (viewed item, cart) of the co-purchase weight between the context item and this item, both directions averaged); 0 without a context."),
    ("context_embedding_similarity", Feature::ContextEmbeddingSimilarity, "Cosine between the item embedding and the mean embedding of the context items; 0 without a context or embeddings."),
    ("context_same_category", Feature::ContextSameCategory, "Share of the context items in the item's category (0..1); 0 if the category is unknown."),
    ("context_same_brand", Feature::ContextSameBrand, "Share of the context items of the item's brand (0..1); 0 if the brand is unknown."),
    ("context_price_vs", Feature::ContextPriceVs, "ln(price) minus the mean ln(price) of the context items (clamped to -5..5); 0 if either is unknown."),
    ("context_size", Feature::ContextSize, "ln(1 + number of context items): 0 on surfaces without a context."),
    ("retrieval_score", Feature::RetrievalScore, "The app's own retrieval score of the candidate (search), min-max normalized within the request (0..1, 1 = the app's best); 0 when the app gave none."),
    ("sequence_score", Feature::SequenceScore, "The model's sequence graph's score for the item after the shopper's recent purchases (its user vector · the item's row of the graph's item table; items outside the vocabulary use the unknown row); 0 without purchases. Only a manifest with a `sequence` model may list it."),
];

impl Feature {
    pub fn parse(name: &str) -> Option<Feature> {
        if let Some(&(_, f, _)) = SCALARS.iter().find(|(n, _, _)| *n == name) {
            return Some(f);
        }
        let family = |prefix: &str| -> Option<u8> {
            let i: usize = name.strip_prefix(prefix)?.parse().ok()?;
            (i < EMBEDDING_FEATURES && name == format!("{prefix}{i}")).then_some(i as u8)
        };
        family("item_embedding_")
            .map(Feature::ItemEmbedding)
            .or_else(|| family("profile_embedding_").map(Feature::ProfileEmbedding))
    }

    pub fn name(self) -> String {
        match self {
            Feature::ItemEmbedding(i) => format!("item_embedding_{i}"),
            Feature::ProfileEmbedding(i) => format!("profile_embedding_{i}"),
            f => SCALARS
                .iter()
                .find(|(_, g, _)| *g == f)
                .map(|(n, _, _)| n.to_string())
                .unwrap_or_default(),
        }
    }

    /// Every feature, scalars first, then the embedding families.
    pub fn all() -> Vec<Feature> {
        let mut all: Vec<Feature> = SCALARS.iter().map(|(_, f, _)| *f).collect();
        all.extend((0..EMBEDDING_FEATURES as u8).map(Feature::ItemEmbedding));
        all.extend((0..EMBEDDING_FEATURES as u8).map(Feature::ProfileEmbedding));
        all
    }
}

/// The registry as (name, description) rows, for docs and `tailor features --list`.
pub fn describe() -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = SCALARS
        .iter()
        .map(|(n, _, d)| (n.to_string(), d.to_string()))
        .collect();
    rows.push((
        format!("item_embedding_0..{}", EMBEDDING_FEATURES - 1),
        "The item's L2-normalized embedding, first 16 components (0 if none).".into(),
    ));
    rows.push((
        format!("profile_embedding_0..{}", EMBEDDING_FEATURES - 1),
        "The shopper's decayed mean item embedding, normalized, first 16 components.".into(),
    ));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknowns_are_refused() {
        let all = Feature::all();
        assert!(all.len() >= 12 + 2 * EMBEDDING_FEATURES);
        for f in all {
            assert_eq!(Feature::parse(&f.name()), Some(f), "{}", f.name());
        }
        for bad in [
            "",
            "affinity",
            "item_embedding_16",
            "item_embedding_01",
            "profile_embedding_x",
        ] {
            assert_eq!(Feature::parse(bad), None, "{bad}");
        }
    }
}
