//! The `weft` server as a library, so tests start exactly what production runs.

pub mod app;
pub mod config;
pub mod graphql;
pub mod graphql_ws;
pub mod hooks;
pub mod http;
pub mod metrics;
pub mod rotate_key;
pub mod studio;

pub use app::Application;
pub use config::Config;
