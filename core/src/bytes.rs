//! Little-endian binary forms: the writer and the bounds-checked reader shared by the packed
//! rank page (`rank::packed`) and `catalog.image` (`catalog::image`). Each format keeps its own
//! layout and says what a failed read means; these only move numbers and strings.

/// Appends values in little-endian order.
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn with_capacity(bytes: usize) -> Writer {
        Writer(Vec::with_capacity(bytes))
    }

    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// A length as `u32` (saturating): both formats hold lists and strings far below 4 GiB.
    pub fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// A `u32` byte length, then the UTF-8 bytes.
    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
}

/// Reads values in little-endian order; every read is `None` past the end.
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader(bytes)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    /// A length written by `Writer::len`.
    pub fn len(&mut self) -> Option<usize> {
        Some(self.u32()? as usize)
    }

    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }

    pub fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.array()?))
    }

    /// The bytes of a string written by `Writer::str` (not yet checked to be UTF-8).
    pub fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }

    /// A string written by `Writer::str`; `None` also when it is not UTF-8.
    pub fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.str_bytes()?).ok()
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_and_reads_past_the_end_are_none() {
        let mut w = Writer::with_capacity(64);
        w.u8(7);
        w.len(3);
        w.u64(u64::MAX - 1);
        w.i64(-5);
        w.f32(0.25);
        w.f64(-1.5e300);
        w.str("ünï");
        let bytes = w.0;
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Some(7));
        assert_eq!(r.len(), Some(3));
        assert_eq!(r.u64(), Some(u64::MAX - 1));
        assert_eq!(r.array::<8>().map(i64::from_le_bytes), Some(-5));
        assert_eq!(r.array::<4>().map(f32::from_le_bytes), Some(0.25));
        assert_eq!(r.f64(), Some(-1.5e300));
        assert_eq!(r.str(), Some("ünï"));
        assert!(r.is_empty());
        assert_eq!(r.u8(), None);
        // A length beyond the bytes left, and bytes that are not UTF-8.
        assert_eq!(Reader::new(&[9, 0, 0, 0, b'a']).str(), None);
        assert_eq!(Reader::new(&[1, 0, 0, 0, 0xff]).str(), None);
        assert_eq!(
            Reader::new(&[1, 0, 0, 0, 0xff]).str_bytes(),
            Some(&[0xff][..])
        );
    }
}
