//! The one error type of the domain crate. Transports map it to their own error codes in
//! one place (the API's `errors` module); nothing here knows about GraphQL.

use sea_orm::DbErr;

/// One thing wrong with the caller's input, located by a dotted path such as
/// `input.document.nodes[2].id`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    pub path: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input was rejected before anything was written. Never empty.
    #[error("{}", .0.first().map(|p| format!("{}: {}", p.path, p.message)).unwrap_or_default())]
    BadInput(Vec<FieldProblem>),
    #[error("no credentials were presented, or they are not valid")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{kind} {id} was not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("storage failed: {0}")]
    Storage(#[from] DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn bad_input(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput(vec![FieldProblem::new(path, message)])
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// Collects problems across a whole input so the caller sees all of them at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldProblem>);

impl Problems {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldProblem::new(path, message));
    }

    pub fn extend(&mut self, problems: impl IntoIterator<Item = FieldProblem>) {
        self.0.extend(problems);
    }

    pub fn into_result(self) -> DomainResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::BadInput(self.0))
        }
    }
}
