//! Catalog CSV: `item_id,title,category,brand,price,tags,in_stock` (tags `;`-separated), plus
//! optional `margin`, `popularity`, `repeat_rate` (0..1), `embedding` (`;`-separated floats) and
//! `related` (`id:weight;id:weight`). Only `item_id` is required: an absent or empty title, category,
//! brand, price or tag list means unknown (price 0), and the features that need it read 0.

use super::validate;
use crate::csvio::{Row, Rows};
use crate::error::{Error, Result};
use crate::types::{Item, RelatedItem};
use std::io::Read;
use std::path::Path;

const REQUIRED: &[&str] = &["item_id"];

fn split(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(';').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_item(row: &Row<'_>) -> Result<Item> {
    // Empty = unknown, stored as 0 (price features read 0 for it).
    let price = row.parse::<f64>("price")?.unwrap_or(0.0);
    let embedding = match row.get("embedding") {
        "" => None,
        raw => Some(
            split(raw)
                .map(|v| v.parse::<f32>())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| Error::invalid("column `embedding`: use `;`-separated numbers"))?,
        ),
    };
    let related = split(row.get("related"))
        .map(|pair| {
            let (id, w) = pair.rsplit_once(':').unwrap_or((pair, "1"));
            let weight = w.parse::<f64>().map_err(|_| {
                Error::invalid(format!("column `related`: {pair:?} is not `id:weight`"))
            })?;
            Ok(RelatedItem {
                item_id: id.to_string(),
                weight,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let item = Item {
        id: row.get("item_id").to_string(),
        title: row.get("title").to_string(),
        category: row.get("category").to_string(),
        brand: row.get("brand").to_string(),
        price,
        tags: split(row.get("tags")).map(str::to_string).collect(),
        in_stock: row.flag("in_stock", true)?,
        margin: row.parse("margin")?,
        embedding,
        popularity: row.parse("popularity")?.unwrap_or(0.0),
        repeat_rate: row.parse("repeat_rate")?,
        related,
    };
    validate::item(&item)?;
    Ok(item)
}

/// Parse a whole catalog; the first bad line aborts with its line number.
pub fn read<R: Read>(input: R) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    Rows::new(input, "catalog CSV", REQUIRED)?.for_each(|row| {
        items.push(parse_item(row)?);
        Ok(())
    })?;
    validate::batch(&items, None)?;
    Ok(items)
}

pub fn read_path(path: &Path) -> Result<Vec<Item>> {
    read(crate::csvio::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_interchange_format_and_extras() {
        let csv = "item_id,title,category,brand,price,tags,in_stock,embedding,related\n\
                   a,Mug,kitchen,acme,3.5,red;mug,true,1;0,b:2\n\
                   b,\"Plate, blue\",,,1,,false,,\n";
        let items = read(csv.as_bytes()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].tags, vec!["red", "mug"]);
        assert_eq!(items[0].embedding, Some(vec![1.0, 0.0]));
        assert_eq!(items[0].related[0].item_id, "b");
        assert_eq!(items[1].title, "Plate, blue");
        assert!(!items[1].in_stock);
    }

    #[test]
    fn errors_name_the_line() {
        let csv = "item_id,title,price\na,A,1\nb,B,NaN\n";
        let err = read(csv.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("price"), "{err}");
        let csv = "item_id,title,price\na,A,1\nb,B,abc\n";
        let err = read(csv.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("abc"), "{err}");
        let err = read("title,price\n".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("missing column `item_id`"), "{err}");
        let csv = "item_id,title,price,tags,in_stock\na,A,,x,true\nb,B,2,y,maybe\n";
        let err = read(csv.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("in_stock"), "{err}");
        let csv = "item_id,price\na,1\nb,-4\n";
        let err = read(csv.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("price"), "{err}");
        let err = read("item_id,title,price\na,A,1\na,B,2\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("twice"), "{err}");
        let err = read("item_id,title,price\na,A,1,5\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn only_the_id_is_required_and_empty_means_unknown() {
        let items = read("item_id\n1\n2\n".as_bytes()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].price, items[0].title.as_str()), (0.0, ""));
        assert!(items[0].category.is_empty() && items[0].brand.is_empty());
        assert!(items[0].tags.is_empty() && items[0].in_stock);
        let csv = "item_id,title,category,brand,price,tags\n7,,,,,a1;a2\n8,Kite,toys,,,\n";
        let items = read(csv.as_bytes()).unwrap();
        assert_eq!(items[0].tags, vec!["a1", "a2"]);
        assert_eq!((items[1].category.as_str(), items[1].price), ("toys", 0.0));
    }
}
