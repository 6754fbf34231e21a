//! The one place where errors become GraphQL errors. Every error a client sees carries
//! `extensions.code`; bad input also carries `extensions.path` and every problem found.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    ErrorExtensions, Response, ServerError, ServerResult, ValidationResult, Variables,
};
use domain::DomainError;
use domain::dbquery::{DbErrorCode, DbQueryError};
use domain::executors::database_query::SavedQueryError;
use std::sync::Arc;

/// Codes in `extensions.code`: Apollo's where they exist, ours beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadUserInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    Timeout,
    InternalServerError,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    /// A database connection could not be made (see `DbErrorCode`).
    ConnectionFailed,
    QueryRejected,
    InvalidParameter,
    ResultTooLarge,
    QueryFailed,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::BadUserInput,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::Timeout,
        ErrorCode::InternalServerError,
        ErrorCode::GraphqlParseFailed,
        ErrorCode::GraphqlValidationFailed,
        ErrorCode::ConnectionFailed,
        ErrorCode::QueryRejected,
        ErrorCode::InvalidParameter,
        ErrorCode::ResultTooLarge,
        ErrorCode::QueryFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::InternalServerError => "INTERNAL_SERVER_ERROR",
            ErrorCode::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            ErrorCode::ConnectionFailed => "CONNECTION_FAILED",
            ErrorCode::QueryRejected => "QUERY_REJECTED",
            ErrorCode::InvalidParameter => "INVALID_PARAMETER",
            ErrorCode::ResultTooLarge => "RESULT_TOO_LARGE",
            ErrorCode::QueryFailed => "QUERY_FAILED",
        }
    }
}

/// A resolver error. Build it from a `DomainError` with `?`.
#[derive(Clone, Debug)]
pub struct ApiError(async_graphql::Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        e.0
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str())))
    }

    pub fn bad_input(path: &str, message: impl Into<String>) -> Self {
        DomainError::bad_input(path, message).into()
    }

    /// Points the error at the argument it concerns (`extensions.path`), for errors other than
    /// bad input, such as a `NOT_FOUND` id the caller passed.
    pub fn at_path(self, path: &str) -> Self {
        let path = path.to_owned();
        Self(self.0.extend_with(move |_, e| e.set("path", path.clone())))
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let code = match &error {
            DomainError::BadInput(_) => ErrorCode::BadUserInput,
            DomainError::Unauthenticated => ErrorCode::Unauthenticated,
            DomainError::Forbidden(_) => ErrorCode::Forbidden,
            DomainError::NotFound { .. } => ErrorCode::NotFound,
            DomainError::Conflict(_) => ErrorCode::Conflict,
            DomainError::Storage(_) | DomainError::Internal(_) => ErrorCode::InternalServerError,
        };
        match error {
            DomainError::BadInput(problems) => {
                let first = problems.first().cloned();
                let message = error_message_for(&problems);
                let mut gql = async_graphql::Error::new(message);
                gql = gql.extend_with(|_, e| {
                    e.set("code", code.as_str());
                    if let Some(first) = &first {
                        e.set("path", first.path.clone());
                    }
                    e.set(
                        "problems",
                        async_graphql::Value::List(
                            problems
                                .iter()
                                .map(|p| {
                                    let mut m = async_graphql::indexmap::IndexMap::new();
                                    m.insert(
                                        async_graphql::Name::new("path"),
                                        p.path.clone().into(),
                                    );
                                    m.insert(
                                        async_graphql::Name::new("message"),
                                        p.message.clone().into(),
                                    );
                                    async_graphql::Value::Object(m)
                                })
                                .collect(),
                        ),
                    );
                });
                ApiError(gql)
            }
            DomainError::Storage(ref cause) => {
                // The client gets a plain message; the log keeps the cause.
                tracing::error!(error = %cause, "storage error");
                ApiError::new(code, "internal error: storage failed")
            }
            DomainError::Internal(ref cause) => {
                tracing::error!(error = %cause, "internal error");
                ApiError::new(code, "internal error")
            }
            other => ApiError::new(code, other.to_string()),
        }
    }
}

/// A database's answer keeps its own code (`TIMEOUT`, `QUERY_FAILED`, …); its message is
/// written for the user and carries no password.
impl From<DbQueryError> for ApiError {
    fn from(error: DbQueryError) -> Self {
        let code = match error.code {
            DbErrorCode::Timeout => ErrorCode::Timeout,
            DbErrorCode::ConnectionFailed => ErrorCode::ConnectionFailed,
            DbErrorCode::QueryRejected => ErrorCode::QueryRejected,
            DbErrorCode::InvalidParameter => ErrorCode::InvalidParameter,
            DbErrorCode::ResultTooLarge => ErrorCode::ResultTooLarge,
            DbErrorCode::QueryFailed => ErrorCode::QueryFailed,
        };
        ApiError::new(code, error.message)
    }
}

impl From<SavedQueryError> for ApiError {
    fn from(error: SavedQueryError) -> Self {
        match error {
            SavedQueryError::Domain(e) => e.into(),
            SavedQueryError::Database { error, .. } => error.into(),
        }
    }
}

fn error_message_for(problems: &[domain::FieldProblem]) -> String {
    match problems {
        [] => "invalid input".to_owned(),
        [one] => format!("{}: {}", one.path, one.message),
        [first, rest @ ..] => format!(
            "{}: {} (and {} more problem{})",
            first.path,
            first.message,
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    }
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
}

fn set_code(error: &mut ServerError, code: ErrorCode) {
    if !has_code(error) {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}

/// Gives every error that async-graphql itself produces (parse, validation, limits,
/// argument coercion) an `extensions.code`, so clients can branch on codes alone.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            let code = if ["Failed to parse", "Invalid value", "Variable "]
                .iter()
                .any(|prefix| error.message.starts_with(prefix))
            {
                ErrorCode::BadUserInput
            } else if error.path.is_empty() {
                ErrorCode::GraphqlValidationFailed
            } else {
                ErrorCode::InternalServerError
            };
            set_code(error, code);
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|mut e| {
            set_code(&mut e, ErrorCode::GraphqlParseFailed);
            e
        })
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|mut errors| {
            for e in &mut errors {
                set_code(e, ErrorCode::GraphqlValidationFailed);
            }
            errors
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_a_distinct_upper_snake_case_name() {
        let names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        for name in names {
            assert!(
                name.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn domain_errors_map_to_the_documented_codes() {
        let cases = [
            (
                DomainError::bad_input("input.name", "too long"),
                "BAD_USER_INPUT",
            ),
            (DomainError::Unauthenticated, "UNAUTHENTICATED"),
            (DomainError::Forbidden("no".into()), "FORBIDDEN"),
            (DomainError::not_found("workflow", "x"), "NOT_FOUND"),
            (DomainError::Conflict("stale".into()), "CONFLICT"),
            (
                DomainError::Internal("boom".into()),
                "INTERNAL_SERVER_ERROR",
            ),
        ];
        for (error, code) in cases {
            let gql: async_graphql::Error = ApiError::from(error).into();
            let ext = gql.extensions.expect("extensions");
            assert_eq!(ext.get("code"), Some(&async_graphql::Value::from(code)));
        }
    }

    #[test]
    fn database_errors_keep_their_code() {
        let gql: async_graphql::Error =
            ApiError::from(DbQueryError::new(DbErrorCode::Timeout, "too slow")).into();
        let ext = gql.extensions.expect("extensions");
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("TIMEOUT"))
        );
        assert_eq!(gql.message, "too slow");
    }

    #[test]
    fn internal_causes_never_reach_the_client() {
        let gql: async_graphql::Error =
            ApiError::from(DomainError::Internal("password=hunter2".into())).into();
        assert!(!gql.message.contains("hunter2"));
    }

    #[test]
    fn bad_input_carries_the_path_of_the_first_problem_and_all_problems() {
        let error = DomainError::BadInput(vec![
            domain::FieldProblem::new("input.name", "too long"),
            domain::FieldProblem::new("input.document.nodes[0].id", "duplicate"),
        ]);
        let gql: async_graphql::Error = ApiError::from(error).into();
        let ext = gql.extensions.expect("extensions");
        assert_eq!(
            ext.get("path"),
            Some(&async_graphql::Value::from("input.name"))
        );
        match ext.get("problems") {
            Some(async_graphql::Value::List(list)) => assert_eq!(list.len(), 2),
            other => panic!("problems missing: {other:?}"),
        }
    }
}
