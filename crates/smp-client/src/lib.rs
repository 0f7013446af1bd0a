//! Async SMP client used by tests, the proxy role and the tools.
