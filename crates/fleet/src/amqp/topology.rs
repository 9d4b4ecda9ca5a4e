//! The queues and exchanges of a fleet, declared by code and written as a RabbitMQ
//! definitions file (`crates/fleet/rabbitmq/definitions.json`) from the same description.
//!
//! ```text
//!  client --{prefix}submit (direct), key {prefix}tasks--> {prefix}tasks   (quorum)
//!                                                              | delivered > delivery_limit
//!                                                              | or rejected by a worker
//!                                                              v
//!                                 {prefix}dlx (direct) --{prefix}tasks.dead--> {prefix}tasks.dead (quorum)
//! ```
//!
//! Clients publish to an exchange of their own rather than the default exchange, so that a
//! RabbitMQ user may be allowed to publish tasks (write on `{prefix}submit`) and nothing else:
//! through the default exchange it could publish to any queue, the dead letters included.
//!
//! Declaring needs configure permission. A user without it (the deployments' `fitfleet-client`
//! and `fitfleet-worker`) checks passively that the exchanges and queues exist instead
//! ([`Topology::declare_or_check`]): the definitions file or an administrator declares them.
use crate::amqp::error::AmqpError;
use crate::amqp::server::ServerInfo;
use crate::settings::FleetConfig;
use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};
use std::collections::BTreeMap;
use std::time::Duration;

/// A queue or exchange argument: RabbitMQ's arguments here are strings or integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Str(String),
    Int(i64),
}

impl Arg {
    fn to_amqp(&self) -> AMQPValue {
        match self {
            Arg::Str(s) => AMQPValue::LongString(s.as_str().into()),
            Arg::Int(i) => AMQPValue::LongLongInt(*i),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Arg::Str(s) => serde_json::Value::from(s.as_str()),
            Arg::Int(i) => serde_json::Value::from(*i),
        }
    }
}

/// A durable queue and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: String,
    pub arguments: BTreeMap<String, Arg>,
}

/// A durable exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeSpec {
    pub name: String,
    /// "direct"
    pub kind: &'static str,
}

/// A binding of a queue to an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingSpec {
    pub exchange: String,
    pub queue: String,
    pub routing_key: String,
}

/// Names and policies of a fleet's queues, from [`FleetConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Where the client publishes tasks: `{queue_prefix}submit`, bound to the tasks queue.
    pub submit_exchange: String,
    /// Where workers consume tasks: `{queue_prefix}tasks`.
    pub tasks_queue: String,
    /// Where RabbitMQ sends tasks it gives up on: `{queue_prefix}dlx`.
    pub dead_letter_exchange: String,
    /// Dead-lettered tasks wait here for the recorder: `{queue_prefix}tasks.dead`.
    pub dead_letter_queue: String,
    /// Deliveries of a task before it is dead-lettered.
    pub delivery_limit: u32,
    /// Per-queue consumer timeout, set only on servers that support it.
    pub consumer_timeout: Duration,
}

impl Topology {
    pub fn new(cfg: &FleetConfig) -> Self {
        let p = &cfg.queue_prefix;
        Topology {
            submit_exchange: format!("{p}submit"),
            tasks_queue: format!("{p}tasks"),
            dead_letter_exchange: format!("{p}dlx"),
            dead_letter_queue: format!("{p}tasks.dead"),
            delivery_limit: cfg.delivery_limit,
            consumer_timeout: cfg.consumer_timeout(),
        }
    }

    /// The tasks queue: quorum (replicated, durable, counts deliveries), with a delivery
    /// limit and at-least-once dead-lettering into the dead-letter exchange.
    pub fn tasks_queue_spec(&self, server: &ServerInfo) -> QueueSpec {
        let mut arguments = BTreeMap::new();
        let s = |v: &str| Arg::Str(v.to_owned());
        arguments.insert("x-queue-type".to_owned(), s("quorum"));
        arguments.insert("x-delivery-limit".to_owned(), Arg::Int(i64::from(self.delivery_limit)));
        arguments.insert("x-dead-letter-exchange".to_owned(), s(&self.dead_letter_exchange));
        arguments.insert("x-dead-letter-routing-key".to_owned(), s(&self.dead_letter_queue));
        // At-least-once dead-lettering (RabbitMQ 3.10+) keeps a task in the tasks queue
        // until the dead-letter queue has confirmed it; it requires reject-publish overflow
        // (which only matters if a length limit is ever set).
        arguments.insert("x-dead-letter-strategy".to_owned(), s("at-least-once"));
        arguments.insert("x-overflow".to_owned(), s("reject-publish"));
        if server.supports_queue_consumer_timeout() {
            let ms = i64::try_from(self.consumer_timeout.as_millis()).unwrap_or(i64::MAX);
            arguments.insert("x-consumer-timeout".to_owned(), Arg::Int(ms));
        }
        QueueSpec { name: self.tasks_queue.clone(), arguments }
    }

    /// The dead-letter queue: quorum, no delivery limit, no dead-lettering of its own.
    pub fn dead_letter_queue_spec(&self) -> QueueSpec {
        let mut arguments = BTreeMap::new();
        arguments.insert("x-queue-type".to_owned(), Arg::Str("quorum".to_owned()));
        QueueSpec { name: self.dead_letter_queue.clone(), arguments }
    }

    pub fn exchanges(&self) -> Vec<ExchangeSpec> {
        vec![
            ExchangeSpec { name: self.submit_exchange.clone(), kind: "direct" },
            ExchangeSpec { name: self.dead_letter_exchange.clone(), kind: "direct" },
        ]
    }

    pub fn queues(&self, server: &ServerInfo) -> Vec<QueueSpec> {
        vec![self.tasks_queue_spec(server), self.dead_letter_queue_spec()]
    }

    pub fn bindings(&self) -> Vec<BindingSpec> {
        vec![
            BindingSpec {
                exchange: self.submit_exchange.clone(),
                queue: self.tasks_queue.clone(),
                routing_key: self.tasks_queue.clone(),
            },
            BindingSpec {
                exchange: self.dead_letter_exchange.clone(),
                queue: self.dead_letter_queue.clone(),
                routing_key: self.dead_letter_queue.clone(),
            },
        ]
    }

    /// Declare everything on `channel`; when this user may not (403 ACCESS_REFUSED, which
    /// closes the channel), check on a new channel of `conn` that the exchanges and queues
    /// exist instead. Returns the channel to go on with.
    pub(crate) async fn declare_or_check(
        &self,
        conn: &lapin::Connection,
        channel: Channel,
        server: &ServerInfo,
    ) -> Result<Channel, AmqpError> {
        match self.declare(&channel, server).await {
            Ok(()) => Ok(channel),
            Err(e) if e.is_access_refused() => {
                tracing::debug!(error = %e, "no configure permission: checking the declared topology instead");
                let channel = conn.create_channel().await.map_err(|e| AmqpError::channel("opening a channel", e))?;
                self.check_declared(&channel, server).await?;
                Ok(channel)
            }
            Err(e) => Err(e),
        }
    }

    /// Check passively (no permission needed) that the exchanges and queues exist. Their
    /// arguments and the bindings cannot be checked so: the definitions file, which a test
    /// checks against [`Self::definitions`], sets them.
    pub async fn check_declared(&self, channel: &Channel, server: &ServerInfo) -> Result<(), AmqpError> {
        for ex in self.exchanges() {
            channel
                .exchange_declare(
                    ex.name.as_str().into(),
                    ExchangeKind::Custom(ex.kind.to_owned()),
                    ExchangeDeclareOptions { passive: true, durable: true, ..Default::default() },
                    FieldTable::default(),
                )
                .await
                .map_err(|source| AmqpError::declare("exchange", &ex.name, source))?;
        }
        for q in self.queues(server) {
            channel
                .queue_declare(
                    q.name.as_str().into(),
                    QueueDeclareOptions { passive: true, durable: true, ..Default::default() },
                    FieldTable::default(),
                )
                .await
                .map_err(|source| AmqpError::declare("queue", &q.name, source))?;
        }
        Ok(())
    }

    /// Declare everything (idempotent). Fails with a hint when a queue already exists with
    /// other arguments (e.g. another delivery limit).
    pub async fn declare(&self, channel: &Channel, server: &ServerInfo) -> Result<(), AmqpError> {
        for ex in self.exchanges() {
            channel
                .exchange_declare(
                    ex.name.as_str().into(),
                    ExchangeKind::Custom(ex.kind.to_owned()),
                    ExchangeDeclareOptions { durable: true, ..Default::default() },
                    FieldTable::default(),
                )
                .await
                .map_err(|source| AmqpError::declare("exchange", &ex.name, source))?;
        }
        for q in self.queues(server) {
            channel
                .queue_declare(
                    q.name.as_str().into(),
                    QueueDeclareOptions { durable: true, ..Default::default() },
                    field_table(&q.arguments),
                )
                .await
                .map_err(|source| AmqpError::declare("queue", &q.name, source))?;
        }
        for b in self.bindings() {
            channel
                .queue_bind(
                    b.queue.as_str().into(),
                    b.exchange.as_str().into(),
                    b.routing_key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|source| AmqpError::declare("binding to", &b.queue, source))?;
        }
        Ok(())
    }

    /// Delete the queues (with any tasks in them) and the exchanges: for tests and for
    /// operators changing the delivery limit.
    pub async fn delete(&self, channel: &Channel) -> Result<(), AmqpError> {
        for q in [&self.tasks_queue, &self.dead_letter_queue] {
            channel
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await
                .map_err(|source| AmqpError::declare("deleting queue", q, source))?;
        }
        for ex in [&self.submit_exchange, &self.dead_letter_exchange] {
            channel
                .exchange_delete(ex.as_str().into(), ExchangeDeleteOptions::default())
                .await
                .map_err(|source| AmqpError::declare("deleting exchange", ex, source))?;
        }
        Ok(())
    }

    /// The topology as a RabbitMQ definitions document (for `load_definitions` in
    /// rabbitmq.conf or `rabbitmqctl import_definitions`), in vhost `vhost`, for `server`.
    pub fn definitions(&self, vhost: &str, server: &ServerInfo) -> serde_json::Value {
        use serde_json::json;
        let args = |a: &BTreeMap<String, Arg>| {
            serde_json::Value::Object(a.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
        };
        let queues: Vec<_> = self
            .queues(server)
            .iter()
            .map(|q| {
                json!({
                    "name": q.name, "vhost": vhost, "durable": true, "auto_delete": false,
                    "arguments": args(&q.arguments),
                })
            })
            .collect();
        let exchanges: Vec<_> = self
            .exchanges()
            .iter()
            .map(|e| {
                json!({
                    "name": e.name, "vhost": vhost, "type": e.kind, "durable": true,
                    "auto_delete": false, "internal": false, "arguments": {},
                })
            })
            .collect();
        let bindings: Vec<_> = self
            .bindings()
            .iter()
            .map(|b| {
                json!({
                    "source": b.exchange, "vhost": vhost, "destination": b.queue,
                    "destination_type": "queue", "routing_key": b.routing_key, "arguments": {},
                })
            })
            .collect();
        json!({
            "vhosts": [{ "name": vhost }],
            "queues": queues,
            "exchanges": exchanges,
            "bindings": bindings,
        })
    }
}

pub(crate) fn field_table(args: &BTreeMap<String, Arg>) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in args {
        t.insert(k.as_str().into(), v.to_amqp());
    }
    t
}
