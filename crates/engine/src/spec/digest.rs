//! pyhf's workspace digest, byte for byte.
//!
//! pyhf identifies a background-only workspace by `pyhf.utils.digest(workspace)` (pyhf 0.7,
//! `pyhf/utils.py`), and a patchset records it in `metadata.digests` to say which workspace its
//! signal patches belong to:
//!
//! ```python
//! hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode('utf8')).hexdigest()
//! ```
//!
//! That is Python's *default* separators (`", "` and `": "`), keys sorted by code point,
//! non-ASCII characters written as UTF-8 (not `\uXXXX`), and numbers as Python writes them:
//! integers as integers, floats as `repr` does (shortest digits that read back to the same
//! double, `1e-05` and `1.5e+16` outside 1e-4 <= |x| < 1e16, `100.0` for integral floats).
//! So the digest is computed from the parsed JSON value, where integers are still integers,
//! never from the typed workspace.
//!
//! Known limit: an integer beyond the 64-bit range is read by serde_json as a float, so its
//! digest would differ from pyhf's; no HistFactory workspace carries such numbers.

use std::fmt::Write as _;

use md5::Md5;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest as _, Sha224, Sha256, Sha384, Sha512};

/// Hash algorithms of `pyhf digest --algorithm` (`hashlib` names); a patchset records sha256 or
/// md5 in `metadata.digests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Sha256,
    Md5,
    Sha1,
    Sha224,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    /// Every algorithm, by its `hashlib` name.
    pub const ALL: [DigestAlgorithm; 6] = [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Md5,
        DigestAlgorithm::Sha1,
        DigestAlgorithm::Sha224,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ];

    /// The name pyhf uses as the key in `metadata.digests` (a `hashlib` name).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Md5 => "md5",
            DigestAlgorithm::Sha1 => "sha1",
            DigestAlgorithm::Sha224 => "sha224",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        DigestAlgorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// `pyhf.utils.digest(value)`: the sha256 hex digest pyhf gives this workspace (or any JSON).
pub fn digest(value: &Value) -> String {
    digest_with(value, DigestAlgorithm::Sha256)
}

/// `pyhf.utils.digest(value, algorithm=...)`, lower-case hex.
pub fn digest_with(value: &Value, algorithm: DigestAlgorithm) -> String {
    let text = python_json_dumps(value);
    hash_hex(algorithm, text.as_bytes())
}

/// The hex digest of `bytes` with `algorithm`, lower-case.
pub fn hash_hex(algorithm: DigestAlgorithm, bytes: &[u8]) -> String {
    match algorithm {
        DigestAlgorithm::Sha256 => hex(&Sha256::digest(bytes)),
        DigestAlgorithm::Md5 => hex(&Md5::digest(bytes)),
        DigestAlgorithm::Sha1 => hex(&Sha1::digest(bytes)),
        DigestAlgorithm::Sha224 => hex(&Sha224::digest(bytes)),
        DigestAlgorithm::Sha384 => hex(&Sha384::digest(bytes)),
        DigestAlgorithm::Sha512 => hex(&Sha512::digest(bytes)),
    }
}

/// The text of Python's `json.dumps(value, sort_keys=True, ensure_ascii=False)`.
pub fn python_json_dumps(value: &Value) -> String {
    let mut dumper = Dumper { out: String::with_capacity(1 << 16), scratch: String::new(), pretty: false, depth: 0 };
    dumper.value(value);
    dumper.out
}

/// The text of Python's `json.dumps(value, indent=4, sort_keys=True)`, what pyhf's CLI writes
/// (`pyhf prune ... --output-file`): items on their own lines, indented by four spaces per
/// level, separators `","` and `": "`, and every character outside printable ASCII escaped
/// (`\u00e9`, astral characters as a surrogate pair), as `ensure_ascii=True` does.
pub fn python_json_dumps_pretty(value: &Value) -> String {
    let mut dumper = Dumper { out: String::with_capacity(1 << 16), scratch: String::new(), pretty: true, depth: 0 };
    dumper.value(value);
    dumper.out
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Writes JSON as Python does; `scratch` is reused for formatting floats. `pretty`: indent=4
/// and ensure_ascii=True; else one line and ensure_ascii=False.
struct Dumper {
    out: String,
    scratch: String,
    pretty: bool,
    depth: usize,
}

impl Dumper {
    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(true) => self.out.push_str("true"),
            Value::Bool(false) => self.out.push_str("false"),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    let _ = write!(self.out, "{u}");
                } else if let Some(i) = n.as_i64() {
                    let _ = write!(self.out, "{i}");
                } else if let Some(f) = n.as_f64() {
                    write_float(&mut self.out, &mut self.scratch, f);
                }
            }
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                if items.is_empty() {
                    self.out.push_str("[]");
                    return;
                }
                self.out.push('[');
                self.depth += 1;
                for (i, item) in items.iter().enumerate() {
                    self.separator(i);
                    self.value(item);
                }
                self.depth -= 1;
                self.newline();
                self.out.push(']');
            }
            Value::Object(map) => {
                if map.is_empty() {
                    self.out.push_str("{}");
                    return;
                }
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                // Python sorts str by code point, which is the byte order of UTF-8.
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                self.out.push('{');
                self.depth += 1;
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    self.separator(i);
                    self.string(key);
                    self.out.push_str(": ");
                    self.value(item);
                }
                self.depth -= 1;
                self.newline();
                self.out.push('}');
            }
        }
    }

    /// Before the `i`-th item of an array or object.
    fn separator(&mut self, i: usize) {
        if i > 0 {
            self.out.push_str(if self.pretty { "," } else { ", " });
        }
        self.newline();
    }

    /// A new line at the current depth (pretty only).
    fn newline(&mut self) {
        if self.pretty {
            self.out.push('\n');
            self.out.extend(std::iter::repeat_n(' ', 4 * self.depth));
        }
    }

    fn string(&mut self, s: &str) {
        if self.pretty {
            write_python_ascii_string(&mut self.out, s);
        } else {
            write_python_string(&mut self.out, s);
        }
    }
}

/// The two-character escapes of Python's `json.dumps`: `"`, `\\` and five control characters.
fn short_escape(c: char) -> Option<&'static str> {
    Some(match c {
        '"' => "\\\"",
        '\\' => "\\\\",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\u{08}' => "\\b",
        '\u{0c}' => "\\f",
        _ => return None,
    })
}

/// A string as `json.dumps(..., ensure_ascii=True)` writes it: printable ASCII as it is, `"`
/// and `\` and the usual control characters escaped, everything else as `\uXXXX` (UTF-16).
fn write_python_ascii_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match (short_escape(c), c) {
            (Some(e), _) => out.push_str(e),
            (None, ' '..='~') => out.push(c),
            (None, c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// A string as `json.dumps(..., ensure_ascii=False)` writes it: only `"`, `\` and the control
/// characters below U+0020 are escaped, with lower-case hex.
fn write_python_string(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| c == '"' || c == '\\' || c < '\u{20}') {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or('\0');
        match short_escape(c) {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
    out.push('"');
}

/// A float as Python's `repr` writes it (and so `json.dumps`), appended to `out`.
///
/// Python writes the shortest digits `d1 d2 ... dn` that read back to the same double, with
/// the decimal point after position `decpt`: in fixed notation when `-4 < decpt <= 16`, in
/// exponent notation (`d1.d2...dn e±XX`, at least two exponent digits) otherwise.
pub fn write_python_float(out: &mut String, x: f64) {
    write_float(out, &mut String::new(), x);
}

fn write_float(out: &mut String, scratch: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x == 0.0 {
        out.push_str("0.0");
        return;
    }
    let (digits, exponent) = shortest_digits(x.abs(), scratch);
    let digits = digits.as_str();
    let n = digits.len() as i32;
    let decpt = exponent + 1;
    if -4 < decpt && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-decpt) as usize));
            out.push_str(digits);
        } else if decpt >= n {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', (decpt - n) as usize));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt as usize]);
            out.push('.');
            out.push_str(&digits[decpt as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    }
}

/// Up to 17 significant decimal digits, kept on the stack.
struct Digits {
    buf: [u8; 24],
    len: usize,
}

impl Digits {
    fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }

    fn last(&self) -> u8 {
        self.buf[self.len - 1] - b'0'
    }
}

/// Reads `d.ddde±x` (Rust's `{:e}`) into its digits and decimal exponent.
fn parse_scientific(text: &str) -> (Digits, i32) {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let mut digits = Digits { buf: [b'0'; 24], len: 0 };
    for b in mantissa.bytes().filter(u8::is_ascii_digit).take(digits.buf.len()) {
        digits.buf[digits.len] = b;
        digits.len += 1;
    }
    (digits, exponent.parse().unwrap_or(0))
}

/// The shortest decimal digits that read back as `x` (positive, finite), and the decimal
/// exponent of the first digit: `x ~ d1.d2...dn * 10^exponent`.
///
/// Rust's `{:e}` gives the shortest digits closest to `x`, as Python does, but when `x` lies
/// exactly halfway between two shortest candidates Rust rounds up and Python (David Gay's
/// `dtoa`) to an even last digit: 811644461657863.25 is `...863.3` in Rust, `...863.2` in
/// Python. Such ties are found exactly and given Python's answer.
fn shortest_digits(x: f64, scratch: &mut String) -> (Digits, i32) {
    scratch.clear();
    let _ = write!(scratch, "{x:e}");
    let (mut digits, exponent) = parse_scientific(scratch);
    if digits.last() % 2 == 1 && is_tie(x, &digits, exponent, scratch) {
        // The even candidate below (last digit one less, trailing zeros dropped), when it
        // reads back as x too (it may not just above a power of two).
        let mut lower = Digits { buf: digits.buf, len: digits.len };
        lower.buf[lower.len - 1] -= 1;
        while lower.len > 1 && lower.buf[lower.len - 1] == b'0' {
            lower.len -= 1;
        }
        if reads_back(&lower, exponent, x) {
            digits = lower;
        }
    }
    (digits, exponent)
}

/// Whether `x` is exactly halfway between `digits` and the candidate one unit lower in the
/// last place, i.e. its exact decimal expansion is those digits, the last one less, then 5.
fn is_tie(x: f64, digits: &Digits, exponent: i32, scratch: &mut String) -> bool {
    let n = digits.len;
    let mut midpoint = [0u8; 25];
    midpoint[..n].copy_from_slice(&digits.buf[..n]);
    midpoint[n - 1] -= 1;
    midpoint[n] = b'5';
    let midpoint = &midpoint[..=n];
    // x = m * 2^e with m odd.
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if biased == 0 { (fraction, -1074) } else { (fraction | (1u64 << 52), biased - 1075) };
    let zeros = m.trailing_zeros();
    m >>= zeros;
    e += zeros as i32;
    let exact_digits_are = |text: &str| {
        let (ds, ex) = parse_scientific(text);
        ex == exponent && ds.buf[..ds.len] == *midpoint
    };
    if e < 0 {
        // The expansion ends at the (-e)-th decimal place: it has this many significant digits.
        let significant = i64::from(exponent) + 1 - i64::from(e);
        if significant != n as i64 + 1 {
            return false;
        }
        // With exactly n + 1 significant digits, rounding to n + 1 digits is exact.
        scratch.clear();
        let _ = write!(scratch, "{x:.n$e}");
        exact_digits_are(scratch)
    } else if e <= 64 {
        // An integer below 2^117: its digits exactly.
        let mut integer = (u128::from(m) << e).to_string();
        let len = integer.len();
        while integer.ends_with('0') {
            integer.pop();
        }
        len as i32 - 1 == exponent && integer.as_bytes() == midpoint
    } else {
        // Huge integers: the full expansion (at most 767 significant digits for a double).
        scratch.clear();
        let _ = write!(scratch, "{x:.800e}");
        let (mantissa, ex) = scratch.split_once('e').unwrap_or((scratch.as_str(), "0"));
        let all: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        ex.parse() == Ok(exponent) && all.starts_with(midpoint) && all[midpoint.len()..].iter().all(|&b| b == b'0')
    }
}

fn reads_back(digits: &Digits, exponent: i32, x: f64) -> bool {
    let (first, rest) = digits.as_str().split_at(1);
    let text = if rest.is_empty() { format!("{first}e{exponent}") } else { format!("{first}.{rest}e{exponent}") };
    text.parse::<f64>() == Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repr(x: f64) -> String {
        let mut s = String::new();
        write_python_float(&mut s, x);
        s
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the exact doubles are the point
    fn floats_look_like_python_repr() {
        // Expected strings are Python 3's repr of the same doubles.
        let cases = [
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e-7, "1e-07"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1234567890123456.7, "1234567890123456.8"),
            (-2.5e-300, "-2.5e-300"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.30000000000000004, "0.30000000000000004"),
            // exactly halfway between two shortest candidates: Python picks the even digit
            (811644461657863.25, "811644461657863.2"),
            (-192508603118315.625, "-192508603118315.62"),
            (811644461657863.75, "811644461657863.8"),
            (0.125, "0.125"),
            (2.5, "2.5"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (x, expected) in cases {
            assert_eq!(repr(x), expected, "repr of {x:e}");
        }
    }

    #[test]
    fn dumps_like_python_with_sorted_keys_and_default_separators() {
        let v = json!({"b": [1, 2.0, -3], "a": {"y": null, "x": true}, "é": "ü\n\"\\\u{1}"});
        assert_eq!(
            python_json_dumps(&v),
            "{\"a\": {\"x\": true, \"y\": null}, \"b\": [1, 2.0, -3], \"é\": \"ü\\n\\\"\\\\\\u0001\"}"
        );
    }

    #[test]
    fn pyhf_docstring_example() {
        // From pyhf.utils.digest's docstring.
        let v = json!({"a": 2.0, "b": 3.0, "c": 1.0});
        assert_eq!(digest(&v), "a38f6093800189b79bc22ef677baf90c75705af2cfc7ff594159eca54eaa7928");
        assert_eq!(digest_with(&v, DigestAlgorithm::Md5), "2c0633f242928eb55c3672fed5ba8612");
    }
}
