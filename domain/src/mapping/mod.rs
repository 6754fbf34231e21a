//! Input mapping: how a node's inputs are bound to literals, upstream outputs, templates and
//! jq expressions, checked statically when a workflow is saved ([`typecheck`]) and resolved
//! when a node is about to run ([`resolve`]).

pub mod bounds;
pub mod expr;
pub mod fields;
pub mod inspect;
pub mod resolve;
mod sizes;
pub mod template;
pub mod typecheck;

pub use expr::{ExprError, JqProgram, Limits, ProgramCache};
pub use resolve::{MappingError, MappingProblem, RunContext, resolve_inputs, resolve_inputs_with};
pub use template::{TemplateError, TemplateErrorKind};
pub use typecheck::check_mappings;
