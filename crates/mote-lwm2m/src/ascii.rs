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
        push_byte(&mut self.buf, &mut self.len, b);
    }

    /// Appends the decimal digits of `n`.
    pub(crate) fn push_u64(&mut self, n: u64) {
        push_digits(&mut self.buf, &mut self.len, n);
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
        text(&self.buf, self.len)
    }
}

// The buffer operations on a slice: one copy of each for every buffer size `N`.

fn push_byte(buf: &mut [u8], len: &mut usize, b: u8) {
    if let Some(slot) = buf.get_mut(*len) {
        *slot = b;
        *len += 1;
    }
}

fn push_digits(buf: &mut [u8], len: &mut usize, n: u64) {
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
        push_byte(buf, len, d);
    }
}

fn text(buf: &[u8], len: usize) -> &str {
    core::str::from_utf8(buf.get(..len).unwrap_or(&[])).unwrap_or("")
}

/// `n` in decimal.
#[cfg(feature = "alloc")]
pub(crate) fn u64_text(n: u64) -> Ascii<20> {
    let mut a = Ascii::new();
    a.push_u64(n);
    a
}

/// The value of a non-empty run of ASCII digits (leading zeros allowed), `None` for an
/// empty text, any other byte, or a value above `u64::MAX`: what `str::parse::<u64>` gives
/// for unsigned digits, without core's generic integer parser.
#[cfg(feature = "alloc")]
pub(crate) fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// `[+-]digits` as an `i64`, what `str::parse::<i64>` accepts (one optional sign, at
/// least one digit, in range).
#[cfg(feature = "alloc")]
pub(crate) fn parse_i64(s: &str) -> Option<i64> {
    match s.strip_prefix('-') {
        Some(digits) => 0i64.checked_sub_unsigned(parse_digits(digits)?),
        None => i64::try_from(parse_digits(s.strip_prefix('+').unwrap_or(s))?).ok(),
    }
}

/// `[+]digits` as a `u64`, what `str::parse::<u64>` accepts.
#[cfg(feature = "alloc")]
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    parse_digits(s.strip_prefix('+').unwrap_or(s))
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_as_str_parse_does() {
        let mut cases: alloc::vec::Vec<alloc::string::String> = [
            "",
            "+",
            "-",
            "0",
            "-0",
            "+0",
            "00",
            "007",
            "+-1",
            "-+1",
            "--1",
            "++1",
            " 1",
            "1 ",
            "1_000",
            "1e3",
            "0x10",
            "١",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "+18446744073709551615",
            "-18446744073709551615",
            "99999999999999999999",
            "000000000000000000000000000001",
            "/",
            ":",
        ]
        .into_iter()
        .map(alloc::string::String::from)
        .collect();
        // Around every power of ten and two, with each sign.
        for p in 0..20u32 {
            let t = 10u64.pow(p);
            let b = 1u64 << (p * 3).min(63);
            for n in [t - 1, t, t + 1, b - 1, b, b + 1] {
                for sign in ["", "+", "-"] {
                    cases.push(alloc::format!("{sign}{n}"));
                }
            }
        }
        for s in &cases {
            assert_eq!(parse_i64(s), s.parse::<i64>().ok(), "i64 {s:?}");
            assert_eq!(parse_u64(s), s.parse::<u64>().ok(), "u64 {s:?}");
        }
    }

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
