//! The workspace digest equals pyhf's, checked against Python's own `json.dumps` and against
//! the digests the published patchsets record.
mod common;

use std::path::Path;

use fitfleet_engine::spec::{PatchSet, digest, parse_value, python_json_dumps};

/// Edge cases of Python's float repr, strings and key order, as JSON text.
const EDGE_CASES: &str = r#"{
  "floats": [1e-7, 1e16, 1E16, 123456789012345678.0, 0.1, -0.0, 0.0, 1.0, 100.0, 1e2, 2.5e-5,
             0.0001, 0.00001, 1e15, 9999999999999998.0, 1e22, 1.7976931348623157e308, 5e-324,
             2.2250738585072014e-308, 0.30000000000000004, 3.141592653589793238462643383,
             123456.789e3, -1.5e-10, 4.35, 2.675, 1.0000000000000002],
  "ints": [0, 1, -1, 42, 9007199254740993, 18446744073709551615, -9223372036854775808],
  "strings": ["plain", "é ü ß", "中文", "😀 astral", "quote \" backslash \\ slash /",
              "tab\t newline\n return\r bell\u0007 nul\u0000 unit\u001f del\u007f",
              "\u2028\u2029", "\ud83d\ude00 escaped pair", "\u00e9 escaped"],
  "keys": {"b": 1, "a": 2, "B": 3, "é": 4, "z": 5, "😀": 6, "ａ": 7, "": 8, "a b": 9, "A": 10},
  "nested": [[], {}, [[]], {"x": [null, true, false]}],
  "name with unicode: μ_SIG": {"lo_data": [1.5e-300], "hi_data": [1.5e300]}
}"#;

fn python_dumps(file: &Path) -> String {
    let script = r#"
import json, sys
with open(sys.argv[1], 'rb') as f:
    obj = json.loads(f.read())
sys.stdout.buffer.write(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode('utf8'))
"#;
    common::python(script, &[file])
}

#[test]
fn edge_cases_dump_and_digest_like_python() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("edge.json");
    std::fs::write(&file, EDGE_CASES).expect("writes");
    let value = parse_value("edge.json", EDGE_CASES.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(python_json_dumps(&value), python_dumps(&file));
    assert_eq!(digest(&value), common::python_digests(&[&file])[0]);
}

#[test]
fn random_floats_read_and_write_like_python() {
    // Python writes many doubles in several notations (17+ significant digits included, which
    // serde_json's default parser may round wrongly), then dumps what it reads back.
    let script = r#"
import json, random, struct, sys
rng = random.Random(20240611)
xs = []
for _ in range(4000):
    x = struct.unpack('<d', struct.pack('<Q', rng.getrandbits(64)))[0]
    if x == x and abs(x) != float('inf'):
        xs.append(x)
for _ in range(4000):
    xs.append(rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30))
for _ in range(2000):
    xs.append(float(rng.randint(-10**6, 10**6)) / 10 ** rng.randint(0, 6))
# exact binary fractions, where shortest candidates tie (Python rounds those to even)
for _ in range(3000):
    xs.append(rng.randint(1, 2**53) / 2 ** rng.randint(0, 70))
for _ in range(3000):
    xs.append(rng.randint(10**13, 10**16) + rng.randint(0, 15) / 16)
fmts = ['%r', '%.17g', '%.17e', '%.20g', '%.25e', '%.3g', '%.16g']
def fmt(x):
    s = rng.choice(fmts) % x
    # integers beyond 64 bits are a documented limit of the Rust side: keep them floats
    if '.' not in s and 'e' not in s and abs(int(s)) >= 2**63:
        s = repr(x)
    return s
text = '[' + ', '.join(fmt(x) for x in xs) + ']'
sys.stdout.write(text + '\n' + json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False))
"#;
    let out = common::python(script, &[]);
    let (text, expected) = out.split_once('\n').expect("two lines");
    let value = parse_value("floats.json", text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let ours = python_json_dumps(&value);
    if ours != expected {
        let ours: Vec<&str> = ours.trim_matches(['[', ']']).split(", ").collect();
        let theirs: Vec<&str> = expected.trim_matches(['[', ']']).split(", ").collect();
        let input: Vec<&str> = text.trim_matches(['[', ']']).split(", ").collect();
        let bad: Vec<String> = (0..ours.len().min(theirs.len()))
            .filter(|&i| ours[i] != theirs[i])
            .take(10)
            .map(|i| format!("{} -> ours {} python {}", input[i], ours[i], theirs[i]))
            .collect();
        panic!("floats differ from Python's:\n{}", bad.join("\n"));
    }
}

#[test]
fn reference_workspaces_digest_like_python() {
    let dir = common::reference_dir();
    let files: Vec<_> = common::json_files(&dir)
        .into_iter()
        .filter(|f| {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name != "patchset.json" && name != "cases.json" && !name.ends_with("-cases.json")
        })
        .collect();
    assert!(files.len() >= 20, "expected the reference workspaces in {}", dir.display());
    let refs: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
    let expected = common::python_digests(&refs);
    assert_eq!(expected.len(), files.len());
    for (file, expected) in files.iter().zip(expected) {
        let bytes = std::fs::read(file).expect("reads");
        let value = parse_value(&file.display().to_string(), &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(digest(&value), expected, "{}", file.display());
    }
}

#[test]
fn patchsets_record_the_digest_of_their_workspace() {
    let dir = common::reference_dir();
    let patchsets: Vec<_> =
        common::json_files(&dir).into_iter().filter(|f| f.file_name().is_some_and(|n| n == "patchset.json")).collect();
    assert!(patchsets.len() >= 5, "expected the reference patchsets in {}", dir.display());
    for path in patchsets {
        let set = PatchSet::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
        let recorded = set.metadata.digests.sha256.clone().expect("a sha256 digest");
        let ws_path = path.with_file_name("BkgOnly.json");
        let bytes = std::fs::read(&ws_path).expect("reads the background-only workspace");
        let value = parse_value("BkgOnly.json", &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(digest(&value), recorded, "{}", ws_path.display());
        set.verify_digest(&value).unwrap_or_else(|e| panic!("{e}"));
    }
}
