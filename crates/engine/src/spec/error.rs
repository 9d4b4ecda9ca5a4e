//! What went wrong with a workspace or patchset, and where.
//!
//! Every error names the file (or the name a caller gave to bytes received over the wire), the
//! place inside the JSON in pyhf's own notation (`channels[2].samples[0].modifiers[3].data`),
//! and the reason in words, so that a physicist can find the offending number in their editor:
//!
//! ```text
//! BkgOnly.json: channels[2].samples[0].modifiers[3].data.hi_data: 2 values for 3 bins
//! ```

use std::fmt;

/// The most problems one validation reports; the rest are counted, not listed.
pub const MAX_REPORTED_PROBLEMS: usize = 20;

/// What kind of problem a [`SpecError`] is, for callers that react differently to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpecErrorKind {
    /// The file could not be read.
    Io,
    /// The file starts like gzip but does not decompress.
    Gzip,
    /// The text is not JSON (the reason carries line and column).
    Syntax,
    /// JSON, but not of the pyhf format: a missing or unknown field, a wrong type.
    Format,
    /// Well-formed, but pyhf would reject it (bin counts, names, bounds, ...).
    Invalid,
    /// A patch operation could not be applied.
    Patch,
    /// No patch of that name or those values in the patchset.
    UnknownPatch,
    /// The patchset was made for another background-only workspace.
    DigestMismatch,
    /// The call itself does not make sense (a patch name without a patchset, ...).
    Usage,
    /// A workspace operation (combine, prune, rename) that pyhf refuses: a name that is not in
    /// the workspace, channels or measurements the two workspaces share incompatibly (pyhf's
    /// `InvalidWorkspaceOperation`).
    Operation,
}

/// One problem at one place in the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// pyhf-style path to the offending value; empty for the document as a whole.
    pub path: String,
    /// What is wrong, in words.
    pub reason: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem { path: path.into(), reason: reason.into() }
    }
}

/// An error in a pyhf workspace or patchset: the source, the JSON path and the reason.
///
/// Validation may find several problems at once: the first is in `path` and `reason`, the
/// others (up to [`MAX_REPORTED_PROBLEMS`] in all) in `more`, and `omitted` counts the rest.
/// `Display` writes one line per problem, each prefixed with the source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Rendered(self))]
pub struct SpecError {
    pub kind: SpecErrorKind,
    /// The file name (as the caller gave it), or the name given to in-memory bytes.
    pub source_name: String,
    /// pyhf-style JSON path, e.g. `channels[2].samples[0].modifiers[3].data.hi_data`; may be empty.
    pub path: String,
    pub reason: String,
    /// Further problems found by the same check, after the first.
    pub more: Vec<Problem>,
    /// Problems found beyond [`MAX_REPORTED_PROBLEMS`].
    pub omitted: usize,
}

impl SpecError {
    pub fn new(
        kind: SpecErrorKind,
        source_name: impl Into<String>,
        path: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        SpecError {
            kind,
            source_name: source_name.into(),
            path: path.into(),
            reason: reason.into(),
            more: Vec::new(),
            omitted: 0,
        }
    }

    /// An error listing several problems; `None` when there are none.
    pub fn from_problems(
        kind: SpecErrorKind,
        source_name: impl Into<String>,
        problems: Vec<Problem>,
        omitted: usize,
    ) -> Option<Self> {
        let mut problems = problems.into_iter();
        let first = problems.next()?;
        let mut err = SpecError::new(kind, source_name, first.path, first.reason);
        err.more = problems.collect();
        err.omitted = omitted;
        Some(err)
    }

    /// All problems reported, the first included.
    pub fn problems(&self) -> impl Iterator<Item = Problem> + '_ {
        std::iter::once(Problem::new(self.path.clone(), self.reason.clone())).chain(self.more.iter().cloned())
    }

    /// The error turned into one about `source_name` (e.g. after a patch, naming the patch).
    pub fn with_source(mut self, source_name: impl Into<String>) -> Self {
        self.source_name = source_name.into();
        self
    }

    /// The error with `prefix` put in front of its paths (e.g. `patches[12].patch`).
    pub fn with_path_prefix(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        for p in &mut self.more {
            p.path = join_path(prefix, &p.path);
        }
        self
    }

    /// A deserialisation error (through `serde_path_to_error`) as a [`SpecError`].
    ///
    /// Syntax errors keep serde_json's "at line L column C"; a nested path that a custom
    /// deserialiser reported through [`nested_error`] is appended to the outer one.
    pub(crate) fn from_serde(source_name: &str, err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let outer = path_string(err.path());
        let inner = err.into_inner();
        let kind = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => SpecErrorKind::Syntax,
            serde_json::error::Category::Io => SpecErrorKind::Io,
            serde_json::error::Category::Data => SpecErrorKind::Format,
        };
        let message = inner.to_string();
        let (path, reason) = match split_nested(&message) {
            Some((nested_path, reason)) => (join_path(&outer, nested_path), reason.to_string()),
            None => (outer, message),
        };
        let reason = match kind {
            SpecErrorKind::Syntax => format!("not valid JSON: {reason}"),
            _ => reason,
        };
        SpecError::new(kind, source_name, path, reason)
    }
}

struct Rendered<'a>(&'a SpecError);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        for (i, p) in e.problems().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            if p.path.is_empty() {
                write!(f, "{}: {}", e.source_name, p.reason)?;
            } else {
                write!(f, "{}: {}: {}", e.source_name, p.path, p.reason)?;
            }
        }
        if e.omitted > 0 {
            write!(
                f,
                "\n{}: ... and {} more problem{}",
                e.source_name,
                e.omitted,
                if e.omitted == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

/// `outer` followed by `inner` in pyhf's path notation (`a.b`, `a[3]`).
pub(crate) fn join_path(outer: &str, inner: &str) -> String {
    match (outer.is_empty(), inner.is_empty()) {
        (_, true) => outer.to_string(),
        (true, false) => inner.to_string(),
        (false, false) if inner.starts_with('[') => format!("{outer}{inner}"),
        (false, false) => format!("{outer}.{inner}"),
    }
}

/// serde_path_to_error's path in pyhf's notation; it writes the root as ".".
pub(crate) fn path_string(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." { String::new() } else { s }
}

/// Marks a custom deserialisation message as carrying a path below the current value.
const NESTED: char = '\u{1}';

/// A message for `serde::de::Error::custom` that [`SpecError::from_serde`] turns into a path
/// below the value being deserialised (used where a deserialiser buffers and re-reads data).
pub(crate) fn nested_error(path: &str, reason: impl fmt::Display) -> String {
    format!("{NESTED}{path}{NESTED}{reason}")
}

fn split_nested(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix(NESTED)?;
    rest.split_once(NESTED)
}

/// Collects problems during a check, keeping the first [`MAX_REPORTED_PROBLEMS`].
#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<Problem>,
    omitted: usize,
}

impl Problems {
    pub fn push(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        if self.list.len() < MAX_REPORTED_PROBLEMS {
            self.list.push(Problem::new(path, reason));
        } else {
            self.omitted += 1;
        }
    }

    pub fn into_result(self, kind: SpecErrorKind, source_name: &str) -> Result<(), SpecError> {
        match SpecError::from_problems(kind, source_name, self.list, self.omitted) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_source_path_and_reason() {
        let e = SpecError::new(
            SpecErrorKind::Invalid,
            "BkgOnly.json",
            "channels[2].samples[0].modifiers[3].data.hi_data",
            "2 values for 3 bins",
        );
        assert_eq!(
            e.to_string(),
            "BkgOnly.json: channels[2].samples[0].modifiers[3].data.hi_data: 2 values for 3 bins"
        );
    }

    #[test]
    fn displays_every_problem_and_the_count_left_out() {
        let mut p = Problems::default();
        for i in 0..MAX_REPORTED_PROBLEMS + 3 {
            p.push(format!("observations[{i}].data"), "negative count");
        }
        let e = p.into_result(SpecErrorKind::Invalid, "ws.json").unwrap_err();
        let text = e.to_string();
        assert_eq!(text.lines().count(), MAX_REPORTED_PROBLEMS + 1);
        assert!(text.ends_with("ws.json: ... and 3 more problems"), "{text}");
        assert_eq!(e.problems().count(), MAX_REPORTED_PROBLEMS);
    }

    #[test]
    fn joins_paths_in_pyhf_notation() {
        assert_eq!(join_path("channels[0]", "samples[1]"), "channels[0].samples[1]");
        assert_eq!(join_path("data", "[3]"), "data[3]");
        assert_eq!(join_path("", "version"), "version");
        assert_eq!(join_path("patches[2]", ""), "patches[2]");
    }

    #[test]
    fn no_problems_is_ok() {
        assert!(Problems::default().into_result(SpecErrorKind::Invalid, "x").is_ok());
    }
}
