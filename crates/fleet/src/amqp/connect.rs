//! Opening connections: URL and heartbeat, server version, topology; and the backoff
//! between reconnection attempts.
use crate::amqp::error::AmqpError;
use crate::amqp::server::{self, ServerInfo};
use crate::amqp::topology::Topology;
use crate::settings::FleetConfig;
use lapin::tcp::OwnedTLSConfig;
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties};
use std::time::Duration;
use tracing::{debug, info, warn};

/// An open connection with one channel on which the topology has been declared (or, for a
/// user who may not declare it, checked).
pub(crate) struct Link {
    pub conn: Connection,
    pub channel: Channel,
    pub server: ServerInfo,
}

impl Link {
    /// Connect, read the server version, open a channel and declare the topology (check it, for
    /// a user without configure permission: [`Topology::declare_or_check`]).
    pub async fn open(cfg: &FleetConfig, topology: &Topology, name: &str) -> Result<Link, AmqpError> {
        let uri = amqp_uri(cfg)?;
        let tls = tls_config(cfg)?;
        let server = match server::probe(&uri, &tls, Duration::from_secs(10)).await {
            Ok(s) => s,
            Err(e) => {
                // The real connection below reports unreachable servers properly.
                warn!(error = %e, "could not read RabbitMQ's version; assuming no per-queue consumer timeout");
                ServerInfo::unknown()
            }
        };
        let props = ConnectionProperties::default()
            .with_connection_name(name.into())
            .with_client_property("product".into(), "fitfleet".into())
            .with_client_property("version".into(), env!("CARGO_PKG_VERSION").into());
        let connect_err = |source: lapin::Error| {
            let hint = match crate::tls::handshake_hint(&source.to_string(), cfg) {
                "" => " (is RabbitMQ running and are the credentials right?)",
                tls => tls,
            };
            AmqpError::Connect { url: cfg.broker_url_redacted(), hint, source: Box::new(source) }
        };
        let runtime = lapin::runtime::default_runtime().map_err(connect_err)?;
        let conn = Connection::connect_uri_with_config(uri, props, tls, runtime).await.map_err(connect_err)?;
        let channel = conn.create_channel().await.map_err(|e| AmqpError::channel("opening a channel", e))?;
        let channel = topology.declare_or_check(&conn, channel, &server).await?;
        if !server.supports_queue_consumer_timeout() {
            debug!(%server, "per-queue consumer timeout not supported; rabbitmq.conf's consumer_timeout applies");
        }
        info!(
            url = %cfg.broker_url_redacted(),
            %server,
            heartbeat_s = conn.configuration().heartbeat(),
            connection = name,
            "connected to RabbitMQ"
        );
        Ok(Link { conn, channel, server })
    }

    /// Close politely; errors are irrelevant (the connection may be gone already).
    pub async fn close(self) {
        let _ = self.channel.close(200, "bye".into()).await;
        let _ = self.conn.close(200, "bye".into()).await;
    }
}

/// The broker URL parsed, with the configured heartbeat unless the URL sets one.
pub(crate) fn amqp_uri(cfg: &FleetConfig) -> Result<AMQPUri, AmqpError> {
    let mut uri: AMQPUri =
        cfg.broker_url.parse().map_err(|detail| AmqpError::BadUrl { url: cfg.broker_url_redacted(), detail })?;
    if uri.query.heartbeat.is_none() {
        uri.query.heartbeat = Some(cfg.heartbeat_secs);
    }
    if uri.query.connection_timeout.is_none() {
        uri.query.connection_timeout = Some(10_000);
    }
    Ok(uri)
}

/// The TLS settings of `amqps://` connections: `tls_ca_file`'s CA besides the system's.
pub(crate) fn tls_config(cfg: &FleetConfig) -> Result<OwnedTLSConfig, AmqpError> {
    Ok(OwnedTLSConfig { identity: None, cert_chain: crate::tls::ca_pem(cfg)? })
}

/// Exponential backoff with jitter: 0.2 s, 0.4 s, 0.8 s, ... up to `max`, each delay
/// drawn uniformly from its upper half so that a restarted broker is not hit by the whole
/// fleet at once.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(200);

    pub fn new(max: Duration) -> Self {
        Backoff { next: Self::FIRST.min(max), max }
    }

    /// The next delay to wait.
    pub fn next_delay(&mut self) -> Duration {
        let upper = self.next;
        self.next = (self.next * 2).min(self.max);
        upper.mul_f64(rand::random_range(0.5..=1.0))
    }

    pub fn reset(&mut self) {
        self.next = Self::FIRST.min(self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_max() {
        let mut b = Backoff::new(Duration::from_secs(1));
        let d: Vec<_> = (0..6).map(|_| b.next_delay()).collect();
        assert!(d[0] <= Duration::from_millis(200) && d[0] >= Duration::from_millis(100));
        assert!(d[1] <= Duration::from_millis(400) && d[1] >= Duration::from_millis(200));
        assert!(d[5] <= Duration::from_secs(1) && d[5] >= Duration::from_millis(500));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(200));
    }

    #[test]
    fn heartbeat_from_config_unless_in_url() {
        let mut cfg = FleetConfig::default();
        assert_eq!(amqp_uri(&cfg).unwrap().query.heartbeat, Some(cfg.heartbeat_secs));
        assert_eq!(cfg.heartbeat_secs, 10);
        cfg.broker_url = "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=5".into();
        assert_eq!(amqp_uri(&cfg).unwrap().query.heartbeat, Some(5));
        cfg.broker_url = "http://nope".into();
        assert!(matches!(amqp_uri(&cfg), Err(AmqpError::BadUrl { .. })));
    }
}
