//! MessagePack framing of tasks and results: a versioned envelope and decoding errors that
//! say what is wrong.
//!
//! On the wire every message is a MessagePack map with named fields:
//! `{"v": PROTOCOL_VERSION, "kind": "task" | "result", "body": {...}}`. The header is read
//! first, so a message from a newer or older fitfleet is refused with its version number
//! rather than with a confusing missing-field error.
use serde::{Deserialize, Serialize, de::DeserializeOwned, de::IgnoredAny};
use std::io::Cursor;

/// The version of the task/result contract. Bump it whenever [`crate::Task`] or
/// [`crate::TaskResult`] (or an engine type they embed) changes incompatibly: workers and
/// clients of different versions then refuse each other's messages with a clear error.
pub const PROTOCOL_VERSION: u32 = 1;

/// A message type that travels as a versioned envelope.
pub trait Message: Serialize + DeserializeOwned {
    /// The `kind` written in the envelope ("task", "result").
    const KIND: &'static str;
    /// Who normally decodes this kind, for error messages ("worker", "client").
    const READER: &'static str;
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    v: u32,
    kind: &'static str,
    body: &'a T,
}

#[derive(Deserialize)]
struct EnvelopeIn<T> {
    #[allow(dead_code)]
    v: u32,
    #[allow(dead_code)]
    kind: String,
    body: T,
}

#[derive(Deserialize)]
struct Header {
    v: Option<u32>,
    kind: Option<String>,
    #[allow(dead_code)]
    body: Option<IgnoredAny>,
}

/// Why bytes could not be read as a task or result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{kind}: the message is {size} bytes, more than the limit of {limit} bytes (max_task_bytes); not decoded")]
    TooLarge { kind: &'static str, size: u64, limit: u64 },
    #[error("{kind}: empty message (0 bytes)")]
    Empty { kind: &'static str },
    #[error("{kind}: not a fitfleet message: expected a MessagePack map at byte 0, found byte 0x{first:02x}")]
    NotAMap { kind: &'static str, first: u8 },
    #[error("{kind}: truncated MessagePack at byte {at} (the message ends there, more was expected)")]
    Truncated { kind: &'static str, at: u64 },
    #[error("{kind}: malformed MessagePack at byte {at}: {detail}")]
    Malformed { kind: &'static str, at: u64, detail: String },
    #[error("{kind}: no protocol version in the message (field \"v\"); not a fitfleet message")]
    NoVersion { kind: &'static str },
    #[error("{kind}: protocol version {found}, this {reader} speaks {expected}")]
    Version { kind: &'static str, reader: &'static str, found: u32, expected: u32 },
    #[error("{expected}: the message is a {found:?}, not a {expected}")]
    WrongKind { expected: &'static str, found: String },
    #[error("{kind}: {extra} trailing bytes after the message, at byte {at}")]
    Trailing { kind: &'static str, at: u64, extra: u64 },
}

/// Encoding can only fail on values MessagePack cannot hold (it never does for our types).
#[derive(Debug, thiserror::Error)]
#[error("{kind}: cannot encode as MessagePack: {source}")]
pub struct EncodeError {
    pub kind: &'static str,
    #[source]
    pub source: rmp_serde::encode::Error,
}

/// Encode a message in its versioned envelope, with named fields.
pub fn encode<T: Message>(msg: &T) -> Result<Vec<u8>, EncodeError> {
    rmp_serde::to_vec_named(&EnvelopeOut { v: PROTOCOL_VERSION, kind: T::KIND, body: msg })
        .map_err(|source| EncodeError { kind: T::KIND, source })
}

/// [`decode`], refusing a message longer than `max_bytes` before reading any of it.
pub fn decode_limited<T: Message>(bytes: &[u8], max_bytes: u64) -> Result<T, DecodeError> {
    let size = bytes.len() as u64;
    if size > max_bytes {
        return Err(DecodeError::TooLarge { kind: T::KIND, size, limit: max_bytes });
    }
    decode(bytes)
}

/// Decode a message, checking the envelope's kind and protocol version first.
pub fn decode<T: Message>(bytes: &[u8]) -> Result<T, DecodeError> {
    let kind = T::KIND;
    let Some(&first) = bytes.first() else {
        return Err(DecodeError::Empty { kind });
    };
    // fixmap, map16, map32
    if !matches!(first, 0x80..=0x8f | 0xde | 0xdf) {
        return Err(DecodeError::NotAMap { kind, first });
    }
    let header: Header = read_all(kind, bytes)?;
    let Some(found) = header.v else {
        return Err(DecodeError::NoVersion { kind });
    };
    match header.kind.as_deref() {
        Some(k) if k == kind => {}
        other => {
            return Err(DecodeError::WrongKind {
                expected: kind,
                found: other.unwrap_or("message without a kind").to_owned(),
            });
        }
    }
    if found != PROTOCOL_VERSION {
        return Err(DecodeError::Version { kind, reader: T::READER, found, expected: PROTOCOL_VERSION });
    }
    let env: EnvelopeIn<T> = read_all(kind, bytes)?;
    Ok(env.body)
}

fn read_all<T: DeserializeOwned>(kind: &'static str, bytes: &[u8]) -> Result<T, DecodeError> {
    let mut de = rmp_serde::Deserializer::new(Cursor::new(bytes));
    let value = T::deserialize(&mut de).map_err(|e| classify(kind, bytes.len(), de.position(), e))?;
    let at = de.position();
    let len = bytes.len() as u64;
    if at < len {
        return Err(DecodeError::Trailing { kind, at, extra: len - at });
    }
    Ok(value)
}

fn classify(kind: &'static str, len: usize, at: u64, e: rmp_serde::decode::Error) -> DecodeError {
    use rmp_serde::decode::Error as E;
    match &e {
        E::InvalidMarkerRead(io) | E::InvalidDataRead(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated { kind, at: len as u64 }
        }
        _ => DecodeError::Malformed { kind, at, detail: e.to_string() },
    }
}
