//! Python's `==` on JSON values as `json.load` gives them.
//!
//! pyhf's joins keep an item of the second workspace unless it is `in` the first's list, which
//! compares dictionaries with `==`: numbers by value (`1 == 1.0`), and `True == 1`,
//! `False == 0` since `bool` is an `int` in Python. serde_json's `==` tells `1` from `1.0`.

use serde_json::{Number, Value};

/// Whether Python would find the two values equal.
pub fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        (Value::Bool(x), Value::Number(n)) | (Value::Number(n), Value::Bool(x)) => {
            n.as_f64() == Some(f64::from(u8::from(*x)))
        }
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => false,
    }
}

/// Integers exactly, otherwise as doubles (Python compares an int and a float exactly; the two
/// differ only for integers beyond 2^53, which workspaces do not hold).
fn numbers_equal(x: &Number, y: &Number) -> bool {
    match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
        (Some(a), Some(b), _, _) => a == b,
        (_, _, Some(a), Some(b)) => a == b,
        _ => x.as_f64() == y.as_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::py_eq;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value_as_in_python() {
        assert!(py_eq(&json!({"data": [1, 2.0], "x": null}), &json!({"x": null, "data": [1.0, 2]})));
        assert!(py_eq(&json!(true), &json!(1)));
        assert!(py_eq(&json!(0.0), &json!(false)));
        assert!(!py_eq(&json!([1, 2]), &json!([1, 2, 3])));
        assert!(!py_eq(&json!({"a": 1}), &json!({"b": 1})));
        assert!(!py_eq(&json!("1"), &json!(1)));
        assert!(!py_eq(&json!(9007199254740993_u64), &json!(9007199254740992_u64)));
    }
}
