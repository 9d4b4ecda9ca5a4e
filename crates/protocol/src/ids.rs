//! Identifiers shared by client, workers and the store: jobs, tasks and workspace digests.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// One submission of the client: a workspace, settings and the tasks that came out of it.
///
/// Printed to the physicist when they submit (`fitfleet status <job>`): 32 lowercase hex
/// digits, 128 bits from the operating system's CSPRNG. Knowing a job id is enough to read
/// its results or cancel it (`fitfleet status/results/cancel <job>`), so ids must not be
/// guessable: no counter, no time, no seeded generator. Ids given by the user may have any
/// form [`JobId::parse`] accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

impl JobId {
    /// A fresh random job id: 128 bits from the OS (getrandom), as 32 hex digits.
    ///
    /// # Panics
    /// If the operating system cannot provide random bytes (there is no safe fallback).
    pub fn generate() -> Self {
        use rand::TryRngCore;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.try_fill_bytes(&mut bytes).expect("the operating system's random number generator failed");
        JobId(hex(&bytes))
    }

    /// Wrap an id given by the user or read back from the store.
    ///
    /// Fails on an empty id or one with characters other than ASCII letters, digits, `-`
    /// and `_` (ids are embedded in Redis keys and log lines).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        check_id("job id", s).map(|()| JobId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One unit of work for one worker: deterministic, so re-publishing the same work for the
/// same job yields the same id (and the store keeps only the first result written for it).
///
/// 32 lowercase hex digits: the first 128 bits of a SHA-256 over the job id, the patch name
/// and the MessagePack encoding of the work (see [`crate::Task::derive_id`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaskId(String);

/// SHA-256 of `bytes`, as 64 lowercase hex digits.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

impl TaskId {
    /// Wrap a task id read back from the store or from a message.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        check_id("task id", s).map(|()| TaskId(s.to_owned()))
    }

    /// The id of a task from the bytes that define its work.
    pub(crate) fn from_defining_bytes(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for part in parts {
            // Length-prefix every part so ("ab", "c") and ("a", "bc") differ.
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        let digest = h.finalize();
        TaskId(hex(&digest[..16]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The SHA-256 (lowercase hex) of the exact workspace bytes the client uploaded.
///
/// Tasks name the workspace only by this digest; workers fetch the bytes from the store once
/// and check them against it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkspaceDigest(String);

impl WorkspaceDigest {
    /// The digest of these bytes.
    pub fn of(bytes: &[u8]) -> Self {
        WorkspaceDigest(sha256_hex(bytes))
    }

    /// Wrap a digest given as text: exactly 64 lowercase hex digits.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(WorkspaceDigest(s.to_owned()))
        } else {
            Err(IdError {
                what: "workspace digest",
                value: s.to_owned(),
                expected: "64 lowercase hex digits (a SHA-256)",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An id that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not valid: expected {expected}")]
pub struct IdError {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

fn check_id(what: &'static str, s: &str) -> Result<(), IdError> {
    let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(IdError { what, value: s.to_owned(), expected: "1 to 128 ASCII letters, digits, '-' or '_'" })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )*};
}
display_as_str!(JobId, TaskId, WorkspaceDigest);

impl TryFrom<String> for JobId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        check_id("job id", &s).map(|()| JobId(s))
    }
}

impl TryFrom<String> for TaskId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        check_id("task id", &s).map(|()| TaskId(s))
    }
}

impl TryFrom<String> for WorkspaceDigest {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        WorkspaceDigest::parse(&s)
    }
}

macro_rules! into_string {
    ($($t:ty),*) => {$(
        impl From<$t> for String {
            fn from(id: $t) -> String {
                id.0
            }
        }
    )*};
}
into_string!(JobId, TaskId, WorkspaceDigest);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            WorkspaceDigest::of(b"").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(WorkspaceDigest::parse("E3B0").is_err());
    }

    #[test]
    fn ids_reject_key_breaking_characters() {
        assert!(JobId::parse("abc-01_x").is_ok());
        assert!(JobId::parse("").is_err());
        assert!(JobId::parse("a:b").is_err());
        assert!(TaskId::parse("a b").is_err());
    }

    #[test]
    fn generated_job_ids_are_128_random_bits_that_parse_back() {
        let ids: Vec<JobId> = (0..1000).map(|_| JobId::generate()).collect();
        for id in &ids {
            assert_eq!(id.as_str().len(), 32, "{id}");
            assert!(id.as_str().bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{id}");
            assert_eq!(&JobId::parse(id.as_str()).unwrap(), id);
            let json = serde_json::to_string(id).unwrap();
            assert_eq!(&serde_json::from_str::<JobId>(&json).unwrap(), id);
        }
        let distinct: std::collections::HashSet<&JobId> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "1000 ids, no repeat");
        // Every one of the 128 bits varies: no fixed or always-zero part (e.g. 64 bits
        // zero-padded would leave half the digits constant).
        let (mut ones, mut zeros) = (0u128, 0u128);
        for id in &ids {
            let v = u128::from_str_radix(id.as_str(), 16).unwrap();
            ones |= v;
            zeros |= !v;
        }
        assert_eq!((ones, zeros), (u128::MAX, u128::MAX), "some bit never changes");
    }
}
