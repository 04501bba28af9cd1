//! Go `strconv.ParseFloat(s, 64)`, the numeric gate of Flux's numerical policy.
//!
//! Flux fails the WHOLE numerical policy when one value does not parse, so the
//! accepted language must be Go's exactly, and Rust's `f64::from_str` is not it:
//! Go accepts `1_000` (underscores between digits), hex floats with a mandatory
//! `p` exponent (`0x1p-2`), `inf`/`infinity`/`nan` in any case; it rejects
//! `0x10` (no `p`), `+nan`, and reports `1e400` as a range error (Flux treats
//! that as unparsable) while underflow silently rounds to zero.
//!
//! Decimal values are converted by Rust's correctly-rounded parser once the
//! syntax has been validated the Go way (both round to nearest, so the values
//! agree). Hex values are converted here with round-half-to-even on a 64-bit
//! mantissa plus a sticky bit, which is what IEEE correct rounding needs.

/// Go `strconv.ParseFloat(s, 64)`: `None` wherever Go returns an error
/// (syntax or range).
pub fn parse_go_float(s: &str) -> Option<f64> {
    if let Some(v) = special(s) {
        return Some(v);
    }
    let b = s.as_bytes();
    let (neg, body) = match b.first()? {
        b'+' => (false, &b[1..]),
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let hex = body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x';
    let value = if hex {
        parse_hex(&body[2..])?
    } else {
        parse_decimal(body)?
    };
    if !underscores_ok(s.as_bytes()) {
        return None;
    }
    if value.is_infinite() {
        return None;
    }
    Some(if neg { -value } else { value })
}

/// `inf`, `infinity` (optionally signed) and `nan` (unsigned), any case, and
/// nothing after them.
fn special(s: &str) -> Option<f64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => (0.0, s),
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        return Some(if sign < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if sign == 0.0 && rest.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    None
}

/// Decimal mantissa `digits[.digits]` (at least one digit) with optional
/// `e[+-]digits`; underscores are skipped here and judged by `underscores_ok`.
fn parse_decimal(body: &[u8]) -> Option<f64> {
    let mut clean = String::with_capacity(body.len());
    let mut i = 0;
    let mut saw_digit = false;
    let mut saw_dot = false;
    while i < body.len() {
        match body[i] {
            b'_' => {}
            b'.' if !saw_dot => {
                saw_dot = true;
                clean.push('.');
            }
            c @ b'0'..=b'9' => {
                saw_digit = true;
                clean.push(c as char);
            }
            _ => break,
        }
        i += 1;
    }
    if !saw_digit {
        return None;
    }
    if i < body.len() && (body[i] | 0x20) == b'e' {
        clean.push('e');
        i += 1;
        i = push_exponent(body, i, &mut clean)?;
    }
    if i != body.len() {
        return None;
    }
    clean.parse::<f64>().ok()
}

/// Exponent sign and digits (underscores allowed, judged later). Go stops
/// accumulating at 10000, which only saturates the result; the same is done
/// here so that huge exponents cannot overflow the text handed to Rust.
fn push_exponent(body: &[u8], mut i: usize, out: &mut String) -> Option<usize> {
    if i < body.len() && (body[i] == b'+' || body[i] == b'-') {
        out.push(body[i] as char);
        i += 1;
    }
    if i >= body.len() || !body[i].is_ascii_digit() {
        return None;
    }
    let mut e: u32 = 0;
    while i < body.len() && (body[i].is_ascii_digit() || body[i] == b'_') {
        if body[i] != b'_' && e < 10000 {
            e = e * 10 + u32::from(body[i] - b'0');
        }
        i += 1;
    }
    out.push_str(&e.to_string());
    Some(i)
}

/// Hex mantissa (after `0x`), mandatory `p` binary exponent.
fn parse_hex(body: &[u8]) -> Option<f64> {
    let mut mant: u64 = 0;
    let mut kept = 0u32; // significant hex digits held in `mant` (max 16)
    let mut sticky = false; // a dropped digit was non-zero
    let mut exp2: i64 = 0; // binary exponent adjustment
    let mut saw_digit = false;
    let mut saw_dot = false;
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        let d = match c {
            b'_' => {
                i += 1;
                continue;
            }
            b'.' if !saw_dot => {
                saw_dot = true;
                i += 1;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => break,
        };
        saw_digit = true;
        if mant == 0 && d == 0 {
            // Leading zeros carry no bits; only their position matters.
            if saw_dot {
                exp2 -= 4;
            }
        } else if kept < 16 {
            mant = mant * 16 + u64::from(d);
            kept += 1;
            if saw_dot {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !saw_dot {
                exp2 += 4;
            }
        }
        i += 1;
    }
    if !saw_digit || i >= body.len() || (body[i] | 0x20) != b'p' {
        return None;
    }
    i += 1;
    let mut text = String::new();
    i = push_exponent(body, i, &mut text)?;
    if i != body.len() {
        return None;
    }
    let e: i64 = text.parse().ok()?;
    Some(round_binary(mant, sticky, exp2 + e))
}

/// `mant * 2^exp` (plus a sticky fraction below `mant`'s last bit) rounded to
/// the nearest f64, ties to even; infinity on overflow.
fn round_binary(mant: u64, sticky: bool, exp: i64) -> f64 {
    if mant == 0 {
        return 0.0;
    }
    let lz = mant.leading_zeros();
    let m = mant << lz; // top bit at 63
    let e = exp - i64::from(lz); // value = m * 2^e
    let top = e + 63; // exponent of the leading bit
                      // Bits of `m` to drop so that the result has 53 (normal) or fewer
                      // (subnormal: unit 2^-1074) significant bits.
    let drop: i64 = if top >= -1022 { 11 } else { 11 + (-1022 - top) };
    let (mut q, half, above_half) = if drop >= 64 {
        // Everything is below the unit: only rounding up to the smallest
        // subnormal is possible, when the value is above half of it.
        let half = drop == 64 && (m >> 63) == 1;
        let above = half && ((m << 1) != 0 || sticky);
        (0u64, half && !above, above)
    } else {
        let q = m >> drop;
        let rem = m & ((1u64 << drop) - 1);
        let halfway = 1u64 << (drop - 1);
        let exact_half = rem == halfway && !sticky;
        let above = rem > halfway || (rem == halfway && sticky);
        (q, exact_half, above)
    };
    if above_half || (half && q & 1 == 1) {
        q += 1;
    }
    if top >= -1022 {
        // Normal: q has 53 bits, or 54 after a carry.
        let mut biased = top + 1023;
        if q >> 53 != 0 {
            q >>= 1;
            biased += 1;
        }
        if biased >= 2047 {
            return f64::INFINITY;
        }
        f64::from_bits(((biased as u64) << 52) | (q & ((1u64 << 52) - 1)))
    } else {
        // Subnormal: q counts units of 2^-1074; a carry into bit 52 is
        // exactly the smallest normal, whose bit pattern is the same number.
        f64::from_bits(q)
    }
}

/// Go's `underscoreOK`: an underscore must sit between digits (a base prefix
/// counts as a digit), never first, last or next to a non-digit.
fn underscores_ok(s: &[u8]) -> bool {
    if !s.contains(&b'_') {
        return true;
    }
    let mut s = s;
    if let Some(b'+' | b'-') = s.first() {
        s = &s[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = (s[1] | 0x20) == b'x';
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> f64 {
        parse_go_float(s).unwrap_or_else(|| panic!("Go accepts {s:?}"))
    }

    #[test]
    fn accepts_go_forms() {
        assert_eq!(ok("+7"), 7.0);
        assert_eq!(ok("-3"), -3.0);
        assert_eq!(ok("1e3"), 1000.0);
        assert_eq!(ok("1E+3"), 1000.0);
        assert_eq!(ok("1_000"), 1000.0);
        assert_eq!(ok("1_000.000_1"), 1000.0001);
        assert_eq!(ok("0_1"), 1.0);
        assert_eq!(ok("1e1_0"), 1e10);
        assert_eq!(ok(".5"), 0.5);
        assert_eq!(ok("5."), 5.0);
        assert_eq!(ok("1.e2"), 100.0);
        assert_eq!(ok("0x1.p1"), 2.0);
        assert_eq!(ok("0x0p0"), 0.0);
        assert_eq!(ok("-0"), 0.0);
        assert_eq!(ok("007"), 7.0);
        assert_eq!(ok("Inf"), f64::INFINITY);
        assert_eq!(ok("-inf"), f64::NEG_INFINITY);
        assert_eq!(ok("+Infinity"), f64::INFINITY);
        assert_eq!(ok("infinity"), f64::INFINITY);
        assert!(ok("NaN").is_nan());
        assert!(ok("nan").is_nan());
        assert_eq!(ok("0x1p-2"), 0.25);
        assert_eq!(ok("0X1.8P1"), 3.0);
        assert_eq!(ok("0x_1p0"), 1.0);
        assert_eq!(ok("0x.8p1"), 1.0);
        assert_eq!(ok("0x1p-1074"), 5e-324);
        assert_eq!(ok("1e-400"), 0.0); // underflow is not an error in Go
        assert_eq!(ok("20250120"), 20250120.0);
        assert_eq!(ok("1.7976931348623157e308"), f64::MAX);
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "",
            " 1",
            "1 ",
            "0x10",
            "0x",
            "0xp1",
            "1e400",
            "-1e400",
            "0x1p2000",
            "+nan",
            "-NaN",
            "infin",
            "infinityx",
            "1_",
            "_1",
            "1__0",
            "1_.5",
            "1._5",
            "1e",
            "1e+",
            ".",
            "e1",
            "1.2.3",
            "0b101",
            "0o7",
            "1,5",
            "abc",
            "v1",
            "1f",
            "--1",
            "+-1",
            "1e1_",
            "0x1p",
            "0x1.p1_",
            "release-5.2.6",
        ] {
            assert_eq!(parse_go_float(bad).map(|_| ()), None, "Go rejects {bad:?}");
        }
    }

    #[test]
    fn hex_rounding_matches_ieee() {
        // 2^53 + 1 is not representable: ties to even goes down.
        assert_eq!(ok("0x20000000000001p0"), 9007199254740992.0);
        // 2^53 + 3 rounds up to 2^53 + 4.
        assert_eq!(ok("0x20000000000003p0"), 9007199254740996.0);
        // More than 16 hex digits: dropped non-zero digits act as sticky.
        assert_eq!(ok("0x20000000000001.0001p0"), 9007199254740994.0);
        assert_eq!(ok("0x200000000000010001p-8"), 2305843009213694464.0);
        assert_eq!(ok("0x1.fffffffffffffp1023"), f64::MAX);
        assert_eq!(ok("0x1p-1075"), 0.0); // exact half of the smallest subnormal: even
        assert_eq!(ok("0x1.0000000001p-1075"), 5e-324);
        assert_eq!(ok("0x1p-1022"), f64::MIN_POSITIVE);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// On plain decimal text both parsers round correctly, so they agree.
            #[test]
            fn agrees_with_rust_on_plain_decimals(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
                for text in [format!("{x}"), format!("{x:e}"), format!("{x:.3}")] {
                    prop_assert_eq!(parse_go_float(&text), text.parse::<f64>().ok(), "{}", text);
                }
            }

            /// Go allows an underscore between any two digits.
            #[test]
            fn digit_underscores_are_transparent(n in 10u64..1_000_000_000, cut in 1usize..9) {
                let digits = n.to_string();
                let cut = cut.min(digits.len() - 1);
                let with = format!("{}_{}", &digits[..cut], &digits[cut..]);
                prop_assert_eq!(parse_go_float(&with), Some(n as f64));
            }

            /// Hex floats equal mantissa * 2^exp whenever that is exact.
            #[test]
            fn hex_floats_exact(m in 0u64..(1 << 53), e in -60i32..60) {
                let text = format!("0x{m:x}p{e}");
                prop_assert_eq!(parse_go_float(&text), Some(m as f64 * 2f64.powi(e)));
            }
        }
    }
}
