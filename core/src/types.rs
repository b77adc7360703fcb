//! Records and enums of the public API (exported to Kotlin and Swift through uniffi).
//!
//! Times are Unix seconds (UTC). Scores are `f64` for the bindings' sake; the model runs in `f32`.

/// A catalog item, as the merchant describes it. Not personal data.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct Item {
    pub id: String,
    pub title: String,
    #[uniffi(default = "")]
    #[serde(default)]
    pub category: String,
    #[uniffi(default = "")]
    #[serde(default)]
    pub brand: String,
    pub price: f64,
    #[uniffi(default)]
    #[serde(default)]
    pub tags: Vec<String>,
    #[uniffi(default = true)]
    #[serde(default = "yes")]
    pub in_stock: bool,
    /// Gross margin as a fraction of price (0.25 = 25%), when the merchant shares it.
    #[uniffi(default = None)]
    #[serde(default)]
    pub margin: Option<f64>,
    /// Item embedding (any fixed dimension up to 512, same for every item).
    #[uniffi(default = None)]
    #[serde(default)]
    pub embedding: Option<Vec<f32>>,
    /// Merchant-side popularity, e.g. purchases in the last 30 days. Any non-negative scale.
    #[uniffi(default = 0.0)]
    #[serde(default)]
    pub popularity: f64,
    /// Share of the item's buyers who bought it again on a later order (0..1), from the
    /// merchant's order history: tells the ranker whether a past purchase predicts another
    /// (milk, printer ink) or not (a sofa, a dress). `None` when unknown.
    #[uniffi(default = None)]
    #[serde(default)]
    pub repeat_rate: Option<f64>,
    /// Items often bought together with this one (co-purchase neighbours), strongest first.
    #[uniffi(default)]
    #[serde(default)]
    pub related: Vec<RelatedItem>,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

/// One co-purchase neighbour of an item, with a non-negative strength.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct RelatedItem {
    pub item_id: String,
    pub weight: f64,
}

/// What the shopper did.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    View,
    Click,
    AddToCart,
    Purchase,
    /// "Not interested": a negative signal.
    Dismiss,
}

/// One shopper interaction.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub item_id: String,
    /// Unix seconds; `None` means now.
    #[uniffi(default = None)]
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// The app's session id. Without one, a 30-minute gap starts a new session.
    #[uniffi(default = None)]
    #[serde(default)]
    pub session_id: Option<String>,
    #[uniffi(default = None)]
    #[serde(default)]
    pub quantity: Option<u32>,
    /// Where in the app it happened ("home", "search", "pdp", ...).
    #[uniffi(default = None)]
    #[serde(default)]
    pub surface: Option<String>,
    /// The `RankResponse::response_id` of the page the shopper acted on, when the app knows it:
    /// clicks, carts and purchases within the attribution window count for that placement.
    #[uniffi(default = None)]
    #[serde(default)]
    pub response_id: Option<String>,
}

/// What a `track_batch` call did.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record, serde::Serialize)]
pub struct TrackSummary {
    /// Events written to the profile.
    pub stored: u32,
    /// Events stored for items not yet in the catalog; they count once the item arrives.
    pub pending_items: u32,
    /// Events dropped because the shopper has not consented to personalization.
    pub dropped_no_consent: u32,
}

/// Which item attribute a rule or preference refers to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    Category,
    Brand,
    Tag,
    /// An item id (rules only).
    Item,
}

/// An attribute value, e.g. category "shoes".
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, uniffi::Record, serde::Serialize, serde::Deserialize,
)]
pub struct Attribute {
    pub kind: AttributeKind,
    pub value: String,
}

/// Raise (positive weight) or lower (negative weight) items with an attribute.
/// The weight is added to the model score (a logit): 1.0 is a strong nudge, 5.0 nearly a pin.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct Boost {
    pub attribute: Attribute,
    pub weight: f64,
}

/// Put an item at a fixed position (0-based) of the result.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct Pin {
    pub item_id: String,
    pub position: u32,
}

/// Merchant rules applied after scoring.
#[derive(
    Debug, Clone, Default, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize,
)]
#[serde(default)]
pub struct BusinessRules {
    /// Out-of-stock items are dropped unless this is set.
    #[uniffi(default = false)]
    pub include_out_of_stock: bool,
    #[uniffi(default)]
    pub pinned: Vec<Pin>,
    #[uniffi(default)]
    pub boosts: Vec<Boost>,
    #[uniffi(default)]
    pub exclude_ids: Vec<String>,
    /// Drop items whose known margin is below this fraction. Items without a margin are kept.
    #[uniffi(default = None)]
    pub min_margin: Option<f64>,
}

/// Caps per category/brand within the first `window` results, so one taste cannot fill the page.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DiversityOptions {
    #[uniffi(default = None)]
    pub max_per_category: Option<u32>,
    #[uniffi(default = None)]
    pub max_per_brand: Option<u32>,
    #[uniffi(default = 10)]
    pub window: u32,
}

impl Default for DiversityOptions {
    fn default() -> Self {
        DiversityOptions {
            max_per_category: None,
            max_per_brand: None,
            window: 10,
        }
    }
}

/// Discovery slots mixed into the first results.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ExplorationOptions {
    /// Fraction of the first `limit` results given to exploration (0 disables, at most 0.5).
    #[uniffi(default = 0.0)]
    pub rate: f64,
    /// Seed for reproducible picks; `None` draws a fresh seed.
    #[uniffi(default = None)]
    pub seed: Option<u64>,
}

impl Default for ExplorationOptions {
    fn default() -> Self {
        ExplorationOptions {
            rate: 0.0,
            seed: None,
        }
    }
}

/// Which list a rank call is for. Each kind blends the model's score with what the page is
/// about (README "Surfaces").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SurfaceKind {
    /// The shopper's own page: the model's order (the default).
    ForYou,
    /// Product page, "similar items": items that look like the context items. Needs a context.
    Similar,
    /// Product page, "goes with": items bought together with the context items. Needs a context.
    GoesWith,
    /// Cart, "complete your order": items bought together with the cart. Needs a context.
    CompleteCart,
    /// Items the shopper bought before, the likeliest to be bought again first.
    BuyAgain,
    /// Popular items, nudged towards the shopper's taste.
    Trending,
    /// The app's search results (`candidate_ids`, optionally with `retrieval_scores`) in the
    /// shopper's order; a shopper without history gets the app's order unchanged.
    Search,
}

impl SurfaceKind {
    /// Surfaces about the context items: they refuse a request without one.
    pub fn needs_context(self) -> bool {
        matches!(
            self,
            SurfaceKind::Similar | SurfaceKind::GoesWith | SurfaceKind::CompleteCart
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            SurfaceKind::ForYou => "for_you",
            SurfaceKind::Similar => "similar",
            SurfaceKind::GoesWith => "goes_with",
            SurfaceKind::CompleteCart => "complete_cart",
            SurfaceKind::BuyAgain => "buy_again",
            SurfaceKind::Trending => "trending",
            SurfaceKind::Search => "search",
        }
    }
}

/// One ranking call.
#[derive(
    Debug, Clone, Default, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize,
)]
#[serde(default)]
pub struct RankRequest {
    /// Items to order. `None` ranks the whole in-stock catalog.
    #[uniffi(default = None)]
    pub candidate_ids: Option<Vec<String>>,
    /// How many results to return (1..=1000).
    #[uniffi(default = 20)]
    pub limit: u32,
    #[uniffi(default = None)]
    pub surface: Option<String>,
    /// Current session id, so session intent applies to this session only.
    #[uniffi(default = None)]
    pub session_id: Option<String>,
    /// Ranking time (Unix seconds); `None` means now. Set it in tests and replays.
    #[uniffi(default = None)]
    pub now: Option<i64>,
    #[uniffi(default)]
    pub rules: BusinessRules,
    #[uniffi(default = None)]
    pub diversity: Option<DiversityOptions>,
    /// `None` uses the configured default exploration rate.
    #[uniffi(default = None)]
    pub exploration: Option<ExplorationOptions>,
    /// Key of an experiment defined with `define_experiment`: this install's variant may choose
    /// the model, the exploration rate and extra boosts, and is reported in the response.
    #[uniffi(default = None)]
    pub experiment: Option<String>,
    /// Time budget for this call in milliseconds, from the start of the call; `None` uses
    /// `TailorConfig::rank_deadline_ms`. Candidates are scored in chunks; when the next chunk
    /// would not finish in time, the rest are ordered by popularity below the scored ones and
    /// the response carries `Fallback::DeadlineExceeded` (never an error). `Some(0)` skips the
    /// model entirely.
    #[uniffi(default = None)]
    pub deadline_ms: Option<u32>,
    /// Name of a set defined with `define_candidate_set`: ranks those items, exactly as passing
    /// the same `candidate_ids` would, without sending the ids on every call (what costs most
    /// through the Kotlin and Swift bindings). Set this or `candidate_ids`, not both; an
    /// unknown name is a `NotFound` error.
    #[uniffi(default = None)]
    pub candidate_set: Option<String>,
    /// Which list this is (`None`: `ForYou`, today's page).
    #[uniffi(default = None)]
    pub kind: Option<SurfaceKind>,
    /// The items the page is about: the viewed item on a product page, the cart's items on the
    /// cart, most recently added last: later items weigh more (at most 500, all in the
    /// catalog). They are left out of the results unless
    /// `include_context` is set.
    #[uniffi(default)]
    pub context_item_ids: Vec<String>,
    #[uniffi(default = false)]
    pub include_context: bool,
    /// The app's own retrieval score of each of `candidate_ids` (same length and order; finite;
    /// any scale, higher = more relevant), e.g. a search engine's relevance.
    #[uniffi(default = None)]
    pub retrieval_scores: Option<Vec<f64>>,
}

/// Why an item is where it is. Typed, so apps can localize their own wording.
#[derive(Debug, Clone, PartialEq, uniffi::Enum, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reason {
    /// "Because you viewed X": related to an item the shopper interacted with.
    SimilarTo { item_id: String, title: String },
    /// The shopper bought this item before (buy again).
    BoughtBefore { times: i64 },
    /// Added to cart and not bought yet.
    LeftInCart,
    /// The shopper viewed this item recently.
    ViewedRecently,
    /// Long-term taste for an attribute ("you like category Y").
    Likes { attribute: Attribute },
    /// Matches what the shopper is browsing in this session.
    SessionIntent { attribute: Attribute },
    /// Matches a preference the shopper chose explicitly.
    ChosenPreference { attribute: Attribute },
    /// Popular with other shoppers right now.
    PopularNow,
    /// Placed by a merchant pin.
    Pinned,
    /// Raised by a merchant boost.
    Boosted { attribute: Attribute },
    /// A discovery slot, so results do not narrow to one taste.
    Exploration,
    /// Often bought together with this context item (a product page's item, a cart item).
    GoesWith { item_id: String, title: String },
    /// Looks like this context item (embedding or category).
    LooksLike { item_id: String, title: String },
    /// Among the most popular items of its category right now.
    TrendingInCategory { category: String },
}

/// Why the response is not personalized.
#[derive(Debug, Clone, PartialEq, uniffi::Enum, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fallback {
    /// No signals about this shopper yet.
    ColdStart,
    /// The shopper has not consented to personalization.
    OptedOut,
    /// The model failed or produced unusable scores; `message` says how.
    ModelFailed { message: String },
    /// The request's time budget ran out: the first `scored` of `candidates` (in candidate
    /// order: popularity order when ranking the whole catalog) carry model scores, the rest are
    /// ordered by popularity below them. `personalized` is true when `scored > 0`.
    DeadlineExceeded { scored: u32, candidates: u32 },
}

/// One ranked item.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct RankedItem {
    pub item_id: String,
    /// Final score after personalization and rules (higher is better; comparable within a response).
    pub score: f64,
    /// Strongest reasons first (at most 3).
    pub reasons: Vec<Reason>,
}

/// The result of one ranking call.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct RankResponse {
    pub items: Vec<RankedItem>,
    /// Requested ids that are not in the catalog (ignored, not fatal).
    pub unknown_ids: Vec<String>,
    pub personalized: bool,
    /// Set when `personalized` is false, and when a deadline cut scoring short
    /// (`DeadlineExceeded`, which may still be partly personalized).
    pub fallback: Option<Fallback>,
    pub model_name: String,
    pub model_version: String,
    pub took_micros: i64,
    /// This install's variant when the request named an experiment.
    pub variant: Option<String>,
    /// The request's experiment key and surface, echoed so `Impressions` can be built from the
    /// response alone.
    pub experiment: Option<String>,
    pub surface: Option<String>,
    /// Random and unique per call (never derived from the shopper): cite it in `Impressions`
    /// and `Event` so `metrics().placements` can credit conversions to this page.
    pub response_id: String,
}

/// A bundle request: a few items that go with the context items.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BundleRequest {
    /// The items the bundle completes (a product page's item, the cart): 1..=500, in the catalog.
    pub context_item_ids: Vec<String>,
    /// How many items to propose (2..=5).
    #[uniffi(default = 3)]
    pub size: u32,
    /// The bundle's items together cost at most this (the context items not counted).
    #[uniffi(default = None)]
    pub max_total_price: Option<f64>,
    /// Every item's known margin is at least this fraction; items without a margin are left out.
    #[uniffi(default = None)]
    pub min_margin: Option<f64>,
    /// Ranking time (Unix seconds); `None` means now.
    #[uniffi(default = None)]
    pub now: Option<i64>,
}

impl Default for BundleRequest {
    fn default() -> Self {
        BundleRequest {
            context_item_ids: Vec::new(),
            size: 3,
            max_total_price: None,
            min_margin: None,
            now: None,
        }
    }
}

/// One item of a bundle.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct BundleItem {
    pub item_id: String,
    pub title: String,
    pub price: f64,
    /// Strongest first (at most 3); the first says which context item it goes with.
    pub reasons: Vec<Reason>,
}

/// Items that go with the context items, in stock and within the request's constraints.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct ItemBundle {
    /// Best first; as many as the request's `size` when enough items qualify (at least 2).
    pub items: Vec<BundleItem>,
    /// Sum of the items' prices.
    pub total_price: f64,
    pub personalized: bool,
}

/// The active or a previous model.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub features: Vec<String>,
    /// `true` for the model compiled into the library.
    pub builtin: bool,
}

/// Tailor's options. Only `directory` is required.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct TailorConfig {
    /// Directory for `catalog.db`, `profile.db` and installed models; created if missing.
    pub directory: String,
    /// Half-life of long-term affinities, in days.
    #[uniffi(default = 30.0)]
    #[serde(default = "default_half_life")]
    pub half_life_days: f64,
    /// Inactivity that ends a session when events carry no session id, in minutes.
    #[uniffi(default = 30)]
    #[serde(default = "default_session_gap")]
    pub session_gap_minutes: u32,
    /// Events older than this are deleted (their decayed affinities remain).
    #[uniffi(default = 365)]
    #[serde(default = "default_max_age")]
    pub max_event_age_days: u32,
    /// At most this many events are kept; the oldest go first.
    #[uniffi(default = 50000)]
    #[serde(default = "default_max_events")]
    pub max_events: u32,
    /// Default exploration rate for rank calls that do not set one.
    #[uniffi(default = 0.0)]
    #[serde(default)]
    pub exploration_rate: f64,
    /// Hex ed25519 public keys; when non-empty, models must carry a signature by one of them.
    #[uniffi(default)]
    #[serde(default)]
    pub trusted_model_keys: Vec<String>,
    /// Fsync every commit (survives power loss). Off, commits survive app crashes, not power cuts.
    #[uniffi(default = false)]
    #[serde(default)]
    pub durable_sync: bool,
    /// Learn a small per-shopper adjustment of the model from their own clicks and purchases on
    /// the items `record_impressions` reported.
    #[uniffi(default = true)]
    #[serde(default = "yes")]
    pub personal_learning: bool,
    /// A purchase counts as a conversion of Tailor's ranking when the item was shown within
    /// this many hours before.
    #[uniffi(default = 24)]
    #[serde(default = "default_attribution_hours")]
    pub attribution_window_hours: u32,
    /// The catalog holds at most this many items (1..=1,000,000): bounds `catalog.db` and the
    /// memory of its snapshot on small devices. An upsert that would exceed it is refused whole.
    #[uniffi(default = 1000000)]
    #[serde(default = "default_max_catalog_items")]
    pub max_catalog_items: u32,
    /// A model whose probe batch takes longer than this per 1,000 candidates is refused
    /// (`ModelProblem::OverBudget`). Measured at load on the device itself.
    #[uniffi(default = 250)]
    #[serde(default = "default_model_ms")]
    pub model_max_ms_per_1000: u32,
    /// A model whose tensors need more than this many MB per 1,000 candidates is refused.
    #[uniffi(default = 64)]
    #[serde(default = "default_model_mb")]
    pub model_max_mb_per_1000: u32,
    /// A model costing more multiply-adds than this per candidate is refused.
    #[uniffi(default = 2000000)]
    #[serde(default = "default_model_fma")]
    pub model_max_fma_per_row: u32,
    /// Default time budget of a rank call in milliseconds (`RankRequest::deadline_ms` overrides
    /// it); `None`: no budget.
    #[uniffi(default = None)]
    #[serde(default)]
    pub rank_deadline_ms: Option<u32>,
    /// Watch the active model on the device and roll back to the previous one by itself when
    /// it misbehaves (see the `guard_*` thresholds and README "Model guard").
    #[uniffi(default = true)]
    #[serde(default = "yes")]
    pub model_guard: bool,
    /// The guard judges a model only after it scored this many rank calls (1..=1,000,000).
    #[uniffi(default = 50)]
    #[serde(default = "default_guard_min_ranks")]
    pub guard_min_ranks: u32,
    /// Roll back when more than this share of the model's rank calls fell back because the
    /// model failed (an error or unusable scores), 0..=1.
    #[uniffi(default = 0.2)]
    #[serde(default = "default_guard_fallback_share")]
    pub guard_max_fallback_share: f64,
    /// Roll back when more than this share of the model's rank calls produced NaN or infinite
    /// scores, 0..=1.
    #[uniffi(default = 0.05)]
    #[serde(default = "default_guard_non_finite_share")]
    pub guard_max_non_finite_share: f64,
    /// Roll back when the 95th percentile of the model's rank latency exceeds this, in ms per
    /// 1,000 candidates scored (a call with fewer counts whole), like the load budget: a whole-
    /// catalog rank of a large catalog is slow because it is large, not because the model went bad.
    #[uniffi(default = 250)]
    #[serde(default = "default_guard_p95_ms")]
    pub guard_max_p95_ms: u32,
    /// Roll back when the population stability index of the model's scores against the
    /// reference statistics in its manifest (`score_reference`) exceeds this. Models without
    /// reference statistics skip the drift check.
    #[uniffi(default = 1.0)]
    #[serde(default = "default_guard_drift_psi")]
    pub guard_max_drift_psi: f64,
}

fn default_guard_min_ranks() -> u32 {
    crate::defaults::GUARD_MIN_RANKS
}
fn default_guard_fallback_share() -> f64 {
    crate::defaults::GUARD_FALLBACK_SHARE
}
fn default_guard_non_finite_share() -> f64 {
    crate::defaults::GUARD_NON_FINITE_SHARE
}
fn default_guard_p95_ms() -> u32 {
    crate::defaults::GUARD_P95_MS
}
fn default_guard_drift_psi() -> f64 {
    crate::defaults::GUARD_DRIFT_PSI
}

fn default_max_catalog_items() -> u32 {
    1_000_000
}

fn default_model_ms() -> u32 {
    crate::defaults::MODEL_MS_PER_1000
}
fn default_model_mb() -> u32 {
    crate::defaults::MODEL_MB_PER_1000
}
fn default_model_fma() -> u32 {
    crate::defaults::MODEL_FMA_PER_ROW
}

fn default_attribution_hours() -> u32 {
    24
}

fn default_half_life() -> f64 {
    30.0
}
fn default_session_gap() -> u32 {
    30
}
fn default_max_age() -> u32 {
    365
}
fn default_max_events() -> u32 {
    50_000
}

impl TailorConfig {
    /// Defaults for everything but the directory.
    pub fn new(directory: impl Into<String>) -> Self {
        TailorConfig {
            directory: directory.into(),
            half_life_days: default_half_life(),
            session_gap_minutes: default_session_gap(),
            max_event_age_days: default_max_age(),
            max_events: default_max_events(),
            exploration_rate: 0.0,
            trusted_model_keys: Vec::new(),
            durable_sync: false,
            personal_learning: true,
            attribution_window_hours: default_attribution_hours(),
            max_catalog_items: default_max_catalog_items(),
            model_max_ms_per_1000: default_model_ms(),
            model_max_mb_per_1000: default_model_mb(),
            model_max_fma_per_row: default_model_fma(),
            rank_deadline_ms: None,
            model_guard: true,
            guard_min_ranks: default_guard_min_ranks(),
            guard_max_fallback_share: default_guard_fallback_share(),
            guard_max_non_finite_share: default_guard_non_finite_share(),
            guard_max_p95_ms: default_guard_p95_ms(),
            guard_max_drift_psi: default_guard_drift_psi(),
        }
    }
}

/// Something the store did on open that the app may want to log (never an error).
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct StoreNotice {
    /// "catalog" or "profile" or "model".
    pub store: String,
    pub message: String,
}

/// Health and size of the stores.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct Status {
    pub catalog_items: u64,
    pub profile_events: u64,
    pub pending_events: u64,
    pub consent: bool,
    pub model: ModelInfo,
    /// What happened at open (recovered a corrupt file, fell back to the built-in model, ...).
    pub notices: Vec<StoreNotice>,
}

/// An attribute with how strongly it describes the shopper, relative to the strongest (0..1].
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct AttributeStrength {
    pub attribute: Attribute,
    pub strength: f64,
}

/// Something the shopper said they are not interested in, and when.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct NotInterested {
    /// An item (left out of rankings) or a category, brand or tag (pushed to the end).
    pub attribute: Attribute,
    /// Unix seconds.
    pub since: i64,
}

/// An item the shopper interacted with recently.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct RecentItem {
    pub item_id: String,
    /// `None` when the item is not (or no longer) in the catalog.
    pub title: Option<String>,
    pub views: i64,
    pub purchases: i64,
    pub in_cart: bool,
    pub last_seen: i64,
}

/// The shopper's profile in plain terms, for a "why am I seeing this" screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct ProfileSummary {
    /// False when the shopper opted out (results are then not personalized).
    pub personalized: bool,
    pub top_categories: Vec<AttributeStrength>,
    pub top_brands: Vec<AttributeStrength>,
    pub top_tags: Vec<AttributeStrength>,
    /// What the current session is about (empty outside a session).
    pub session_intent: Vec<AttributeStrength>,
    pub preferences: Vec<Attribute>,
    /// What the shopper said they are not interested in (most recent first): such items are
    /// left out of every ranking, such categories, brands and tags pushed to the end.
    pub not_interested: Vec<NotInterested>,
    pub recent_items: Vec<RecentItem>,
    /// The typical price of what the shopper carts and buys.
    pub usual_price: Option<f64>,
    pub events_total: i64,
    /// The same in short English sentences (apps may build their own from the fields).
    pub sentences: Vec<String>,
}

/// What the app showed the shopper, in display order, so Tailor can learn from what they then
/// click or buy and count the funnel.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct Impressions {
    /// Item ids in the order shown (position 0 first).
    pub item_ids: Vec<String>,
    #[uniffi(default = None)]
    #[serde(default)]
    pub surface: Option<String>,
    /// The experiment key of the rank request that produced the page, if any: the funnel is
    /// then counted under this install's variant.
    #[uniffi(default = None)]
    #[serde(default)]
    pub experiment: Option<String>,
    /// Unix seconds; `None` means now.
    #[uniffi(default = None)]
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// The `RankResponse::response_id` of the page, so conversions are credited to it.
    #[uniffi(default = None)]
    #[serde(default)]
    pub response_id: Option<String>,
}

impl Impressions {
    /// The first `shown` items of a response, as the app displayed them, under the response's
    /// experiment and surface.
    pub fn of(response: &RankResponse, shown: usize, timestamp: Option<i64>) -> Impressions {
        Impressions {
            item_ids: response
                .items
                .iter()
                .take(shown)
                .map(|i| i.item_id.clone())
                .collect(),
            surface: response.surface.clone(),
            experiment: response.experiment.clone(),
            timestamp,
            response_id: Some(response.response_id.clone()),
        }
    }
}

/// One arm of an experiment. A variant may override the model (the name of the active model or
/// of one kept for rollback), the exploration rate, and add boosts.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct Variant {
    pub name: String,
    /// Relative share of installs (any non-negative scale).
    #[uniffi(default = 1.0)]
    #[serde(default = "one")]
    pub weight: f64,
    #[uniffi(default = None)]
    #[serde(default)]
    pub model_name: Option<String>,
    #[uniffi(default = None)]
    #[serde(default)]
    pub exploration_rate: Option<f64>,
    #[uniffi(default)]
    #[serde(default)]
    pub boosts: Vec<Boost>,
}

/// An A/B experiment: installs are bucketed deterministically (install salt + key).
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct Experiment {
    pub key: String,
    pub variants: Vec<Variant>,
}

/// Local funnel of one (variant, surface). Never sent anywhere: the app may report it.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record, serde::Serialize)]
pub struct FunnelCounters {
    /// Experiment key ("" outside experiments).
    pub experiment: String,
    /// This install's variant in it ("" outside experiments).
    pub variant: String,
    /// Surface of the impression ("" when none was given).
    pub surface: String,
    pub impressions: u64,
    pub clicks: u64,
    pub add_to_carts: u64,
    pub purchases: u64,
    /// Price x quantity of the purchases.
    pub revenue: f64,
    /// Purchases of an item shown within `attribution_window_hours` before.
    pub attributed_conversions: u64,
    pub attributed_revenue: f64,
}

/// Conversions of one placement: one rank response the app showed (with its surface and
/// variant), counted within `attribution_window_hours` of when it was first shown.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record, serde::Serialize)]
pub struct PlacementCounters {
    pub response_id: String,
    /// Surface of the impressions ("" when none was given).
    pub surface: String,
    /// Experiment key and this install's variant ("" outside experiments).
    pub experiment: String,
    pub variant: String,
    /// Unix seconds of the first impression of this response.
    pub shown_at: i64,
    pub impressions: u64,
    pub clicks: u64,
    pub add_to_carts: u64,
    pub purchases: u64,
    /// Price x quantity of the attributed purchases.
    pub revenue: f64,
}

/// Rank latency percentiles since the object was opened.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record, serde::Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_micros: u64,
    pub p95_micros: u64,
    pub p99_micros: u64,
}

/// A named counter.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct NamedCount {
    pub name: String,
    pub count: u64,
}

/// How the engine has been doing since the object was opened.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct EngineStats {
    pub rank_latency: LatencySummary,
    pub model: ModelInfo,
    /// Fallback responses by reason (cold_start, opted_out, model_failed, deadline_exceeded).
    pub fallbacks: Vec<NamedCount>,
    /// Failed calls by error kind (invalid_input, not_found, model_rejected, storage, closed).
    pub errors: Vec<NamedCount>,
    pub catalog_items: u64,
    pub profile_events: u64,
    pub profile_db_bytes: u64,
    pub catalog_db_bytes: u64,
    /// Updates of the personal adjustment layer (lifetime).
    pub personal_updates: u64,
    /// What the model guard sees of the active model, and the rollbacks it made.
    pub model_guard: ModelGuardStats,
}

/// The model guard's view of the active model since it became active (counts are halved as they
/// grow, so recent rank calls weigh more), and the rollbacks it made on this device.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record, serde::Serialize)]
pub struct ModelGuardStats {
    pub enabled: bool,
    /// Rank calls the active model scored (or failed to score).
    pub ranks: u64,
    /// Of these, calls that fell back because the model failed.
    pub fallbacks: u64,
    /// Of these, calls whose scores were NaN or infinite.
    pub non_finite: u64,
    /// 95th percentile of those calls' latency, per 1,000 candidates scored (fewer count whole).
    pub p95_micros: u64,
    /// Population stability index of the model's scores against its manifest's
    /// `score_reference`; `None` when the manifest has none (no drift check).
    pub drift_psi: Option<f64>,
    /// Models the guard rolled back, oldest first (kept across restarts; at most 16).
    pub rollbacks: Vec<GuardRollback>,
}

/// One automatic rollback. The model stays refused (`ModelProblem::Quarantined`) on this device:
/// load a new version to replace it.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct GuardRollback {
    pub name: String,
    pub version: String,
    pub sha256: String,
    /// The threshold that tripped, with the measured value.
    pub reason: String,
    /// Rank calls the guard had counted on the model when it tripped.
    pub ranks: u64,
    /// Unix seconds.
    pub at: i64,
    /// The model that serves instead.
    pub replaced_by: String,
}

/// Everything measured on the device, for the app to send through its own analytics.
#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct LocalMetrics {
    pub funnels: Vec<FunnelCounters>,
    /// Per response shown (newest first, bounded: see README "Attribution").
    pub placements: Vec<PlacementCounters>,
    pub engine: EngineStats,
}
