//! Queue store, store log (reference format), and message store.
