//! Load generator for SMP servers.
