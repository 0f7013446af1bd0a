//! The SMP relay server: configuration, listener, connections, subscriptions, delivery.

pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod connection;
pub mod control;
pub mod delivery;
pub mod fd_limit;
pub mod listener;
pub mod messages;
pub mod notifications;
pub mod periodic;
pub mod persistence;
pub mod proxy;
pub mod queue_info;
pub mod server;
pub mod session;
pub mod state;
pub mod stats;
pub mod store;
pub mod subscriptions;
pub mod supervise;
pub mod web;
pub mod writer;
