//! `catalog.image`: the catalog snapshot saved as one binary file, so that open reads it back
//! instead of decoding every row of `catalog.db` (the JSON columns, 20 neighbour ids per item
//! looked up one by one, every string interned again): about 30 ms for 10,000 items becomes a
//! few. `catalog.db` stays the truth; the image is a cache of it and is used only when it carries
//! the stamp of the last `catalog.db` write and its checksum matches. Anything else — missing,
//! stale, damaged, written by another format version — is ignored, and open decodes the rows.
//!
//! Layout (little-endian): `MAGIC`, format `VERSION` (u32), the stamp (string), a checksum (u64)
//! of the body, the body length (u64), then the body: the embedding dimension (u32, `NONE` for
//! none), the category, brand and tag vocabularies and the unknown neighbour ids (each a count and
//! strings), then every item: id, title, category and brand ids, price, tag ids as given, stock,
//! margin, repeat rate, popularity, embedding as given, neighbour entries (index or flagged
//! unknown-id number, weight). Strings are a u32 byte length and UTF-8 bytes.

use super::neighbours::{Entry, NeighbourLists};
use super::snapshot::{catalog_item, CatalogSnapshot, Vocab};
use crate::bytes::{Reader, Writer};
use crate::types::Item;
use parking_lot::Mutex;
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"TLRCATIM";
/// Bump when the layout changes: an image of another version is ignored (and rewritten).
const VERSION: u32 = 1;
/// No value (an absent embedding dimension, margin, repeat rate or embedding).
const NONE: u32 = u32::MAX;

/// Smaller catalogs decode from their rows in a few milliseconds: no image is kept for them.
pub const MIN_ITEMS: usize = 1_000;

/// The image file in a Tailor directory.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("catalog.image")
}

/// Keeps `catalog.image` current, one write at a time.
pub struct Saver {
    path: PathBuf,
    /// The stamp of the image on disk, when this process knows it is current.
    on_disk: Mutex<Option<String>>,
}

impl Saver {
    pub fn new(dir: &Path, on_disk: Option<String>) -> Saver {
        Saver {
            path: path(dir),
            on_disk: Mutex::new(on_disk),
        }
    }

    /// Writes the image of `snapshot` unless the one on disk shows it already. A catalog too
    /// small for an image has any old one removed. Failures are left for the next save: the
    /// image is a cache, and open without it decodes the rows.
    pub fn save(&self, snapshot: &CatalogSnapshot) {
        let mut on_disk = self.on_disk.lock();
        if snapshot.stamp.is_none() || *on_disk == snapshot.stamp {
            return;
        }
        if snapshot.len() < MIN_ITEMS {
            let _ = std::fs::remove_file(&self.path);
            *on_disk = snapshot.stamp.clone();
        } else if write(&self.path, snapshot).is_ok() {
            *on_disk = snapshot.stamp.clone();
        }
    }
}

/// Writes the image of `snapshot` (which must carry its stamp) to `path`: a temporary file
/// renamed over the old one, so a crash leaves the old image or the new one, never half of one
/// (and a torn write fails the checksum).
pub fn write(path: &Path, snapshot: &CatalogSnapshot) -> std::io::Result<()> {
    let Some(stamp) = snapshot.stamp.as_deref() else {
        return Err(std::io::Error::other(
            "the snapshot has no catalog.db stamp",
        ));
    };
    let bytes = encode(snapshot, stamp);
    let tmp = path.with_extension("image.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
    }
    std::fs::rename(&tmp, path)
}

/// Larger files are not read: not an image this code wrote for any catalog `max_catalog_items`
/// allows in practice (10,000 items take 4 MB).
const MAX_BYTES: u64 = 1 << 31;

/// An image file whose header shows the expected stamp and whose body matches its checksum.
/// Decoding it can still fail, on a file made to pass the checksum.
pub struct Verified {
    bytes: Vec<u8>,
    body: std::ops::Range<usize>,
    stamp: String,
}

/// The image at `path` if it shows the `catalog.db` write `stamp` and is whole; `None` when
/// there is no such file (or something else under its name) or it is damaged, stale or of
/// another format version.
pub fn open(path: &Path, stamp: &str) -> Option<Verified> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let body = verify(&bytes, stamp)?;
    let start = bytes.len() - body.len();
    Some(Verified {
        body: start..bytes.len(),
        bytes,
        stamp: stamp.to_owned(),
    })
}

impl Verified {
    /// The snapshot (showing the stamp), or `None` if the body does not decode.
    pub fn decode(&self) -> Option<CatalogSnapshot> {
        let body = self.bytes.get(self.body.clone())?;
        Some(decode_body(body)?.with_stamp(Some(self.stamp.clone())))
    }
}

/// The body of `bytes` (their end) if the header is this format's and shows `stamp`, and the
/// checksum fits.
fn verify<'a>(bytes: &'a [u8], stamp: &str) -> Option<&'a [u8]> {
    let mut head = Reader::new(bytes);
    if head.take(MAGIC.len())? != MAGIC || head.u32()? != VERSION || head.str()? != stamp {
        return None;
    }
    let sum = head.u64()?;
    let len = usize::try_from(head.u64()?).ok()?;
    let body = head.take(len)?;
    (head.is_empty() && checksum(body) == sum).then_some(body)
}

fn checksum(body: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(body);
    h.write_usize(body.len());
    h.finish()
}

fn write_opt_f64(w: &mut Writer, v: Option<f64>) {
    match v {
        Some(v) => {
            w.u8(1);
            w.f64(v);
        }
        None => w.u8(0),
    }
}

pub fn encode(s: &CatalogSnapshot, stamp: &str) -> Vec<u8> {
    let mut body = Writer::with_capacity(s.len() * 256);
    body.u32(s.embedding_dim.map_or(NONE, |d| d as u32));
    for vocab in [&s.categories, &s.brands, &s.tags] {
        body.len(vocab.names().len());
        for name in vocab.names() {
            body.str(name);
        }
    }
    let lists = s.neighbours();
    body.len(lists.unknown_ids().len());
    for name in lists.unknown_ids() {
        body.str(name);
    }
    body.len(s.records.len());
    for (i, (r, it)) in s.records.iter().zip(&s.items).enumerate() {
        let list = lists.list(i as u32);
        body.str(&r.id);
        body.str(&r.title);
        body.u32(it.category);
        body.u32(it.brand);
        body.f64(r.price);
        body.len(r.tags.len());
        for t in &r.tags {
            // Every tag of every record was interned when the snapshot was built.
            body.u32(s.tags.get(t).unwrap_or(NONE));
        }
        body.u8(r.in_stock as u8);
        write_opt_f64(&mut body, r.margin);
        write_opt_f64(&mut body, r.repeat_rate);
        body.f64(r.popularity);
        match &r.embedding {
            Some(e) => {
                body.len(e.len());
                for v in e {
                    body.f32(*v);
                }
            }
            None => body.u32(NONE),
        }
        body.len(list.len());
        for e in list.iter() {
            let (to, weight) = e.raw();
            body.u32(to);
            body.f64(weight);
        }
    }
    let mut out = Writer::with_capacity(body.0.len() + 64);
    out.0.extend_from_slice(MAGIC);
    out.u32(VERSION);
    out.str(stamp);
    out.u64(checksum(&body.0));
    out.u64(body.0.len() as u64);
    out.0.extend_from_slice(&body.0);
    out.0
}

/// A count of elements at least `min_size` bytes each: never more than the bytes left, so a
/// damaged count cannot ask for a huge allocation.
fn read_count(r: &mut Reader, min_size: usize) -> Option<usize> {
    let n = r.len()?;
    (n.saturating_mul(min_size.max(1)) <= r.rest().len()).then_some(n)
}

fn read_opt_f64(r: &mut Reader) -> Option<Option<f64>> {
    match r.u8()? {
        0 => Some(None),
        1 => Some(Some(r.f64()?)),
        _ => None,
    }
}

fn read_vocab(r: &mut Reader) -> Option<Vocab> {
    let n = read_count(r, 4)?;
    let mut names = Vec::with_capacity(n);
    for _ in 0..n {
        names.push(Arc::from(r.str()?));
    }
    Vocab::from_names(names)
}

/// The snapshot in `bytes` if they are an image showing `stamp` (tests; open uses `open`).
#[cfg(test)]
fn decode(bytes: &[u8], stamp: &str) -> Option<CatalogSnapshot> {
    decode_body(verify(bytes, stamp)?)
}

fn decode_body(body: &[u8]) -> Option<CatalogSnapshot> {
    let mut r = Reader::new(body);
    let embedding_dim = match r.u32()? {
        NONE => None,
        d => Some(d as usize),
    };
    let [categories, brands, tags] = [
        read_vocab(&mut r)?,
        read_vocab(&mut r)?,
        read_vocab(&mut r)?,
    ];
    let n_unknown = read_count(&mut r, 4)?;
    let mut unknown = Vec::with_capacity(n_unknown);
    for _ in 0..n_unknown {
        unknown.push(Box::from(r.str()?));
    }
    // An item takes at least 50 bytes (two empty strings, the ids and numbers, empty lists).
    let n = read_count(&mut r, 50)?;
    // Records first, then the ranking-ready items, then the neighbour lists: allocated in the
    // order the rows path allocates them, the parts ranking reads of every candidate (id, tags,
    // embedding) end up close together; decoded item by item, `rank` of 10,000 was 13% slower.
    let mut records = Vec::with_capacity(n);
    let mut interned = Vec::with_capacity(n);
    let (mut tag_ids, mut tag_ends) = (Vec::new(), Vec::with_capacity(n));
    let (mut entries, mut entry_ends) = (Vec::new(), Vec::with_capacity(n));
    let name = |v: &Vocab, id: u32| (id < v.len() as u32).then(|| v.name(id).to_owned());
    for _ in 0..n {
        let id = r.str()?.to_owned();
        let title = r.str()?.to_owned();
        let (category, brand) = (r.u32()?, r.u32()?);
        let price = r.f64()?;
        let n_tags = read_count(&mut r, 4)?;
        let mut tag_names = Vec::with_capacity(n_tags);
        for _ in 0..n_tags {
            let t = r.u32()?;
            tag_names.push(name(&tags, t)?);
            tag_ids.push(t);
        }
        tag_ends.push(tag_ids.len());
        let in_stock = match r.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let (margin, repeat_rate, popularity) =
            (read_opt_f64(&mut r)?, read_opt_f64(&mut r)?, r.f64()?);
        let embedding = match r.u32()? {
            NONE => None,
            d => {
                let raw = r.take((d as usize).checked_mul(4)?)?;
                Some(
                    raw.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                )
            }
        };
        let n_entries = read_count(&mut r, 12)?;
        for _ in 0..n_entries {
            entries.push(Entry::from_raw(r.u32()?, r.f64()?));
        }
        entry_ends.push(u32::try_from(entries.len()).ok()?);
        records.push(Arc::new(Item {
            id,
            title,
            category: name(&categories, category)?,
            brand: name(&brands, brand)?,
            price,
            tags: tag_names,
            in_stock,
            margin,
            embedding,
            popularity,
            repeat_rate,
            related: Vec::new(),
        }));
        interned.push((category, brand));
    }
    if !r.is_empty() {
        return None;
    }
    let mut items = Vec::with_capacity(n);
    let mut index = FxHashMap::with_capacity_and_hasher(n, Default::default());
    let mut tag_start = 0;
    for (i, ((record, (category, brand)), tag_end)) in
        records.iter().zip(interned).zip(tag_ends).enumerate()
    {
        let id: Arc<str> = Arc::from(record.id.as_str());
        if index.insert(id.clone(), i as u32).is_some() {
            return None;
        }
        let tags = tag_ids.get(tag_start..tag_end)?.to_vec();
        tag_start = tag_end;
        items.push(catalog_item(
            record,
            id,
            category,
            brand,
            tags,
            embedding_dim,
        ));
    }
    Some(CatalogSnapshot::finish(
        records,
        NeighbourLists::from_parts(entries, &entry_ends, unknown, n)?,
        items,
        index,
        [categories, brands, tags],
        embedding_dim,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Cancel;
    use crate::catalog::CatalogStore;
    use crate::types::RelatedItem;

    /// Items with every kind of value an image must carry: neighbours the catalog lacks, ids
    /// that need escaping, repeated and empty tags, absent margins and embeddings.
    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                id: if i == 3 {
                    "quo\"te".into()
                } else {
                    format!("p{i:04}")
                },
                title: format!("Item {i} ünï"),
                category: format!("c{}", i % 7),
                brand: if i % 5 == 0 {
                    String::new()
                } else {
                    format!("b{}", i % 11)
                },
                price: 0.5 + i as f64 * 1.25,
                tags: vec![format!("t{}", i % 4), String::new(), format!("t{}", i % 4)],
                in_stock: i % 9 != 0,
                margin: (i % 2 == 0).then_some(0.1 + i as f64 / 1e4),
                embedding: (i % 3 != 0).then(|| vec![i as f32, -1.0, 0.5]),
                popularity: (i * 37 % 101) as f64,
                repeat_rate: (i % 4 == 0).then_some(0.25),
                related: [(i + 1, 0.5), (i * 7 + 2, 2.0), (n + i, 1.0), (i, 3.0)]
                    .iter()
                    .map(|&(j, weight)| RelatedItem {
                        item_id: if j % n == 3 {
                            "quo\"te".into()
                        } else {
                            format!("p{j:04}")
                        },
                        weight,
                    })
                    .collect(),
            })
            .collect()
    }

    fn stored(items: &[Item]) -> (CatalogSnapshot, String) {
        let mut store = CatalogStore::open_in_memory().unwrap();
        let stamp = store.upsert(items, 1, &Cancel::default()).unwrap();
        let rows = store.load_stored().unwrap();
        (
            CatalogSnapshot::from_stored(rows).with_stamp(Some(stamp.clone())),
            stamp,
        )
    }

    fn assert_same(a: &CatalogSnapshot, b: &CatalogSnapshot) {
        assert_eq!(a.len(), b.len());
        for i in 0..a.len() as u32 {
            assert_eq!(a.full_record(i), b.full_record(i), "record {i}");
            let (x, y) = (a.item(i), b.item(i));
            assert_eq!(format!("{x:?}"), format!("{y:?}"), "item {i}");
        }
        assert_eq!(a.index, b.index);
        for (va, vb) in [
            (&a.categories, &b.categories),
            (&a.brands, &b.brands),
            (&a.tags, &b.tags),
        ] {
            assert_eq!(va.names(), vb.names());
        }
        assert_eq!(a.popularity_percentile, b.popularity_percentile);
        assert_eq!(a.in_stock_by_popularity, b.in_stock_by_popularity);
        assert_eq!(a.embedding_dim, b.embedding_dim);
        assert_eq!(a.stamp, b.stamp);
    }

    #[test]
    fn an_image_reads_back_as_the_snapshot_of_the_rows() {
        let (snapshot, stamp) = stored(&items(300));
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path());
        write(&file, &snapshot).unwrap();
        let read_back = open(&file, &stamp).unwrap().decode().unwrap();
        assert_same(&snapshot, &read_back);
        // A rebuild from the image (an item removed, one added) equals one from the rows.
        let mut more = items(301);
        let added = more.pop().unwrap();
        let removed = vec![more[10].id.clone()];
        assert_same(
            &snapshot.with_changes(std::slice::from_ref(&added), &removed),
            &read_back.with_changes(std::slice::from_ref(&added), &removed),
        );
        // Another write's stamp: not this image.
        assert!(open(&file, "0123456789abcdef").is_none());
    }

    #[test]
    fn a_damaged_image_is_refused_whatever_the_damage() {
        let (snapshot, stamp) = stored(&items(40));
        let bytes = encode(&snapshot, &stamp);
        assert!(decode(&bytes, &stamp).is_some());
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x5a;
            assert!(decode(&bad, &stamp).is_none(), "byte {at} flipped");
        }
        for len in (0..bytes.len()).step_by(7) {
            assert!(decode(&bytes[..len], &stamp).is_none(), "cut at {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer, &stamp).is_none(), "trailing byte");
    }

    /// A body changed on purpose, with its checksum recomputed, must not panic or allocate
    /// without bound: decoding checks every count, index and string.
    #[test]
    fn a_forged_body_with_a_valid_checksum_never_panics() {
        use rand::{Rng, SeedableRng};
        let (snapshot, stamp) = stored(&items(40));
        let bytes = encode(&snapshot, &stamp);
        let head = MAGIC.len() + 4 + 4 + stamp.len();
        let body_at = head + 16;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut decoded = 0;
        for _ in 0..3_000 {
            let mut body = bytes[body_at..].to_vec();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..body.len());
                body[at] = match rng.random_range(0..3) {
                    0 => 0xff,
                    1 => 0,
                    _ => rng.random(),
                };
            }
            let mut forged = bytes[..head].to_vec();
            forged.extend_from_slice(&checksum(&body).to_le_bytes());
            forged.extend_from_slice(&(body.len() as u64).to_le_bytes());
            forged.extend_from_slice(&body);
            if let Some(s) = decode(&forged, &stamp) {
                decoded += 1;
                // Whatever decoded is consistent enough to serve: every neighbour is an item.
                for i in 0..s.len() as u32 {
                    assert!(s
                        .item(i)
                        .related
                        .iter()
                        .all(|&(j, _)| (j as usize) < s.len()));
                    let _ = s.full_record(i);
                }
            }
        }
        // Most changes land in numbers (prices, weights) and still decode; the rest are refused.
        assert!(decoded > 0 && decoded < 3_000, "{decoded}");
    }
}
