//! A `RankResponse` packed into one byte buffer, for the Kotlin and Swift SDKs (`rank_packed`).
//!
//! uniffi lifts a record field by field through its generic reader; in Swift on Linux that
//! reader copies every integer out of a Foundation `Data`, which made lifting a page of 20 items
//! with their reasons cost twice the ranking itself. The SDKs' hand-written layers read this
//! format with one pass over the bytes into the same generated `RankResponse` (Swift
//! `Tailor.rankPage`, Kotlin `Tailor.rankPage`), so an app gets the same value for less.
//!
//! Layout, little-endian (every SDK target is): `u8` version (1), then the response in field
//! order. `str` is a `u32` byte length and UTF-8 bytes; `opt<T>` is a `u8` 0/1 then `T`; a list
//! is a `u32` count then the elements.
//!
//! ```text
//! items: list of { item_id: str, score: f64, reasons: u8 count, reason... }
//! reason: u8 tag (the `Reason` variant's position, from 1), then its fields in order;
//!         an `Attribute` is u8 kind (`AttributeKind` position, from 1) and str value
//! unknown_ids: list of str
//! personalized: u8
//! fallback: u8 tag (0: none, else the `Fallback` variant's position, from 1), then its fields
//! model_name: str, model_version: str, took_micros: i64
//! variant, experiment, surface: opt<str>
//! response_id: str
//! ```
//!
//! A change here changes the readers in bindings/kotlin/src/main/kotlin/dev/tailor/RankPage.kt
//! and bindings/swift/Sources/Tailor/RankPage.swift: bump `VERSION`, and the SDK tests (which
//! compare every packed page with the same request's `rank` response) fail until they agree.

use crate::bytes::{Reader, Writer};
use crate::error::{Error, Result};
use crate::types::{Attribute, AttributeKind, Fallback, RankResponse, RankedItem, Reason};

/// The format's version, the first byte; a reader refuses any other.
pub const VERSION: u8 = 1;

/// `response` in the layout above.
pub fn encode(response: &RankResponse) -> Vec<u8> {
    let mut out = Writer::with_capacity(64 + response.items.len() * 96);
    out.u8(VERSION);
    out.len(response.items.len());
    for item in &response.items {
        out.str(&item.item_id);
        out.f64(item.score);
        // At most 3 reasons per item (see `RankedItem::reasons`).
        out.u8(u8::try_from(item.reasons.len()).unwrap_or(u8::MAX));
        for reason in item.reasons.iter().take(usize::from(u8::MAX)) {
            write_reason(&mut out, reason);
        }
    }
    out.len(response.unknown_ids.len());
    for id in &response.unknown_ids {
        out.str(id);
    }
    out.u8(u8::from(response.personalized));
    match &response.fallback {
        None => out.u8(0),
        Some(Fallback::ColdStart) => out.u8(1),
        Some(Fallback::OptedOut) => out.u8(2),
        Some(Fallback::ModelFailed { message }) => {
            out.u8(3);
            out.str(message);
        }
        Some(Fallback::DeadlineExceeded { scored, candidates }) => {
            out.u8(4);
            out.u32(*scored);
            out.u32(*candidates);
        }
    }
    out.str(&response.model_name);
    out.str(&response.model_version);
    out.i64(response.took_micros);
    for text in [&response.variant, &response.experiment, &response.surface] {
        match text {
            None => out.u8(0),
            Some(s) => {
                out.u8(1);
                out.str(s);
            }
        }
    }
    out.str(&response.response_id);
    out.0
}

/// An attribute: its kind's code, then its value.
fn write_attribute(out: &mut Writer, a: &Attribute) {
    out.u8(match a.kind {
        AttributeKind::Category => 1,
        AttributeKind::Brand => 2,
        AttributeKind::Tag => 3,
        AttributeKind::Item => 4,
    });
    out.str(&a.value);
}

/// A reason: its code, then its fields.
fn write_reason(out: &mut Writer, r: &Reason) {
    match r {
        Reason::SimilarTo { item_id, title } => write_item_reason(out, 1, item_id, title),
        Reason::BoughtBefore { times } => {
            out.u8(2);
            out.i64(*times);
        }
        Reason::LeftInCart => out.u8(3),
        Reason::ViewedRecently => out.u8(4),
        Reason::Likes { attribute } => write_attribute_reason(out, 5, attribute),
        Reason::SessionIntent { attribute } => write_attribute_reason(out, 6, attribute),
        Reason::ChosenPreference { attribute } => write_attribute_reason(out, 7, attribute),
        Reason::PopularNow => out.u8(8),
        Reason::Pinned => out.u8(9),
        Reason::Boosted { attribute } => write_attribute_reason(out, 10, attribute),
        Reason::Exploration => out.u8(11),
        Reason::GoesWith { item_id, title } => write_item_reason(out, 12, item_id, title),
        Reason::LooksLike { item_id, title } => write_item_reason(out, 13, item_id, title),
        Reason::TrendingInCategory { category } => {
            out.u8(14);
            out.str(category);
        }
    }
}

/// A reason that names another item: its code, the item's id and title.
fn write_item_reason(out: &mut Writer, code: u8, item_id: &str, title: &str) {
    out.u8(code);
    out.str(item_id);
    out.str(title);
}

/// A reason about an attribute: its code, then the attribute.
fn write_attribute_reason(out: &mut Writer, code: u8, attribute: &Attribute) {
    out.u8(code);
    write_attribute(out, attribute);
}

/// Reads a page `encode` wrote: the reference reader the SDKs' readers follow, for tests and
/// tools. A buffer of another version, cut short or with trailing bytes is `Invalid`.
pub fn decode(bytes: &[u8]) -> Result<RankResponse> {
    let mut r = In(Reader::new(bytes));
    let version = r.u8()?;
    if version != VERSION {
        return Err(Error::invalid(format!(
            "packed page version {version}, expected {VERSION}"
        )));
    }
    let count = r.len()?;
    let mut items = Vec::with_capacity(count.min(bytes.len()));
    for _ in 0..count {
        let item_id = r.str()?;
        let score = f64::from_le_bytes(r.array()?);
        let n = r.u8()?;
        let reasons = (0..n).map(|_| r.reason()).collect::<Result<_>>()?;
        items.push(RankedItem {
            item_id,
            score,
            reasons,
        });
    }
    let unknown = r.len()?;
    let unknown_ids = (0..unknown).map(|_| r.str()).collect::<Result<_>>()?;
    let personalized = r.u8()? != 0;
    let fallback = match r.u8()? {
        0 => None,
        1 => Some(Fallback::ColdStart),
        2 => Some(Fallback::OptedOut),
        3 => Some(Fallback::ModelFailed { message: r.str()? }),
        4 => Some(Fallback::DeadlineExceeded {
            scored: u32::from_le_bytes(r.array()?),
            candidates: u32::from_le_bytes(r.array()?),
        }),
        tag => return Err(Error::invalid(format!("packed page: fallback tag {tag}"))),
    };
    let model_name = r.str()?;
    let model_version = r.str()?;
    let took_micros = i64::from_le_bytes(r.array()?);
    let variant = r.opt_str()?;
    let experiment = r.opt_str()?;
    let surface = r.opt_str()?;
    let response_id = r.str()?;
    if !r.0.is_empty() {
        return Err(Error::invalid("packed page: trailing bytes"));
    }
    Ok(RankResponse {
        items,
        unknown_ids,
        personalized,
        fallback,
        model_name,
        model_version,
        took_micros,
        variant,
        experiment,
        surface,
        response_id,
    })
}

/// The shared reader, failing with the page's errors.
struct In<'a>(Reader<'a>);

fn cut_short() -> Error {
    Error::invalid("packed page: cut short")
}

impl In<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.0.array().ok_or_else(cut_short)
    }

    fn u8(&mut self) -> Result<u8> {
        self.0.u8().ok_or_else(cut_short)
    }

    fn len(&mut self) -> Result<usize> {
        self.0.len().ok_or_else(cut_short)
    }

    fn str(&mut self) -> Result<String> {
        let bytes = self.0.str_bytes().ok_or_else(cut_short)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::invalid("packed page: a string is not UTF-8"))
    }

    fn opt_str(&mut self) -> Result<Option<String>> {
        Ok(match self.u8()? {
            0 => None,
            _ => Some(self.str()?),
        })
    }

    fn attribute(&mut self) -> Result<Attribute> {
        let kind = match self.u8()? {
            1 => AttributeKind::Category,
            2 => AttributeKind::Brand,
            3 => AttributeKind::Tag,
            4 => AttributeKind::Item,
            k => return Err(Error::invalid(format!("packed page: attribute kind {k}"))),
        };
        Ok(Attribute {
            kind,
            value: self.str()?,
        })
    }

    fn reason(&mut self) -> Result<Reason> {
        Ok(match self.u8()? {
            1 => Reason::SimilarTo {
                item_id: self.str()?,
                title: self.str()?,
            },
            2 => Reason::BoughtBefore {
                times: i64::from_le_bytes(self.array()?),
            },
            3 => Reason::LeftInCart,
            4 => Reason::ViewedRecently,
            5 => Reason::Likes {
                attribute: self.attribute()?,
            },
            6 => Reason::SessionIntent {
                attribute: self.attribute()?,
            },
            7 => Reason::ChosenPreference {
                attribute: self.attribute()?,
            },
            8 => Reason::PopularNow,
            9 => Reason::Pinned,
            10 => Reason::Boosted {
                attribute: self.attribute()?,
            },
            11 => Reason::Exploration,
            12 => Reason::GoesWith {
                item_id: self.str()?,
                title: self.str()?,
            },
            13 => Reason::LooksLike {
                item_id: self.str()?,
                title: self.str()?,
            },
            14 => Reason::TrendingInCategory {
                category: self.str()?,
            },
            tag => return Err(Error::invalid(format!("packed page: reason tag {tag}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(kind: AttributeKind, value: &str) -> Attribute {
        Attribute {
            kind,
            value: value.into(),
        }
    }

    /// Every reason, fallback and optional field, with non-ASCII text.
    fn responses() -> Vec<RankResponse> {
        let reasons = vec![
            Reason::SimilarTo {
                item_id: "p1".into(),
                title: "Tasse à café ☕".into(),
            },
            Reason::BoughtBefore { times: -3 },
            Reason::LeftInCart,
            Reason::ViewedRecently,
            Reason::Likes {
                attribute: attribute(AttributeKind::Category, "mugs"),
            },
            Reason::SessionIntent {
                attribute: attribute(AttributeKind::Brand, ""),
            },
            Reason::ChosenPreference {
                attribute: attribute(AttributeKind::Tag, "éco"),
            },
            Reason::PopularNow,
            Reason::Pinned,
            Reason::Boosted {
                attribute: attribute(AttributeKind::Item, "p9"),
            },
            Reason::Exploration,
            Reason::GoesWith {
                item_id: "p2".into(),
                title: "Saucer".into(),
            },
            Reason::LooksLike {
                item_id: "p3".into(),
                title: String::new(),
            },
            Reason::TrendingInCategory {
                category: "kitchen".into(),
            },
        ];
        let items: Vec<RankedItem> = reasons
            .chunks(3)
            .enumerate()
            .map(|(i, r)| RankedItem {
                item_id: format!("item-{i}"),
                score: [0.5, -1e300, f64::MIN_POSITIVE, 0.0, 7.25][i],
                reasons: r.to_vec(),
            })
            .collect();
        let full = RankResponse {
            items,
            unknown_ids: vec!["ghost".into(), "幽霊".into()],
            personalized: true,
            fallback: Some(Fallback::DeadlineExceeded {
                scored: 256,
                candidates: 1000,
            }),
            model_name: "bootstrap".into(),
            model_version: "3".into(),
            took_micros: 1234,
            variant: Some("b".into()),
            experiment: Some("ranker".into()),
            surface: Some("home".into()),
            response_id: "r-1".into(),
        };
        let mut out = vec![full.clone()];
        for fallback in [
            None,
            Some(Fallback::ColdStart),
            Some(Fallback::OptedOut),
            Some(Fallback::ModelFailed {
                message: "NaN scores".into(),
            }),
        ] {
            out.push(RankResponse {
                items: Vec::new(),
                unknown_ids: Vec::new(),
                personalized: false,
                fallback,
                variant: None,
                experiment: None,
                surface: None,
                ..full.clone()
            });
        }
        out
    }

    #[test]
    fn every_response_reads_back_equal() {
        for response in responses() {
            assert_eq!(decode(&encode(&response)).unwrap(), response);
        }
    }

    #[test]
    fn a_damaged_buffer_is_an_error_not_a_panic() {
        let bytes = encode(&responses()[0]);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        let mut other_version = bytes;
        other_version[0] = VERSION + 1;
        assert!(decode(&other_version).is_err());
    }
}
