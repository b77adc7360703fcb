//! Reading the interchange CSV files (plain or gzip), with line numbers in every error.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Open a file, transparently gunzipping it when it starts with the gzip magic bytes.
pub fn open(path: &Path) -> Result<Box<dyn Read>> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::NotFound(format!("cannot open {}: {e}", path.display())))?;
    let mut reader = BufReader::new(file);
    let gz = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

/// Rows of a headed CSV as (line number, field lookup by column name).
pub struct Rows<R: Read> {
    reader: csv::Reader<R>,
    columns: HashMap<String, usize>,
    what: &'static str,
}

impl<R: Read> Rows<R> {
    /// `required` columns must be in the header; others are optional.
    pub fn new(input: R, what: &'static str, required: &[&str]) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
        let header = reader
            .headers()
            .map_err(|e| Error::invalid(format!("{what}: cannot read the header line: {e}")))?;
        let columns: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
            .collect();
        for col in required {
            if !columns.contains_key(*col) {
                return Err(Error::invalid(format!(
                    "{what}: line 1: missing column `{col}` (the header needs {})",
                    required.join(",")
                )));
            }
        }
        Ok(Rows {
            reader,
            columns,
            what,
        })
    }

    /// Whether the header has this (lower-case) column.
    pub fn has_column(&self, column: &str) -> bool {
        self.columns.contains_key(column)
    }

    /// Call `f` for each record with its 1-based line number.
    pub fn for_each(mut self, mut f: impl FnMut(&Row<'_>) -> Result<()>) -> Result<()> {
        let mut record = csv::StringRecord::new();
        loop {
            let more = self.reader.read_record(&mut record).map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                Error::invalid(format!("{}: line {line}: {e}", self.what))
            })?;
            if !more {
                return Ok(());
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let row = Row {
                record: &record,
                columns: &self.columns,
            };
            f(&row).map_err(|e| match e {
                Error::Invalid(m) if !m.contains(": line ") => {
                    Error::invalid(format!("{}: line {line}: {m}", self.what))
                }
                other => other,
            })?;
        }
    }
}

pub struct Row<'a> {
    record: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl Row<'_> {
    /// The trimmed field, or "" when the column is absent.
    pub fn get(&self, column: &str) -> &str {
        self.columns
            .get(column)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }

    pub fn parse<T: std::str::FromStr>(&self, column: &str) -> Result<Option<T>> {
        let raw = self.get(column);
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse::<T>()
            .map(Some)
            .map_err(|_| Error::invalid(format!("column `{column}`: cannot parse {raw:?}")))
    }

    pub fn flag(&self, column: &str, default: bool) -> Result<bool> {
        match self.get(column).to_ascii_lowercase().as_str() {
            "" => Ok(default),
            "true" | "1" | "yes" | "y" => Ok(true),
            "false" | "0" | "no" | "n" => Ok(false),
            other => Err(Error::invalid(format!(
                "column `{column}`: {other:?} is not a boolean (use true or false)"
            ))),
        }
    }
}
