//! The shared scenarios: every `tests/scenarios/*.json` (format in tests/scenarios/README.md) run
//! against the Rust API. bindings/kotlin (ScenarioTest.kt) and bindings/swift
//! (ScenarioTests.swift) run the same files through the generated bindings with the same rules.
//! Each runner writes a transcript per scenario to `target/scenario-transcripts/<language>/`;
//! `scripts/test.sh all` checks that the three languages wrote identical transcripts.
//!
//! `TAILOR_SCENARIO=name` runs only the scenarios whose file name contains `name`.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tailor::*;

/// 2090-01-01T00:00:00Z. Scenario times lie in the future so that the parts of the core that use
/// the wall clock (event retention, affinity pruning at open) never touch scenario data.
const DEFAULT_NOW: i64 = 3_786_912_000;

type R<T> = Result<T, String>;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

// ---- JSON access -------------------------------------------------------------------------------

fn obj<'a>(v: &'a Value, what: &str) -> R<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| format!("{what}: expected an object, got {v}"))
}

/// Refuse keys the format does not define, so a typo cannot silently skip a check.
fn check_keys(o: &Map<String, Value>, allowed: &[&str], what: &str) -> R<()> {
    for k in o.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("{what}: unknown key `{k}` (allowed: {allowed:?})"));
        }
    }
    Ok(())
}

fn string(v: &Value, what: &str) -> R<String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{what}: expected a string, got {v}"))
}

fn strings(v: &Value, what: &str) -> R<Vec<String>> {
    v.as_array()
        .ok_or_else(|| format!("{what}: expected an array of strings, got {v}"))?
        .iter()
        .map(|s| string(s, what))
        .collect()
}

fn boolean(v: &Value, what: &str) -> R<bool> {
    v.as_bool()
        .ok_or_else(|| format!("{what}: expected true or false, got {v}"))
}

fn int(v: &Value, what: &str) -> R<i64> {
    v.as_i64()
        .ok_or_else(|| format!("{what}: expected an integer, got {v}"))
}

fn uint(v: &Value, what: &str) -> R<u64> {
    v.as_u64()
        .ok_or_else(|| format!("{what}: expected a non-negative integer, got {v}"))
}

fn u32_(v: &Value, what: &str) -> R<u32> {
    u32::try_from(uint(v, what)?).map_err(|_| format!("{what}: {v} does not fit in u32"))
}

/// A number, or one of the strings "NaN", "Infinity", "-Infinity" (JSON has no literals for them).
fn float(v: &Value, what: &str) -> R<f64> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{what}: bad number {n}")),
        Value::String(s) if s == "NaN" => Ok(f64::NAN),
        Value::String(s) if s == "Infinity" => Ok(f64::INFINITY),
        Value::String(s) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => Err(format!(
            "{what}: expected a number or \"NaN\"/\"Infinity\"/\"-Infinity\", got {v}"
        )),
    }
}

fn opt<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).filter(|v| !v.is_null())
}

/// "-3d", "+2h", "90m", "-45s", "0": an offset in seconds (units s, m, h, d; no unit = seconds).
fn offset(text: &str) -> R<i64> {
    let bad = || format!("time offset {text:?}: use e.g. \"-3d\", \"+2h\", \"-90m\", \"30s\"");
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let (digits, unit) = match rest.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => rest.split_at(i),
        None => (rest, ""),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(sign * n * scale)
}

/// `timestamp` (absolute Unix seconds) or `at` (offset from the scenario's `now`).
fn time(o: &Map<String, Value>, abs: &str, now: i64, what: &str) -> R<Option<i64>> {
    match (opt(o, abs), opt(o, "at")) {
        (Some(_), Some(_)) => Err(format!("{what}: give `{abs}` or `at`, not both")),
        (Some(t), None) => Ok(Some(int(t, what)?)),
        (None, Some(a)) => Ok(Some(now + offset(&string(a, what)?)?)),
        (None, None) => Ok(None),
    }
}

// ---- scenario JSON -> API types ----------------------------------------------------------------

fn attribute_kind(s: &str) -> R<AttributeKind> {
    Ok(match s {
        "category" => AttributeKind::Category,
        "brand" => AttributeKind::Brand,
        "tag" => AttributeKind::Tag,
        "item" => AttributeKind::Item,
        _ => return Err(format!("unknown attribute kind {s:?}")),
    })
}

fn attribute(v: &Value) -> R<Attribute> {
    let o = obj(v, "attribute")?;
    check_keys(o, &["kind", "value"], "attribute")?;
    Ok(Attribute {
        kind: attribute_kind(&string(&o["kind"], "attribute.kind")?)?,
        value: string(
            o.get("value").ok_or("attribute: missing `value`")?,
            "attribute.value",
        )?,
    })
}

fn item(v: &Value) -> R<Item> {
    let o = obj(v, "item")?;
    check_keys(
        o,
        &[
            "id",
            "title",
            "category",
            "brand",
            "price",
            "tags",
            "in_stock",
            "margin",
            "embedding",
            "popularity",
            "related",
        ],
        "item",
    )?;
    let id = string(o.get("id").ok_or("item: missing `id`")?, "item.id")?;
    Ok(Item {
        title: match opt(o, "title") {
            Some(t) => string(t, "item.title")?,
            None => id.clone(),
        },
        category: opt(o, "category")
            .map(|v| string(v, "item.category"))
            .transpose()?
            .unwrap_or_default(),
        brand: opt(o, "brand")
            .map(|v| string(v, "item.brand"))
            .transpose()?
            .unwrap_or_default(),
        price: float(o.get("price").ok_or("item: missing `price`")?, "item.price")?,
        tags: opt(o, "tags")
            .map(|v| strings(v, "item.tags"))
            .transpose()?
            .unwrap_or_default(),
        in_stock: opt(o, "in_stock")
            .map(|v| boolean(v, "item.in_stock"))
            .transpose()?
            .unwrap_or(true),
        margin: opt(o, "margin")
            .map(|v| float(v, "item.margin"))
            .transpose()?,
        embedding: opt(o, "embedding")
            .map(|v| {
                v.as_array()
                    .ok_or("item.embedding: expected an array")?
                    .iter()
                    .map(|x| float(x, "item.embedding").map(|f| f as f32))
                    .collect::<R<Vec<f32>>>()
            })
            .transpose()?,
        popularity: opt(o, "popularity")
            .map(|v| float(v, "item.popularity"))
            .transpose()?
            .unwrap_or(0.0),
        repeat_rate: None,
        related: opt(o, "related")
            .map(|v| {
                v.as_array()
                    .ok_or("item.related: expected an array")?
                    .iter()
                    .map(|r| {
                        let ro = obj(r, "related")?;
                        check_keys(ro, &["item_id", "weight"], "related")?;
                        Ok(RelatedItem {
                            item_id: string(&ro["item_id"], "related.item_id")?,
                            weight: float(&ro["weight"], "related.weight")?,
                        })
                    })
                    .collect::<R<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default(),
        id,
    })
}

fn event_kind(s: &str) -> R<EventKind> {
    Ok(match s {
        "view" => EventKind::View,
        "click" => EventKind::Click,
        "add_to_cart" => EventKind::AddToCart,
        "purchase" => EventKind::Purchase,
        "dismiss" => EventKind::Dismiss,
        _ => return Err(format!("unknown event kind {s:?}")),
    })
}

/// `responses`: the response ids of rank steps saved by label (an event's `response` cites one).
fn event(v: &Value, now: i64, responses: &HashMap<String, RankResponse>) -> R<Event> {
    let o = obj(v, "event")?;
    check_keys(
        o,
        &[
            "kind",
            "item_id",
            "timestamp",
            "at",
            "session_id",
            "quantity",
            "surface",
            "response",
        ],
        "event",
    )?;
    let timestamp = time(o, "timestamp", now, "event")?;
    if timestamp.is_none() {
        return Err("event: give `timestamp` or `at` (scenarios never use the wall clock)".into());
    }
    Ok(Event {
        kind: event_kind(&string(&o["kind"], "event.kind")?)?,
        item_id: string(
            o.get("item_id").ok_or("event: missing item_id")?,
            "event.item_id",
        )?,
        timestamp,
        session_id: opt(o, "session_id")
            .map(|v| string(v, "event.session_id"))
            .transpose()?,
        quantity: opt(o, "quantity")
            .map(|v| u32_(v, "event.quantity"))
            .transpose()?,
        surface: opt(o, "surface")
            .map(|v| string(v, "event.surface"))
            .transpose()?,
        response_id: opt(o, "response")
            .map(|v| saved_response(responses, v).map(|r| r.response_id.clone()))
            .transpose()?,
    })
}

fn saved_response<'a>(
    responses: &'a HashMap<String, RankResponse>,
    label: &Value,
) -> R<&'a RankResponse> {
    let label = string(label, "response label")?;
    responses
        .get(&label)
        .ok_or_else(|| format!("no rank step saved as {label:?}"))
}

/// Placements by the label their response was saved under (response ids are random, labels are
/// what the transcript can show), in label order.
fn placements_text(m: &LocalMetrics, responses: &HashMap<String, RankResponse>) -> (String, Value) {
    let mut rows: Vec<(String, &PlacementCounters)> = m
        .placements
        .iter()
        .map(|p| {
            let label = responses
                .iter()
                .find(|(_, r)| r.response_id == p.response_id)
                .map(|(l, _)| l.clone())
                .unwrap_or_else(|| "?".into());
            (label, p)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let text = rows
        .iter()
        .map(|(l, p)| {
            format!(
                "{l} surface={} variant={} impressions={} clicks={} add_to_carts={} purchases={}",
                p.surface, p.variant, p.impressions, p.clicks, p.add_to_carts, p.purchases
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let fields: Map<String, Value> = rows
        .iter()
        .map(|(l, p)| {
            (
                l.clone(),
                serde_json::json!({"surface": p.surface, "variant": p.variant,
                    "impressions": p.impressions, "clicks": p.clicks,
                    "add_to_carts": p.add_to_carts, "purchases": p.purchases}),
            )
        })
        .collect();
    (
        if text.is_empty() { "none".into() } else { text },
        Value::Object(fields),
    )
}

fn rules(v: &Value) -> R<BusinessRules> {
    let o = obj(v, "rules")?;
    check_keys(
        o,
        &[
            "include_out_of_stock",
            "pinned",
            "boosts",
            "exclude_ids",
            "min_margin",
        ],
        "rules",
    )?;
    let list = |key: &str| -> Vec<Value> {
        opt(o, key)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    };
    Ok(BusinessRules {
        include_out_of_stock: opt(o, "include_out_of_stock")
            .map(|v| boolean(v, "rules.include_out_of_stock"))
            .transpose()?
            .unwrap_or(false),
        pinned: list("pinned")
            .iter()
            .map(|p| {
                let po = obj(p, "pin")?;
                check_keys(po, &["item_id", "position"], "pin")?;
                Ok(Pin {
                    item_id: string(&po["item_id"], "pin.item_id")?,
                    position: u32_(&po["position"], "pin.position")?,
                })
            })
            .collect::<R<_>>()?,
        boosts: list("boosts")
            .iter()
            .map(|b| {
                let bo = obj(b, "boost")?;
                check_keys(bo, &["attribute", "weight"], "boost")?;
                Ok(Boost {
                    attribute: attribute(&bo["attribute"])?,
                    weight: float(&bo["weight"], "boost.weight")?,
                })
            })
            .collect::<R<_>>()?,
        exclude_ids: opt(o, "exclude_ids")
            .map(|v| strings(v, "rules.exclude_ids"))
            .transpose()?
            .unwrap_or_default(),
        min_margin: opt(o, "min_margin")
            .map(|v| float(v, "rules.min_margin"))
            .transpose()?,
    })
}

fn bundle_request(v: &Value, now: i64) -> R<BundleRequest> {
    let o = obj(v, "bundle request")?;
    check_keys(
        o,
        &[
            "context_item_ids",
            "size",
            "max_total_price",
            "min_margin",
            "now",
            "at",
        ],
        "bundle request",
    )?;
    Ok(BundleRequest {
        context_item_ids: opt(o, "context_item_ids")
            .map(|v| strings(v, "bundle.context_item_ids"))
            .transpose()?
            .unwrap_or_default(),
        size: opt(o, "size")
            .map(|v| u32_(v, "bundle.size"))
            .transpose()?
            .unwrap_or(3),
        max_total_price: opt(o, "max_total_price")
            .map(|v| float(v, "bundle.max_total_price"))
            .transpose()?,
        min_margin: opt(o, "min_margin")
            .map(|v| float(v, "bundle.min_margin"))
            .transpose()?,
        now: Some(time(o, "now", now, "bundle request")?.unwrap_or(now)),
    })
}

/// `items=[a(goes_with:x) b(...)] total_cents=1234`, the ids joined by commas, and the cents.
fn bundle_text(b: &ItemBundle) -> (String, String, i64) {
    let items: Vec<String> = b
        .items
        .iter()
        .map(|i| {
            let reasons: Vec<String> = i.reasons.iter().map(reason_text).collect();
            format!("{}({})", i.item_id, reasons.join(","))
        })
        .collect();
    let ids: Vec<&str> = b.items.iter().map(|i| i.item_id.as_str()).collect();
    let cents = (b.total_price * 100.0).round() as i64;
    (
        format!(
            "personalized={} items=[{}] total_cents={cents}",
            b.personalized,
            items.join(" ")
        ),
        ids.join(","),
        cents,
    )
}

fn surface_kind(v: &Value) -> R<SurfaceKind> {
    Ok(match string(v, "request.kind")?.as_str() {
        "for_you" => SurfaceKind::ForYou,
        "similar" => SurfaceKind::Similar,
        "goes_with" => SurfaceKind::GoesWith,
        "complete_cart" => SurfaceKind::CompleteCart,
        "buy_again" => SurfaceKind::BuyAgain,
        "trending" => SurfaceKind::Trending,
        "search" => SurfaceKind::Search,
        other => return Err(format!("unknown surface kind {other:?}")),
    })
}

fn rank_request(v: &Value, now: i64) -> R<RankRequest> {
    let o = obj(v, "request")?;
    check_keys(
        o,
        &[
            "candidate_ids",
            "limit",
            "surface",
            "session_id",
            "now",
            "at",
            "rules",
            "diversity",
            "exploration",
            "deadline_ms",
            "candidate_set",
            "kind",
            "context_item_ids",
            "include_context",
            "retrieval_scores",
        ],
        "request",
    )?;
    Ok(RankRequest {
        candidate_ids: opt(o, "candidate_ids")
            .map(|v| strings(v, "request.candidate_ids"))
            .transpose()?,
        limit: opt(o, "limit")
            .map(|v| u32_(v, "request.limit"))
            .transpose()?
            .unwrap_or(20),
        surface: opt(o, "surface")
            .map(|v| string(v, "request.surface"))
            .transpose()?,
        session_id: opt(o, "session_id")
            .map(|v| string(v, "request.session_id"))
            .transpose()?,
        now: Some(time(o, "now", now, "request")?.unwrap_or(now)),
        // Experiments are exercised in core/tests/it/learning.rs and the SDK tests.
        experiment: None,
        deadline_ms: opt(o, "deadline_ms")
            .map(|v| u32_(v, "request.deadline_ms"))
            .transpose()?,
        candidate_set: opt(o, "candidate_set")
            .map(|v| string(v, "request.candidate_set"))
            .transpose()?,
        kind: opt(o, "kind").map(surface_kind).transpose()?,
        context_item_ids: opt(o, "context_item_ids")
            .map(|v| strings(v, "request.context_item_ids"))
            .transpose()?
            .unwrap_or_default(),
        include_context: opt(o, "include_context")
            .map(|v| boolean(v, "request.include_context"))
            .transpose()?
            .unwrap_or(false),
        retrieval_scores: opt(o, "retrieval_scores")
            .map(|v| {
                v.as_array()
                    .ok_or("request.retrieval_scores must be an array")?
                    .iter()
                    .map(|x| float(x, "request.retrieval_scores"))
                    .collect::<R<Vec<f64>>>()
            })
            .transpose()?,
        rules: opt(o, "rules").map(rules).transpose()?.unwrap_or_default(),
        diversity: opt(o, "diversity")
            .map(|v| {
                let d = obj(v, "diversity")?;
                check_keys(
                    d,
                    &["max_per_category", "max_per_brand", "window"],
                    "diversity",
                )?;
                Ok::<_, String>(DiversityOptions {
                    max_per_category: opt(d, "max_per_category")
                        .map(|v| u32_(v, "diversity.max_per_category"))
                        .transpose()?,
                    max_per_brand: opt(d, "max_per_brand")
                        .map(|v| u32_(v, "diversity.max_per_brand"))
                        .transpose()?,
                    window: opt(d, "window")
                        .map(|v| u32_(v, "diversity.window"))
                        .transpose()?
                        .unwrap_or(10),
                })
            })
            .transpose()?,
        exploration: opt(o, "exploration")
            .map(|v| {
                let e = obj(v, "exploration")?;
                check_keys(e, &["rate", "seed"], "exploration")?;
                Ok::<_, String>(ExplorationOptions {
                    rate: opt(e, "rate")
                        .map(|v| float(v, "exploration.rate"))
                        .transpose()?
                        .unwrap_or(0.0),
                    seed: opt(e, "seed")
                        .map(|v| uint(v, "exploration.seed"))
                        .transpose()?,
                })
            })
            .transpose()?,
    })
}

fn config(v: Option<&Value>, directory: String) -> R<TailorConfig> {
    let mut c = TailorConfig::new(directory);
    let Some(v) = v else { return Ok(c) };
    let o = obj(v, "config")?;
    check_keys(
        o,
        &[
            "half_life_days",
            "session_gap_minutes",
            "max_event_age_days",
            "max_events",
            "exploration_rate",
            "durable_sync",
            "rank_deadline_ms",
            "guard_min_ranks",
        ],
        "config",
    )?;
    if let Some(v) = opt(o, "half_life_days") {
        c.half_life_days = float(v, "config.half_life_days")?;
    }
    if let Some(v) = opt(o, "session_gap_minutes") {
        c.session_gap_minutes = u32_(v, "config.session_gap_minutes")?;
    }
    if let Some(v) = opt(o, "max_event_age_days") {
        c.max_event_age_days = u32_(v, "config.max_event_age_days")?;
    }
    if let Some(v) = opt(o, "max_events") {
        c.max_events = u32_(v, "config.max_events")?;
    }
    if let Some(v) = opt(o, "exploration_rate") {
        c.exploration_rate = float(v, "config.exploration_rate")?;
    }
    if let Some(v) = opt(o, "durable_sync") {
        c.durable_sync = boolean(v, "config.durable_sync")?;
    }
    if let Some(v) = opt(o, "rank_deadline_ms") {
        c.rank_deadline_ms = Some(u32_(v, "config.rank_deadline_ms")?);
    }
    if let Some(v) = opt(o, "guard_min_ranks") {
        c.guard_min_ranks = u32_(v, "config.guard_min_ranks")?;
    }
    Ok(c)
}

// ---- API types -> canonical text and JSON ------------------------------------------------------

fn kind_name(k: AttributeKind) -> &'static str {
    match k {
        AttributeKind::Category => "category",
        AttributeKind::Brand => "brand",
        AttributeKind::Tag => "tag",
        AttributeKind::Item => "item",
    }
}

/// A reason as JSON: `{"type": "bought_before", "times": 3}`, `{"type": "likes", "attribute":
/// {"kind": "category", "value": "toys"}}`, ... (the same shape in every runner).
fn reason_json(r: &Reason) -> Value {
    let attr = |a: &Attribute| serde_json::json!({"kind": kind_name(a.kind), "value": a.value});
    match r {
        Reason::SimilarTo { item_id, title } => {
            serde_json::json!({"type": "similar_to", "item_id": item_id, "title": title})
        }
        Reason::BoughtBefore { times } => {
            serde_json::json!({"type": "bought_before", "times": times})
        }
        Reason::LeftInCart => serde_json::json!({"type": "left_in_cart"}),
        Reason::ViewedRecently => serde_json::json!({"type": "viewed_recently"}),
        Reason::Likes { attribute } => {
            serde_json::json!({"type": "likes", "attribute": attr(attribute)})
        }
        Reason::SessionIntent { attribute } => {
            serde_json::json!({"type": "session_intent", "attribute": attr(attribute)})
        }
        Reason::ChosenPreference { attribute } => {
            serde_json::json!({"type": "chosen_preference", "attribute": attr(attribute)})
        }
        Reason::PopularNow => serde_json::json!({"type": "popular_now"}),
        Reason::Pinned => serde_json::json!({"type": "pinned"}),
        Reason::Boosted { attribute } => {
            serde_json::json!({"type": "boosted", "attribute": attr(attribute)})
        }
        Reason::Exploration => serde_json::json!({"type": "exploration"}),
        Reason::GoesWith { item_id, title } => {
            serde_json::json!({"type": "goes_with", "item_id": item_id, "title": title})
        }
        Reason::LooksLike { item_id, title } => {
            serde_json::json!({"type": "looks_like", "item_id": item_id, "title": title})
        }
        Reason::TrendingInCategory { category } => {
            serde_json::json!({"type": "trending_in_category", "category": category})
        }
    }
}

/// One-line form used in transcripts: `likes:category=toys`, `bought_before:3`, `pinned`.
fn reason_text(r: &Reason) -> String {
    let attr = |a: &Attribute| format!("{}={}", kind_name(a.kind), a.value);
    match r {
        Reason::SimilarTo { item_id, .. } => format!("similar_to:{item_id}"),
        Reason::BoughtBefore { times } => format!("bought_before:{times}"),
        Reason::LeftInCart => "left_in_cart".into(),
        Reason::ViewedRecently => "viewed_recently".into(),
        Reason::Likes { attribute } => format!("likes:{}", attr(attribute)),
        Reason::SessionIntent { attribute } => format!("session_intent:{}", attr(attribute)),
        Reason::ChosenPreference { attribute } => format!("chosen_preference:{}", attr(attribute)),
        Reason::PopularNow => "popular_now".into(),
        Reason::Pinned => "pinned".into(),
        Reason::Boosted { attribute } => format!("boosted:{}", attr(attribute)),
        Reason::Exploration => "exploration".into(),
        Reason::GoesWith { item_id, .. } => format!("goes_with:{item_id}"),
        Reason::LooksLike { item_id, .. } => format!("looks_like:{item_id}"),
        Reason::TrendingInCategory { category } => format!("trending_in_category:{category}"),
    }
}

fn fallback_name(f: &Option<Fallback>) -> &'static str {
    match f {
        None => "none",
        Some(Fallback::ColdStart) => "cold_start",
        Some(Fallback::OptedOut) => "opted_out",
        Some(Fallback::ModelFailed { .. }) => "model_failed",
        Some(Fallback::DeadlineExceeded { .. }) => "deadline_exceeded",
    }
}

fn problem_name(p: ModelProblem) -> &'static str {
    match p {
        ModelProblem::InvalidManifest => "invalid_manifest",
        ModelProblem::HashMismatch => "hash_mismatch",
        ModelProblem::UnknownFeature => "unknown_feature",
        ModelProblem::NotOnnx => "not_onnx",
        ModelProblem::UnsupportedOperator => "unsupported_operator",
        ModelProblem::ShapeMismatch => "shape_mismatch",
        ModelProblem::NonFiniteOutput => "non_finite_output",
        ModelProblem::BadSignature => "bad_signature",
        ModelProblem::TooLarge => "too_large",
        ModelProblem::OverBudget => "over_budget",
        ModelProblem::RuntimeError => "runtime_error",
        ModelProblem::Quarantined => "quarantined",
    }
}

/// `invalid_input`, `model_rejected/hash_mismatch`, ...
fn error_text(e: &TailorError) -> String {
    match e {
        TailorError::InvalidInput { .. } => "invalid_input".into(),
        TailorError::NotFound { .. } => "not_found".into(),
        TailorError::ModelRejected { problem, .. } => {
            format!("model_rejected/{}", problem_name(*problem))
        }
        TailorError::Storage { .. } => "storage".into(),
        TailorError::Closed { .. } => "closed".into(),
        TailorError::Interrupted { .. } => "interrupted".into(),
    }
}

fn rank_text(r: &RankResponse) -> String {
    let items: Vec<String> = r
        .items
        .iter()
        .map(|i| {
            let reasons: Vec<String> = i.reasons.iter().map(reason_text).collect();
            format!("{}({})", i.item_id, reasons.join(","))
        })
        .collect();
    format!(
        "personalized={} fallback={} model={} unknown=[{}] items=[{}]",
        r.personalized,
        fallback_name(&r.fallback),
        r.model_name,
        r.unknown_ids.join(","),
        items.join(" ")
    )
}

// ---- expectations ------------------------------------------------------------------------------

/// Numbers compare by value (3 == 3.0); objects match when every key of `spec` matches.
fn matches(spec: &Value, actual: &Value) -> bool {
    match (spec, actual) {
        (Value::Object(s), Value::Object(a)) => s
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av))),
        (Value::Number(s), Value::Number(a)) => s.as_f64() == a.as_f64(),
        _ => spec == actual,
    }
}

/// A reason spec: `"pinned"` is short for `{"type": "pinned"}`.
fn reason_spec(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::json!({ "type": s }),
        other => other.clone(),
    }
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, expected: T, actual: T) -> R<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

fn check_rank(
    e: &Map<String, Value>,
    r: &RankResponse,
    saved: &HashMap<String, Vec<String>>,
) -> R<()> {
    check_keys(
        e,
        &[
            "ids",
            "prefix",
            "contains",
            "absent",
            "count",
            "before",
            "personalized",
            "fallback",
            "model",
            "unknown_ids",
            "reasons",
            "top_reason",
            "no_reason",
            "positions",
            "same_as",
        ],
        "rank expect",
    )?;
    let ids: Vec<String> = r.items.iter().map(|i| i.item_id.clone()).collect();
    let pos = |id: &str| ids.iter().position(|x| x == id);
    if let Some(v) = e.get("ids") {
        expect_eq("ids", strings(v, "ids")?, ids.clone())?;
    }
    if let Some(v) = e.get("prefix") {
        let p = strings(v, "prefix")?;
        expect_eq(
            "prefix",
            p.clone(),
            ids.iter().take(p.len()).cloned().collect(),
        )?;
    }
    for id in e
        .get("contains")
        .map(|v| strings(v, "contains"))
        .transpose()?
        .unwrap_or_default()
    {
        if pos(&id).is_none() {
            return Err(format!("contains: {id} is not among {ids:?}"));
        }
    }
    for id in e
        .get("absent")
        .map(|v| strings(v, "absent"))
        .transpose()?
        .unwrap_or_default()
    {
        if pos(&id).is_some() {
            return Err(format!("absent: {id} is among {ids:?}"));
        }
    }
    if let Some(v) = e.get("count") {
        expect_eq("count", uint(v, "count")? as usize, ids.len())?;
    }
    if let Some(v) = e.get("before") {
        for pair in v.as_array().ok_or("before: expected [[a, b], ...]")? {
            let p = strings(pair, "before")?;
            let [a, b] = p.as_slice() else {
                return Err("before: each entry is [higher, lower]".into());
            };
            match (pos(a), pos(b)) {
                (Some(x), Some(y)) if x < y => {}
                _ => return Err(format!("before: expected {a} above {b} in {ids:?}")),
            }
        }
    }
    if let Some(v) = e.get("personalized") {
        expect_eq("personalized", boolean(v, "personalized")?, r.personalized)?;
    }
    if let Some(v) = e.get("fallback") {
        let want = if v.is_null() {
            "none".to_string()
        } else {
            string(v, "fallback")?
        };
        expect_eq("fallback", want.as_str(), fallback_name(&r.fallback))?;
    }
    if let Some(v) = e.get("model") {
        expect_eq("model", string(v, "model")?, r.model_name.clone())?;
    }
    if let Some(v) = e.get("unknown_ids") {
        expect_eq(
            "unknown_ids",
            strings(v, "unknown_ids")?,
            r.unknown_ids.clone(),
        )?;
    }
    let reasons_of = |id: &str| -> R<Vec<Value>> {
        let i = pos(id).ok_or_else(|| format!("reasons: {id} is not among {ids:?}"))?;
        Ok(r.items[i].reasons.iter().map(reason_json).collect())
    };
    if let Some(v) = e.get("reasons") {
        for (id, specs) in obj(v, "reasons")? {
            let actual = reasons_of(id)?;
            for spec in specs
                .as_array()
                .ok_or("reasons: expected {id: [spec, ...]}")?
            {
                let spec = reason_spec(spec);
                if !actual.iter().any(|a| matches(&spec, a)) {
                    return Err(format!(
                        "reasons of {id}: no reason matches {spec} in {actual:?}"
                    ));
                }
            }
        }
    }
    if let Some(v) = e.get("top_reason") {
        for (id, spec) in obj(v, "top_reason")? {
            let actual = reasons_of(id)?;
            let spec = reason_spec(spec);
            if !actual.first().is_some_and(|a| matches(&spec, a)) {
                return Err(format!(
                    "top reason of {id}: expected {spec}, got {actual:?}"
                ));
            }
        }
    }
    if let Some(v) = e.get("no_reason") {
        for spec in v.as_array().ok_or("no_reason: expected [spec, ...]")? {
            let spec = reason_spec(spec);
            for item in &r.items {
                if item.reasons.iter().any(|a| matches(&spec, &reason_json(a))) {
                    return Err(format!(
                        "no_reason: {} has a reason matching {spec}",
                        item.item_id
                    ));
                }
            }
        }
    }
    if let Some(v) = e.get("positions") {
        for (kind, want) in obj(v, "positions")? {
            let spec = serde_json::json!({ "type": kind });
            let got: Vec<u64> = r
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.reasons.iter().any(|a| matches(&spec, &reason_json(a))))
                .map(|(p, _)| p as u64)
                .collect();
            let want: Vec<u64> = want
                .as_array()
                .ok_or("positions: expected {type: [index, ...]}")?
                .iter()
                .map(|p| uint(p, "positions"))
                .collect::<R<_>>()?;
            expect_eq(&format!("positions of {kind}"), want, got)?;
        }
    }
    if let Some(v) = e.get("same_as") {
        let label = string(v, "same_as")?;
        let before = saved
            .get(&label)
            .ok_or_else(|| format!("same_as: no rank step saved as {label:?}"))?;
        expect_eq(&format!("same ids as {label:?}"), before.clone(), ids)?;
    }
    Ok(())
}

fn check_fields(e: &Map<String, Value>, actual: &[(&str, Value)], what: &str) -> R<()> {
    let allowed: Vec<&str> = actual.iter().map(|(k, _)| *k).collect();
    check_keys(e, &allowed, what)?;
    for (k, v) in actual {
        if let Some(want) = e.get(*k) {
            if !matches(want, v) {
                return Err(format!("{what}.{k}: expected {want}, got {v}"));
            }
        }
    }
    Ok(())
}

// ---- running -----------------------------------------------------------------------------------

struct Run {
    root: PathBuf,
    config: TailorConfig,
    now: i64,
    tailor: Arc<Tailor>,
    saved: HashMap<String, Vec<String>>,
    responses: HashMap<String, RankResponse>,
}

impl Run {
    /// Execute one step; Ok(text) is the transcript line's result, Err(e) an API error.
    fn call(&mut self, o: &Map<String, Value>) -> R<Result<(String, Value), TailorError>> {
        let op = string(o.get("op").ok_or("step: missing `op`")?, "op")?;
        let t = self.tailor.clone();
        let keys = |extra: &[&str]| {
            let mut k = vec!["op", "note", "error", "expect"];
            k.extend_from_slice(extra);
            check_keys(o, &k, &format!("step {op}"))
        };
        let path = |key: &str| -> R<String> {
            let p = string(o.get(key).ok_or(format!("{op}: missing `{key}`"))?, key)?;
            Ok(self.root.join(p).display().to_string())
        };
        let count = |n: u32| (format!("count={n}"), serde_json::json!({ "count": n }));
        let model = |m: ModelInfo| {
            (
                format!("model={} version={}", m.name, m.version),
                serde_json::json!({"name": m.name, "version": m.version, "builtin": m.builtin}),
            )
        };
        Ok(match op.as_str() {
            "upsert" => {
                keys(&["items"])?;
                let items = o
                    .get("items")
                    .and_then(Value::as_array)
                    .ok_or("upsert: `items` must be an array")?
                    .iter()
                    .map(item)
                    .collect::<R<Vec<_>>>()?;
                t.upsert_items(items).map(count)
            }
            "import_catalog_csv" => {
                keys(&["path"])?;
                t.import_catalog_csv(path("path")?).map(count)
            }
            "remove" => {
                keys(&["ids"])?;
                t.remove_items(strings(&o["ids"], "remove.ids")?).map(count)
            }
            "track" => {
                keys(&["events"])?;
                let events = o
                    .get("events")
                    .and_then(Value::as_array)
                    .ok_or("track: `events` must be an array")?
                    .iter()
                    .map(|e| event(e, self.now, &self.responses))
                    .collect::<R<Vec<_>>>()?;
                t.track_batch(events).map(|s| {
                    (
                        format!(
                            "stored={} pending_items={} dropped_no_consent={}",
                            s.stored, s.pending_items, s.dropped_no_consent
                        ),
                        serde_json::json!({"stored": s.stored, "pending_items": s.pending_items,
                            "dropped_no_consent": s.dropped_no_consent}),
                    )
                })
            }
            "consent" => {
                keys(&["granted"])?;
                t.set_consent(boolean(&o["granted"], "consent.granted")?)
                    .map(|_| ("".into(), Value::Null))
            }
            "preferences" => {
                keys(&["attributes"])?;
                let attrs = o
                    .get("attributes")
                    .and_then(Value::as_array)
                    .ok_or("preferences: `attributes` must be an array")?
                    .iter()
                    .map(attribute)
                    .collect::<R<Vec<_>>>()?;
                t.set_preferences(attrs).map(|_| ("".into(), Value::Null))
            }
            "load_model" => {
                keys(&["path"])?;
                t.load_model(path("path")?, None).map(model)
            }
            "rollback_model" => {
                keys(&[])?;
                t.rollback_model().map(model)
            }
            "erase" => {
                keys(&[])?;
                t.erase().map(|_| ("".into(), Value::Null))
            }
            "close" => {
                keys(&[])?;
                t.close();
                Ok(("".into(), Value::Null))
            }
            "reopen" => {
                keys(&[])?;
                t.close();
                drop(t);
                match Tailor::open(self.config.clone()) {
                    Ok(n) => {
                        self.tailor = n;
                        Ok(("".into(), Value::Null))
                    }
                    Err(e) => Err(e),
                }
            }
            "status" => {
                keys(&[])?;
                t.status().map(|s| {
                    (
                        format!(
                            "catalog_items={} profile_events={} pending_events={} consent={} model={}",
                            s.catalog_items, s.profile_events, s.pending_events, s.consent, s.model.name
                        ),
                        serde_json::json!({"catalog_items": s.catalog_items,
                            "profile_events": s.profile_events, "pending_events": s.pending_events,
                            "consent": s.consent, "model": s.model.name}),
                    )
                })
            }
            "rank" => {
                keys(&["request", "save"])?;
                let empty = Value::Object(Map::new());
                let req = rank_request(opt(o, "request").unwrap_or(&empty), self.now)?;
                match t.rank(req) {
                    Ok(r) => {
                        if let Some(e) = opt(o, "expect") {
                            check_rank(obj(e, "rank expect")?, &r, &self.saved)?;
                        }
                        if let Some(label) = opt(o, "save") {
                            let ids = r.items.iter().map(|i| i.item_id.clone()).collect();
                            self.saved.insert(string(label, "save")?, ids);
                            self.responses.insert(string(label, "save")?, r.clone());
                        }
                        Ok((rank_text(&r), Value::Null))
                    }
                    Err(e) => Err(e),
                }
            }
            "define_candidate_set" => {
                keys(&["name", "ids"])?;
                let name = string(
                    o.get("name")
                        .ok_or("define_candidate_set: missing `name`")?,
                    "name",
                )?;
                let ids = strings(
                    o.get("ids").ok_or("define_candidate_set: missing `ids`")?,
                    "define_candidate_set.ids",
                )?;
                t.define_candidate_set(name, ids).map(count)
            }
            "remove_candidate_set" => {
                keys(&["name"])?;
                let name = string(
                    o.get("name")
                        .ok_or("remove_candidate_set: missing `name`")?,
                    "name",
                )?;
                t.remove_candidate_set(name).map(|removed| {
                    (
                        format!("removed={removed}"),
                        serde_json::json!({ "removed": removed }),
                    )
                })
            }
            "bundle" => {
                keys(&["request"])?;
                let req = bundle_request(
                    o.get("request").ok_or("bundle: missing `request`")?,
                    self.now,
                )?;
                t.bundle(req).map(|b| {
                    let (text, ids, cents) = bundle_text(&b);
                    (
                        text,
                        serde_json::json!({"ids": ids, "total_cents": cents,
                            "personalized": b.personalized}),
                    )
                })
            }
            "not_interested" => {
                keys(&["attribute"])?;
                let a = attribute(
                    o.get("attribute")
                        .ok_or("not_interested: missing `attribute`")?,
                )?;
                t.mark_not_interested(a).map(|_| ("".into(), Value::Null))
            }
            "undo_not_interested" => {
                keys(&["attribute"])?;
                let a = attribute(
                    o.get("attribute")
                        .ok_or("undo_not_interested: missing `attribute`")?,
                )?;
                t.undo_not_interested(a).map(|removed| {
                    (
                        format!("removed={removed}"),
                        serde_json::json!({ "removed": removed }),
                    )
                })
            }
            "forget_item" => {
                keys(&["item_id"])?;
                let id = string(
                    o.get("item_id").ok_or("forget_item: missing `item_id`")?,
                    "item_id",
                )?;
                t.forget_item(id).map(count)
            }
            "impressions" => {
                keys(&["from", "shown", "at"])?;
                let r = saved_response(
                    &self.responses,
                    o.get("from").ok_or("impressions: missing `from`")?,
                )?;
                let shown = uint(
                    o.get("shown").ok_or("impressions: missing `shown`")?,
                    "shown",
                )?;
                let ts = time(o, "timestamp", self.now, "impressions")?.unwrap_or(self.now);
                t.record_impressions(Impressions::of(r, shown as usize, Some(ts)))
                    .map(|_| ("".into(), Value::Null))
            }
            "placements" => {
                keys(&[])?;
                t.metrics().map(|m| placements_text(&m, &self.responses))
            }
            other => return Err(format!("unknown op {other:?}")),
        })
    }
}

/// Run one scenario file; returns the transcript, or the transcript so far and the failure.
fn run(path: &Path, root: &Path) -> Result<Vec<String>, (Vec<String>, String)> {
    let mut transcript = Vec::new();
    let fail = |t: &Vec<String>, msg: String| Err((t.clone(), msg));
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return fail(&transcript, e.to_string()),
    };
    let doc: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return fail(&transcript, format!("not JSON: {e}")),
    };
    let setup = (|| -> R<(i64, TailorConfig, Vec<Value>, tempfile::TempDir)> {
        let o = obj(&doc, "scenario")?;
        check_keys(o, &["description", "now", "config", "steps"], "scenario")?;
        string(
            o.get("description")
                .ok_or("scenario: missing `description`")?,
            "description",
        )?;
        let now = opt(o, "now")
            .map(|v| int(v, "now"))
            .transpose()?
            .unwrap_or(DEFAULT_NOW);
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let cfg = config(
            opt(o, "config"),
            dir.path().join("store").display().to_string(),
        )?;
        let steps = o
            .get("steps")
            .and_then(Value::as_array)
            .ok_or("scenario: `steps` must be an array")?
            .clone();
        Ok((now, cfg, steps, dir))
    })();
    let (now, cfg, steps, _dir) = match setup {
        Ok(s) => s,
        Err(e) => return fail(&transcript, e),
    };
    let tailor = match Tailor::open(cfg.clone()) {
        Ok(t) => t,
        Err(e) => return fail(&transcript, format!("open: {e}")),
    };
    let mut run = Run {
        root: root.to_path_buf(),
        config: cfg,
        now,
        tailor,
        saved: HashMap::new(),
        responses: HashMap::new(),
    };
    for (n, step) in steps.iter().enumerate() {
        let result = (|| -> R<String> {
            let o = obj(step, "step")?;
            let op = string(o.get("op").ok_or("step: missing `op`")?, "op")?;
            let want_error = opt(o, "error").map(|v| string(v, "error")).transpose()?;
            let line = match (run.call(o)?, want_error) {
                (Ok((text, fields)), None) => {
                    if op != "rank" {
                        if let Some(e) = opt(o, "expect") {
                            let e = obj(e, "expect")?;
                            let actual: Vec<(&str, Value)> = match &fields {
                                Value::Object(m) => {
                                    m.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
                                }
                                _ => vec![],
                            };
                            check_fields(e, &actual, &format!("{op} expect"))?;
                        }
                    }
                    if text.is_empty() {
                        "ok".to_string()
                    } else {
                        format!("ok {text}")
                    }
                }
                (Ok((text, _)), Some(want)) => {
                    return Err(format!(
                        "expected error {want}, but the call succeeded: {text}"
                    ))
                }
                (Err(e), None) => return Err(format!("unexpected error: {e}")),
                (Err(e), Some(want)) => {
                    let got = error_text(&e);
                    // `model_rejected` matches any problem; `model_rejected/not_onnx` only that one.
                    if got != want && got.split('/').next() != Some(want.as_str()) {
                        return Err(format!("expected error {want}, got {got}: {e}"));
                    }
                    format!("error {got}")
                }
            };
            Ok(format!("{n} {op}: {line}"))
        })();
        match result {
            Ok(line) => transcript.push(line),
            Err(e) => return fail(&transcript, format!("step {n}: {e}")),
        }
    }
    run.tailor.close();
    Ok(transcript)
}

#[test]
fn scenarios() {
    let root = repo();
    let filter = std::env::var("TAILOR_SCENARIO").unwrap_or_default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("tests/scenarios"))
        .expect("tests/scenarios")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(&filter))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario files matched {filter:?}");
    let out = root.join("target/scenario-transcripts/rust");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let mut failures = Vec::new();
    for f in &files {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        let (transcript, failure) = match run(f, &root) {
            Ok(t) => (t, None),
            Err((t, e)) => (t, Some(e)),
        };
        std::fs::write(
            out.join(format!("{name}.txt")),
            transcript.join("\n") + "\n",
        )
        .unwrap();
        match failure {
            None => println!("scenario {name}: ok ({} steps)", transcript.len()),
            Some(e) => {
                println!(
                    "scenario {name}: FAILED: {e}\n  transcript so far:\n    {}",
                    transcript.join("\n    ")
                );
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    println!("{} scenarios, {} failed", files.len(), failures.len());
    assert!(
        failures.is_empty(),
        "failed scenarios:\n{}",
        failures.join("\n")
    );
}
