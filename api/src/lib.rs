//! The `weft` server as a library, so tests start exactly what production runs.

pub mod app;
pub mod bench;
pub mod config;
pub mod graphql;
pub mod http;

pub use app::Application;
pub use config::Config;
