//! The `weft` server as a library, so tests start exactly what production runs.

pub mod app;
pub mod bench;
pub mod bench_db;
pub mod bench_events;
pub mod bench_history;
pub mod bench_sandbox;
pub mod config;
pub mod graphql;
pub mod graphql_ws;
pub mod hooks;
pub mod http;
pub mod metrics;
pub mod rotate_key;
pub mod seed;
pub mod studio;

pub use app::Application;
pub use config::Config;
