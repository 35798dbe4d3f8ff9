//! Short ASCII texts — paths, object links, decimal integers — built in a fixed buffer
//! without `core::fmt`: a device build that prints paths and links (Discover, registration,
//! SenML names, plain text) links no formatting machinery for them.

/// A text of at most `N` ASCII bytes. Callers size `N` for their longest text (a longer
/// one is cut, never a panic).
pub(crate) struct Ascii<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Ascii<N> {
    pub(crate) const fn new() -> Self {
        Ascii {
            buf: [0; N],
            len: 0,
        }
    }

    /// Appends one ASCII byte.
    pub(crate) fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// Appends the decimal digits of `n`.
    pub(crate) fn push_u64(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        for &d in digits.get(i..).unwrap_or(&[]) {
            self.push(d);
        }
    }

    /// Appends `n` in decimal, with `-` when negative.
    #[cfg(feature = "alloc")]
    pub(crate) fn push_i64(&mut self, n: i64) {
        if n < 0 {
            self.push(b'-');
        }
        self.push_u64(n.unsigned_abs());
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

/// `n` in decimal.
#[cfg(feature = "alloc")]
pub(crate) fn u64_text(n: u64) -> Ascii<20> {
    let mut a = Ascii::new();
    a.push_u64(n);
    a
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn integers_in_decimal() {
        for (n, text) in [
            (0i64, "0"),
            (7, "7"),
            (10, "10"),
            (65535, "65535"),
            (-1, "-1"),
            (i64::MIN, "-9223372036854775808"),
            (i64::MAX, "9223372036854775807"),
        ] {
            let mut a = Ascii::<20>::new();
            a.push_i64(n);
            assert_eq!(a.as_str(), text);
        }
        assert_eq!(u64_text(u64::MAX).as_str(), "18446744073709551615");
        // Too long for the buffer: cut, not a panic.
        let mut short = Ascii::<3>::new();
        short.push_u64(12345);
        assert_eq!(short.as_str(), "123");
    }
}
