//! Print the fleet's RabbitMQ topology as a definitions document.
//!
//! `cargo run -p fitfleet-fleet --example definitions > crates/fleet/rabbitmq/definitions.json` writes the
//! file for the default configuration; set `FITFLEET_QUEUE_PREFIX`, `FITFLEET_DELIVERY_LIMIT`
//! or `FITFLEET_CONSUMER_TIMEOUT_SECS` to write one for another.
use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::amqp::{ServerInfo, Topology};

fn main() {
    let mut cfg = FleetConfig::default();
    if let Ok(p) = std::env::var("FITFLEET_QUEUE_PREFIX") {
        cfg.queue_prefix = p;
    }
    if let Ok(n) = std::env::var("FITFLEET_DELIVERY_LIMIT") {
        cfg.delivery_limit = n.parse().expect("FITFLEET_DELIVERY_LIMIT is a number");
    }
    if let Ok(n) = std::env::var("FITFLEET_CONSUMER_TIMEOUT_SECS") {
        cfg.consumer_timeout_secs = n.parse().expect("FITFLEET_CONSUMER_TIMEOUT_SECS is a number");
    }
    let defs =
        Topology::new(&cfg).definitions("/", &ServerInfo::rabbitmq(fitfleet_fleet::amqp::DEFINITIONS_SERVER_VERSION));
    println!("{}", serde_json::to_string_pretty(&defs).expect("JSON"));
}
