//! The SMP relay server: configuration, listener, connections, subscriptions, delivery.
