//! Weft without a transport: the workflow model and its validation, the node palette,
//! access control, and the stores that persist tools, workflows, templates and executions.

// The tool runner's future nests the api, code, database-query and webhook paths; computing
// its layout in an optimised build goes deeper than the default limit of 128.
#![recursion_limit = "256"]

pub mod access;
pub mod auth;
pub mod db;
pub mod dbquery;
pub mod engine;
pub mod error;
pub mod executors;
pub mod hooks;
pub mod ids;
pub mod json_schema;
pub mod mapping;
pub mod node_error;
pub mod node_types;
pub mod outbound;
pub mod page;
pub mod retention;
pub mod sandbox;
pub mod schedule;
pub mod store;
pub mod vault;
pub mod webhooks;
pub mod workflow;

pub use error::{DomainError, FieldProblem};
