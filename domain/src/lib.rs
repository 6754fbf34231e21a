//! Weft without a transport: the workflow model and its validation, the node palette,
//! access control, and the stores that persist tools, workflows, templates and executions.

pub mod access;
pub mod auth;
pub mod db;
pub mod error;
pub mod ids;
pub mod json_schema;
pub mod node_types;
pub mod page;
pub mod store;
pub mod workflow;

pub use error::{DomainError, FieldProblem};
