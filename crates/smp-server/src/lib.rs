//! The SMP relay server: configuration, listener, connections, subscriptions, delivery.

pub mod notifications;
pub mod subscriptions;
