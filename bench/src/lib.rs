//! Weft's benchmarks and the execution-history seeder (`weft-bench`). They start the real
//! server in-process (`weft::Application`) or drive Weft's domain directly; nothing here
//! is part of the product binary.

pub mod client;
pub mod db;
pub mod engine;
pub mod events;
pub mod history;
pub mod sandbox;
pub mod seed;
