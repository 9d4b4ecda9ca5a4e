//! Reading workspaces (and the JSON of patchsets) from files or from bytes.
//!
//! Files may be plain JSON or gzip-compressed JSON (`.json.gz`, as HEPData serves them); gzip
//! is recognised by its magic bytes, whatever the file is called. Bytes received over the wire
//! come with a name that stands for the file in error messages.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::digest::digest;
use super::error::{SpecError, SpecErrorKind};
use super::workspace::Workspace;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A workspace as read: the exact JSON (the fleet stores it by digest), the typed and validated
/// workspace, and pyhf's sha256 digest of it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedWorkspace {
    /// The file name, or the name given to the bytes; used in error messages.
    pub source_name: String,
    /// The JSON as parsed, numbers as written (integers stay integers).
    pub value: Value,
    pub workspace: Workspace,
    /// `pyhf.utils.digest(workspace)`: sha256, lower-case hex.
    pub digest: String,
}

impl LoadedWorkspace {
    /// Reads, parses and validates a workspace file (`.json` or gzip-compressed).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, SpecError> {
        let path = path.as_ref();
        let bytes = read_raw(path)?;
        Self::from_slice(&path.display().to_string(), &bytes)
    }

    /// Parses and validates a workspace from bytes (JSON or gzip-compressed JSON).
    pub fn from_slice(source_name: &str, bytes: &[u8]) -> Result<Self, SpecError> {
        Self::from_slice_within(source_name, bytes, MAX_DECOMPRESSED_BYTES)
    }

    /// [`LoadedWorkspace::from_slice`], refusing gzip-compressed bytes that unpack to more than
    /// `max_unpacked` bytes (a fleet's `max_workspace_bytes`) before holding more than that.
    pub fn from_slice_within(source_name: &str, bytes: &[u8], max_unpacked: u64) -> Result<Self, SpecError> {
        let value = parse_within(source_name, bytes, max_unpacked)?;
        Self::from_value(source_name, value)
    }

    /// Types and validates a workspace already parsed into JSON.
    pub fn from_value(source_name: &str, value: Value) -> Result<Self, SpecError> {
        let workspace = Workspace::from_value_named(source_name, &value)?;
        let digest = digest(&value);
        Ok(LoadedWorkspace { source_name: source_name.to_string(), value, workspace, digest })
    }
}

impl Workspace {
    /// Reads, parses and validates a workspace file (`.json` or gzip-compressed).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, SpecError> {
        Ok(LoadedWorkspace::from_path(path)?.workspace)
    }

    /// Parses and validates a workspace from bytes; `source_name` names them in errors.
    pub fn from_slice(source_name: &str, bytes: &[u8]) -> Result<Self, SpecError> {
        let value = parse_value(source_name, bytes)?;
        Self::from_value_named(source_name, &value)
    }

    /// Types and validates a workspace from its JSON value (errors name it "workspace").
    pub fn from_value(value: &Value) -> Result<Self, SpecError> {
        Self::from_value_named("workspace", value)
    }

    /// Types and validates a workspace from its JSON value; `source_name` names it in errors.
    pub fn from_value_named(source_name: &str, value: &Value) -> Result<Self, SpecError> {
        let ws = Self::from_value_unchecked(source_name, value)?;
        ws.validate(source_name)?;
        Ok(ws)
    }

    /// Types a workspace from its JSON value without the checks of [`Workspace::validate`].
    pub fn from_value_unchecked(source_name: &str, value: &Value) -> Result<Self, SpecError> {
        // Tracking the path costs; it is only needed to report an error.
        Self::deserialize(value)
            .or_else(|_| serde_path_to_error::deserialize(value).map_err(|e| SpecError::from_serde(source_name, e)))
    }
}

/// Reads a file, decompressing it when it is gzip. Errors name the file.
pub fn read_file(path: &Path) -> Result<Vec<u8>, SpecError> {
    let bytes = read_raw(path)?;
    match decompress(&path.display().to_string(), &bytes)? {
        Cow::Borrowed(_) => Ok(bytes),
        Cow::Owned(inflated) => Ok(inflated),
    }
}

/// The file's bytes as they are on disk. Errors name the file.
pub(crate) fn read_raw(path: &Path) -> Result<Vec<u8>, SpecError> {
    std::fs::read(path)
        .map_err(|e| SpecError::new(SpecErrorKind::Io, path.display().to_string(), "", format!("cannot read: {e}")))
}

/// The most bytes a gzip-compressed document may unpack to (1 GiB; the largest published
/// workspaces and patchsets are tens of megabytes). gzip packs up to about 1000 to 1, so
/// without a bound a small upload could ask a worker for far more memory than it has.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// The bytes, gunzipped when they start with gzip's magic bytes.
pub fn decompress<'a>(source_name: &str, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, SpecError> {
    decompress_at_most(source_name, bytes, MAX_DECOMPRESSED_BYTES)
}

/// [`decompress`] with another bound on the unpacked size.
pub fn decompress_at_most<'a>(source_name: &str, bytes: &'a [u8], limit: u64) -> Result<Cow<'a, [u8]>, SpecError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    // Capacity never beyond the limit (plus the one byte that tells it was passed): a
    // doubling `Vec` would otherwise reserve up to twice what it holds.
    let cap = limit.saturating_add(1).min(usize::MAX as u64) as usize;
    let mut out = Vec::with_capacity((bytes.len().saturating_mul(8)).min(64 << 20).min(cap));
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(limit.saturating_add(1));
    read_within(&mut reader, &mut out, cap).map_err(|e| {
        SpecError::new(SpecErrorKind::Gzip, source_name, "", format!("starts like gzip but does not decompress: {e}"))
    })?;
    if out.len() as u64 > limit {
        return Err(SpecError::new(
            SpecErrorKind::Gzip,
            source_name,
            "",
            format!("unpacks to more than {limit} bytes, the most a gzip-compressed document may hold"),
        ));
    }
    Ok(Cow::Owned(out))
}

/// `read_to_end` whose buffer never grows beyond `cap` bytes of capacity.
fn read_within(reader: &mut impl Read, out: &mut Vec<u8>, cap: usize) -> std::io::Result<()> {
    let mut chunk = [0u8; 64 << 10];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.len() + n > out.capacity() {
            let want = (out.capacity().max(1 << 16) * 2).min(cap).max(out.len() + n);
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Parses JSON (plain or gzip) into a value. Syntax errors give line, column and the JSON path
/// where the text stopped making sense.
pub fn parse_value(source_name: &str, bytes: &[u8]) -> Result<Value, SpecError> {
    parse(source_name, bytes)
}

/// Parses JSON (plain or gzip) straight into `T`, with pyhf-style paths in errors.
pub(crate) fn parse<T: DeserializeOwned>(source_name: &str, bytes: &[u8]) -> Result<T, SpecError> {
    parse_within(source_name, bytes, MAX_DECOMPRESSED_BYTES)
}

/// [`parse`] with gzip-compressed bytes unpacked to at most `max_unpacked` bytes.
fn parse_within<T: DeserializeOwned>(source_name: &str, bytes: &[u8], max_unpacked: u64) -> Result<T, SpecError> {
    let json = decompress_at_most(source_name, bytes, max_unpacked)?;
    let was_gzip = matches!(json, Cow::Owned(_));
    let note = |mut err: SpecError| {
        if err.kind == SpecErrorKind::Syntax {
            if was_gzip {
                err.reason.push_str(" (in the decompressed text)");
            } else if source_name.ends_with(".gz") {
                err.reason.push_str(" (the file is named .gz but is not gzip-compressed)");
            }
        }
        err
    };
    // Tracking the path costs; it is only needed to report an error.
    if let Ok(parsed) = serde_json::from_slice(&json) {
        return Ok(parsed);
    }
    let mut de = serde_json::Deserializer::from_slice(&json);
    let parsed = serde_path_to_error::deserialize(&mut de).map_err(|e| note(SpecError::from_serde(source_name, e)))?;
    de.end()
        .map_err(|e| note(SpecError::new(SpecErrorKind::Syntax, source_name, "", format!("not valid JSON: {e}"))))?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_give_line_column_and_path() {
        let e = parse_value("ws.json", b"{\"channels\": [{\"name\": \"SR\",\n \"samples\": [1, 2 3]}]}").unwrap_err();
        assert_eq!(e.kind, SpecErrorKind::Syntax);
        let text = e.to_string();
        assert!(text.starts_with("ws.json: channels[0].samples: not valid JSON: expected"), "{text}");
        assert!(text.contains("line 2 column"), "{text}");
    }

    #[test]
    fn trailing_text_is_an_error() {
        let e = parse_value("ws.json", b"{} x").unwrap_err();
        assert_eq!(e.kind, SpecErrorKind::Syntax);
        assert!(e.to_string().contains("trailing characters at line 1 column 4"), "{e}");
    }

    #[test]
    fn gzip_is_recognised_by_its_magic_bytes() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(br#"{"a": [1, 2.5]}"#).unwrap();
        let gz = enc.finish().unwrap();
        let v = parse_value("named-anything", &gz).unwrap();
        assert_eq!(v, serde_json::json!({"a": [1, 2.5]}));
        let e = parse_value("x.json.gz", &gz[..gz.len() / 2]).unwrap_err();
        assert_eq!(e.kind, SpecErrorKind::Gzip);
    }
}
