//! In-process tests of command processing: every command and error, with the version
//! differences (spec §5.7–§7).

mod commands;
mod delivery;
mod events;
mod harness;
mod live;
mod parallel_verify;
mod relay;
mod robustness;
mod stats;
