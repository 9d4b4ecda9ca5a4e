//! Which RabbitMQ we are talking to: read from the server properties of the AMQP handshake.
//!
//! lapin does not expose the server properties it receives, so [`probe`] opens a short
//! connection of its own, sends the AMQP protocol header, reads `connection.start` (which
//! carries `product` and `version`) and hangs up before authenticating.
use lapin::protocol::{AMQPClass, connection::AMQPMethod};
use lapin::tcp::{AMQPUriTcpExt, OwnedTLSConfig};
use lapin::types::{AMQPValue, FieldTable};
use lapin::uri::AMQPUri;
use std::time::Duration;

/// The broker's product name and version, from its `connection.start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// "RabbitMQ" for RabbitMQ.
    pub product: String,
    /// As the server reports it, e.g. "3.10.8".
    pub version: String,
}

impl ServerInfo {
    /// major.minor.patch, when the version string starts with numbers.
    pub fn version_triple(&self) -> Option<(u32, u32, u32)> {
        let mut parts = self.version.split(|c: char| !c.is_ascii_digit()).take(3).map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some((major, minor, patch))
    }

    /// Whether queues accept the `x-consumer-timeout` argument (RabbitMQ 3.12 and later).
    ///
    /// On older servers the server-wide `consumer_timeout` of rabbitmq.conf applies
    /// (30 minutes by default on 3.8.15 and later).
    pub fn supports_queue_consumer_timeout(&self) -> bool {
        self.product.eq_ignore_ascii_case("RabbitMQ") && self.version_triple().is_some_and(|v| v >= (3, 12, 0))
    }

    /// For a server whose version could not be read: assume the oldest we support.
    pub fn unknown() -> Self {
        ServerInfo { product: "unknown".to_owned(), version: "unknown".to_owned() }
    }

    /// A RabbitMQ of the given version (for tests and for writing definitions files).
    pub fn rabbitmq(version: &str) -> Self {
        ServerInfo { product: "RabbitMQ".to_owned(), version: version.to_owned() }
    }
}

impl std::fmt::Display for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.product, self.version)
    }
}

/// Why the probe failed (the caller then proceeds as for an old server).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot open a connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("no AMQP runtime: {0}")]
    Runtime(lapin::Error),
    #[error("the server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the server's first frame is not connection.start: {0}")]
    Protocol(String),
}

/// Read the server's product and version from its handshake.
pub async fn probe(uri: &AMQPUri, tls: &OwnedTLSConfig, timeout: Duration) -> Result<ServerInfo, ProbeError> {
    match tokio::time::timeout(timeout, probe_inner(uri, tls)).await {
        Ok(r) => r,
        Err(_) => Err(ProbeError::Timeout(timeout)),
    }
}

async fn probe_inner(uri: &AMQPUri, tls: &OwnedTLSConfig) -> Result<ServerInfo, ProbeError> {
    use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = lapin::runtime::default_runtime().map_err(ProbeError::Runtime)?;
    let mut stream = uri.connect_with_config_async(tls.as_ref(), &runtime).await?;
    stream.write_all(b"AMQP\x00\x00\x09\x01").await?;
    stream.flush().await?;
    // Frame: type (1), channel (2), payload size (4), payload, frame-end 0xCE.
    let mut head = [0u8; 7];
    stream.read_exact(&mut head).await?;
    if head[0] != 1 {
        // A server that does not speak 0-9-1 answers with its own protocol header.
        return Err(ProbeError::Protocol(format!("frame type {} (bytes {:02x?})", head[0], head)));
    }
    let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]) as usize;
    if size > 1 << 20 {
        return Err(ProbeError::Protocol(format!("implausible frame size {size}")));
    }
    let mut payload = vec![0u8; size + 1];
    stream.read_exact(&mut payload).await?;
    let _ = stream.close().await;
    let (_, class) =
        lapin::protocol::parse_class(&payload[..size]).map_err(|e| ProbeError::Protocol(format!("{e:?}")))?;
    match class {
        AMQPClass::Connection(AMQPMethod::Start(start)) => Ok(ServerInfo {
            product: string_property(&start.server_properties, "product").unwrap_or_else(|| "unknown".to_owned()),
            version: string_property(&start.server_properties, "version").unwrap_or_else(|| "unknown".to_owned()),
        }),
        other => Err(ProbeError::Protocol(format!("{other:?}"))),
    }
}

fn string_property(table: &FieldTable, key: &str) -> Option<String> {
    match table.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_timeout_support_follows_version() {
        assert!(!ServerInfo::rabbitmq("3.10.8").supports_queue_consumer_timeout());
        assert!(!ServerInfo::rabbitmq("3.11.28").supports_queue_consumer_timeout());
        assert!(ServerInfo::rabbitmq("3.12.0").supports_queue_consumer_timeout());
        assert!(ServerInfo::rabbitmq("4.1.0").supports_queue_consumer_timeout());
        assert!(ServerInfo::rabbitmq("4.0.0-rc.1").supports_queue_consumer_timeout());
        assert!(!ServerInfo::unknown().supports_queue_consumer_timeout());
    }
}
