//! Load generator and measurements for SMP servers (`smp-bench`): throughput and end-to-end
//! latency under load ([`load`]), connection handshakes, subscriptions, idle memory per queue and
//! per connection, store-log replay ([`scenarios`]), the crypto floor one relayed message needs
//! ([`floor`]), /proc sampling ([`procfs`]) and running a real `smp-server` binary ([`server`]).

#![forbid(unsafe_code)]

pub mod floor;
pub mod load;
pub mod procfs;
pub mod scenarios;
pub mod server;
