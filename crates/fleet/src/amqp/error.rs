//! What can go wrong talking to RabbitMQ, with hints for the operator.
use fitfleet_protocol::codec::EncodeError;

#[derive(Debug, thiserror::Error)]
pub enum AmqpError {
    #[error("bad broker URL {url:?}: {detail}")]
    BadUrl { url: String, detail: String },
    #[error("cannot connect to RabbitMQ at {url}: {source}{hint}")]
    Connect {
        url: String,
        /// What to check: the server and credentials, or the TLS certificates.
        hint: &'static str,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error(transparent)]
    TlsCa(#[from] crate::tls::TlsCaError),
    #[error("RabbitMQ refused declaring {what} {name:?}: {source}{hint}")]
    Declare {
        what: &'static str,
        name: String,
        hint: &'static str,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error("RabbitMQ refused {what}: {source}")]
    Channel {
        what: &'static str,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error("RabbitMQ nacked {nacked} of {total} tasks (queue full, or a node lost them); publish them again")]
    Nacked { nacked: usize, total: usize },
    #[error(
        "RabbitMQ returned {count} tasks as unroutable: the queue {queue:?} does not exist, or is not bound to the submit exchange"
    )]
    Unroutable { count: usize, queue: String },
    #[error("gave up after {attempts} attempts to reach RabbitMQ: {last}")]
    GaveUp { attempts: u32, last: Box<AmqpError> },
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A task message over `max_task_bytes`: nothing of the batch was published.
    #[error("not publishing: {0}")]
    TooLarge(#[from] fitfleet_protocol::TooLarge),
}

impl AmqpError {
    pub(crate) fn declare(what: &'static str, name: &str, source: lapin::Error) -> Self {
        let hint = match reply_code(&source) {
            Some(406) => {
                " (it exists with other arguments, e.g. another delivery limit or queue type: \
                 use the same settings as the rest of the fleet, or delete the queue when it is empty)"
            }
            Some(404) => {
                " (it does not exist, and this user may not declare it: load the fleet's definitions \
                 (crates/fleet/rabbitmq/definitions.json), or connect once as a user with configure permission)"
            }
            _ => "",
        };
        AmqpError::Declare { what, name: name.to_owned(), hint, source: Box::new(source) }
    }

    pub(crate) fn channel(what: &'static str, source: lapin::Error) -> Self {
        AmqpError::Channel { what, source: Box::new(source) }
    }

    /// Whether RabbitMQ refused a declaration for want of permission (403 ACCESS_REFUSED).
    pub fn is_access_refused(&self) -> bool {
        matches!(self, AmqpError::Declare { source, .. } if reply_code(source) == Some(403))
    }

    /// Whether reconnecting may help: lost connections and closed channels, yes; refused
    /// credentials, mismatching queue arguments or unencodable tasks, no.
    pub fn is_transient(&self) -> bool {
        match self {
            AmqpError::Connect { source, .. } => !is_auth_failure(source),
            AmqpError::Channel { source, .. } => is_transient_lapin(source),
            AmqpError::Declare { source, .. } => reply_code(source) != Some(406) && is_transient_lapin(source),
            AmqpError::Nacked { .. } => true,
            AmqpError::GaveUp { .. }
            | AmqpError::BadUrl { .. }
            | AmqpError::Unroutable { .. }
            | AmqpError::TlsCa(_)
            | AmqpError::Encode(_)
            | AmqpError::TooLarge(_) => false,
        }
    }
}

/// The AMQP reply code of a channel or connection error the server sent, if it is one.
pub(crate) fn reply_code(e: &lapin::Error) -> Option<u16> {
    match e.kind() {
        lapin::ErrorKind::ProtocolError(amqp) => Some(amqp.get_id()),
        _ => None,
    }
}

fn is_auth_failure(e: &lapin::Error) -> bool {
    // 403 ACCESS_REFUSED; 530 NOT_ALLOWED (e.g. vhost missing)
    matches!(reply_code(e), Some(403 | 530))
}

fn is_transient_lapin(e: &lapin::Error) -> bool {
    match e.kind() {
        lapin::ErrorKind::ProtocolError(_) => {
            // 320 CONNECTION_FORCED (broker shutting down / operator closed us),
            // 404 NOT_FOUND (queue deleted under us: re-declaring brings it back),
            // 501 FRAME_ERROR, 504 CHANNEL_ERROR, 505 UNEXPECTED_FRAME, 541 INTERNAL_ERROR
            matches!(reply_code(e), Some(320 | 404 | 501 | 504 | 505 | 541))
        }
        _ => true,
    }
}
