//! Decimal text for `f64`: the Float text representation (LwM2M TS Core 1.2 Appendix C,
//! "Text Format": a signed decimal number) and the `gt` / `lt` / `st` notification
//! attributes (§5.1.2).
//!
//! With the `float-text` feature this is `core`'s float formatting and parsing (shortest
//! round-trip output, correctly rounded input, about 20 KB of code on a Cortex-M). Without it,
//! a compact version: output has at most 9 significant digits (`1/3` prints `0.333333333`),
//! input is exact up to 19 significant digits and decimal exponents within ±22 and otherwise
//! off by a few units in the last place. Both accept and print the same syntax.

use alloc::string::String;

/// Parses `[+-]digits[.digits][(e|E)[+-]digits]` (at least one digit before the exponent).
/// Out-of-range magnitudes become infinity or zero, as `str::parse` does.
pub(crate) fn parse(s: &str) -> Option<f64> {
    #[cfg(feature = "float-text")]
    return s.parse().ok();
    #[cfg(not(feature = "float-text"))]
    return parse_compact(s);
}

/// Appends the decimal text of `f` (no exponent, as `Display` for `f64` writes it).
pub(crate) fn write(out: &mut String, f: f64) {
    #[cfg(feature = "float-text")]
    {
        use core::fmt::Write as _;
        let _ = write!(out, "{f}");
    }
    #[cfg(not(feature = "float-text"))]
    write_compact(out, f);
}

/// 10^n by repeated multiplication (exact up to 10^22).
#[cfg_attr(feature = "float-text", allow(dead_code))]
fn pow10(n: u32) -> f64 {
    let mut p = 1.0;
    for _ in 0..n {
        p *= 10.0;
    }
    p
}

#[cfg_attr(feature = "float-text", allow(dead_code))]
fn parse_compact(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (negative, mut i) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let mut mantissa: u64 = 0;
    let mut exp: i32 = 0;
    let mut any_digit = false;
    let mut after_point = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                any_digit = true;
                if mantissa < 1_000_000_000_000_000_000 {
                    mantissa = mantissa * 10 + u64::from(c - b'0');
                    if after_point {
                        exp -= 1;
                    }
                } else if !after_point {
                    // Digits beyond the 19th only scale the integer part.
                    exp = exp.saturating_add(1);
                }
            }
            b'.' if !after_point => after_point = true,
            _ => break,
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let negative_exp = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut e: i32 = 0;
        let mut any_exp_digit = false;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            any_exp_digit = true;
            e = (e * 10 + i32::from(c - b'0')).min(100_000);
            i += 1;
        }
        if !any_exp_digit {
            return None;
        }
        exp = exp.saturating_add(if negative_exp { -e } else { e });
    }
    if i != b.len() {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // rounds above 2^53, as documented
    let mut f = mantissa as f64;
    while exp > 0 && f.is_finite() {
        let step = exp.min(22);
        f *= pow10(step.unsigned_abs());
        exp -= step;
    }
    while exp < 0 && f != 0.0 {
        let step = (-exp).min(22);
        f = divide(f, pow10(step.unsigned_abs()));
        exp += step;
    }
    Some(if negative { -f } else { f })
}

/// The significand in `[2^52, 2^53)` and the exponent of its last bit of a positive
/// finite `f` (subnormals normalized): `f = m · 2^e`.
#[cfg_attr(feature = "float-text", allow(dead_code))]
fn unpack(f: f64) -> (u64, i32) {
    let bits = f.to_bits();
    let field = ((bits >> 52) & 0x7FF) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    if field == 0 {
        let shift = fraction.leading_zeros().saturating_sub(11);
        (fraction << shift, -1074 - shift as i32)
    } else {
        (fraction | (1u64 << 52), field - 1075)
    }
}

/// `a / b` for positive finite `a` and `b >= 1`, correctly rounded (to nearest, ties to
/// even) as IEEE 754 division is, with integer arithmetic: the two float uses that divide
/// (scaling by powers of ten) link no soft-float division routine.
#[cfg_attr(feature = "float-text", allow(dead_code))]
fn divide(a: f64, b: f64) -> f64 {
    let (mut ma, ea) = unpack(a);
    let (mb, eb) = unpack(b);
    // The quotient's unbiased exponent, with ma / mb in [1, 2).
    let mut exponent = ea - eb;
    if ma < mb {
        ma <<= 1;
        exponent -= 1;
    }
    // 55 quotient bits (the leading one, 52 more, a guard and a round bit) by restoring
    // division; what remains makes the sticky bit.
    let mut q = 0u64;
    let mut r = ma;
    for _ in 0..55 {
        let bit = r >= mb;
        if bit {
            r -= mb;
        }
        q = (q << 1) | u64::from(bit);
        r <<= 1;
    }
    let sticky = r != 0;
    // A normal result keeps 53 bits; a subnormal one fewer (down to none: zero).
    let normal = exponent >= -1022;
    let shift = if normal {
        2
    } else {
        (-1020 - exponent).unsigned_abs()
    };
    if shift > 56 {
        return 0.0;
    }
    let mut m = q >> shift;
    let rest = q & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    if rest > half || (rest == half && (sticky || m & 1 == 1)) {
        m += 1;
    }
    // The significand's leading one adds one to the exponent field (and a rounding carry
    // to 2^53 one more), so the field is written one lower.
    let field = if normal {
        u64::from((exponent + 1022).unsigned_abs()) << 52
    } else {
        0
    };
    f64::from_bits(field + m)
}

/// Appends the decimal digits of `n`.
#[cfg_attr(feature = "float-text", allow(dead_code))]
fn push_u64(out: &mut String, n: u64) {
    out.push_str(crate::ascii::u64_text(n).as_str());
}

#[cfg_attr(feature = "float-text", allow(dead_code))]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn write_compact(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    let a = f.abs();
    if a.is_infinite() {
        out.push_str("inf");
        return;
    }
    if a >= 1e9 {
        // The integer part: its leading 18 digits and zeros (f64 has under 18 significant
        // digits anyway).
        let mut scaled = a;
        let mut zeros = 0;
        while scaled >= 1e18 {
            scaled = divide(scaled, 10.0);
            zeros += 1;
        }
        push_u64(out, (scaled + 0.5) as u64);
        for _ in 0..zeros {
            out.push('0');
        }
        return;
    }
    if a == 0.0 {
        out.push('0');
        return;
    }
    // Scale to 9 significant digits: a = t / 10^k.
    let mut scaled = a;
    let mut k = 0usize;
    while scaled < 1e8 && k < 400 {
        scaled *= 10.0;
        k += 1;
    }
    let t = crate::ascii::u64_text((scaled + 0.5) as u64);
    let digits = t.as_str();
    // a = digits / 10^k: the digits before the point, or 0 and k - n zeros after it.
    let n = digits.len();
    match digits.get(..n.saturating_sub(k)) {
        Some(int) if !int.is_empty() => out.push_str(int),
        _ => out.push('0'),
    }
    let frac = digits.get(n.saturating_sub(k)..).unwrap_or("");
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        out.push('.');
        for _ in n..k {
            out.push('0');
        }
        out.push_str(frac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: f64) -> String {
        let mut s = String::new();
        write_compact(&mut s, f);
        s
    }

    #[test]
    fn integer_division_is_ieee_division() {
        // A small xorshift for reproducible operands over every exponent.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut divisors: alloc::vec::Vec<f64> = (1..=22).map(pow10).collect();
        divisors.extend([
            1.0,
            1.5,
            3.0,
            7.0,
            10.0,
            1e300,
            f64::MAX,
            1.000_000_000_000_000_2,
        ]);
        let mut n = 0;
        for _ in 0..40_000 {
            // Any positive finite double, subnormals included.
            let a = f64::from_bits(next() % 0x7FF0_0000_0000_0000).max(5e-324);
            let b = if next() % 2 == 0 {
                divisors[(next() % divisors.len() as u64) as usize]
            } else {
                f64::from_bits(0x3FF0_0000_0000_0000 + next() % 0x3FF0_0000_0000_0000)
            };
            assert_eq!(divide(a, b).to_bits(), (a / b).to_bits(), "{a:e} / {b:e}");
            n += 1;
        }
        // Ties and the subnormal edges.
        for (a, b) in [
            (5e-324, 1.0),
            (5e-324, 2.0),
            (1.5e-323, 2.0),
            (2.5e-323, 2.0),
            (f64::MIN_POSITIVE, 3.0),
            (f64::MIN_POSITIVE, 1.000_000_000_000_000_2),
            (3.0, 2.0),
            (1.0, 3.0),
            (9_007_199_254_740_993.0, 1.0),
            (f64::MAX, 1.0),
            (f64::MAX, 10.0),
            (123_456_789.0, 1e22),
        ] {
            assert_eq!(divide(a, b).to_bits(), (a / b).to_bits(), "{a:e} / {b:e}");
            n += 1;
        }
        assert_eq!(n, 40_012);
    }

    /// The digit placement before it wrote from a fixed buffer: the digits padded with
    /// zeros in a `String` and split at the point (the reference for the texts).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn text_by_padding(f: f64) -> String {
        let a = f.abs();
        if !(a > 0.0 && a < 1e9) {
            return text(f);
        }
        let mut out = String::from(if f < 0.0 { "-" } else { "" });
        let mut scaled = a;
        let mut k = 0usize;
        while scaled < 1e8 && k < 400 {
            scaled *= 10.0;
            k += 1;
        }
        let mut digits = alloc::format!("{}", (scaled + 0.5) as u64);
        while digits.len() <= k {
            digits.insert(0, '0');
        }
        let (int, frac) = digits.split_at(digits.len() - k);
        out.push_str(int);
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out
    }

    #[test]
    fn compact_output_places_the_point_as_padding_did() {
        let mut n = 0;
        for e in -330..12 {
            for m in [1.0, 1.5, 2.25, 9.999_999_999, core::f64::consts::PI, 7.0e-1] {
                let f = m * 10f64.powi(e);
                assert_eq!(text(f), text_by_padding(f), "{f:e}");
                assert_eq!(text(-f), text_by_padding(-f), "{f:e}");
                n += 1;
            }
        }
        assert_eq!(n, 342 * 6);
        assert_eq!(text(5e-324), text_by_padding(5e-324));
        assert_eq!(text(0.05), "0.05");
        assert_eq!(text(120.0), "120");
        assert_eq!(text(0.000_001_5), "0.0000015");
    }

    #[test]
    fn compact_output_of_short_decimals_is_the_decimal() {
        // Expected texts written out by hand.
        assert_eq!(text(21.5), "21.5");
        assert_eq!(text(0.5), "0.5");
        assert_eq!(text(100.0), "100");
        assert_eq!(text(-3.25), "-3.25");
        assert_eq!(text(0.0), "0");
        assert_eq!(text(-0.0), "-0");
        assert_eq!(text(6.667e-11), "0.00000000006667");
        assert_eq!(text(1.0 / 3.0), "0.333333333");
        assert_eq!(text(999_999_999.5), "1000000000");
        assert_eq!(text(1e9), "1000000000");
        assert_eq!(text(1.5e20), "150000000000000000000");
        assert_eq!(text(f64::INFINITY), "inf");
    }

    #[test]
    fn compact_input_matches_core_for_short_decimals() {
        for s in [
            "0",
            "21.5",
            "-21.5",
            "+7",
            ".5",
            "1.",
            "1e3",
            "1E-3",
            "6.667e-11",
            "0.1",
            "123456789.25",
            "1e22",
            "12345678901234567890123",
            "1e400",
            "1e-400",
        ] {
            let core: f64 = s.parse().unwrap_or(f64::NAN);
            assert_eq!(parse_compact(s), Some(core), "{s}");
        }
    }

    #[test]
    fn compact_input_refuses_what_is_not_a_number() {
        for s in [
            "", "-", ".", "e5", "1e", "1e+", "1.2.3", "1x", "inf", "NaN", "--1",
        ] {
            assert_eq!(parse_compact(s), None, "{s}");
        }
    }

    #[test]
    fn compact_output_reads_back_within_nine_digits() {
        for f in [0.1, 2.5e-7, 12345.678, -98765.4321, 3.0e-300] {
            let back = parse_compact(&text(f)).unwrap_or(f64::NAN);
            assert!(((back - f) / f).abs() < 1e-8, "{f} -> {}", text(f));
        }
    }
}
