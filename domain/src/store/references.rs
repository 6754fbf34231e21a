//! Save-time checks that the webhooks and saved database queries a workflow's nodes name
//! exist and are visible to the one saving it, so a typo or a deleted row fails at save,
//! at the node's config path, rather than at the node's first run.

use sea_orm::ConnectionTrait;
use serde_json::Value;

use super::{database_queries, webhooks};
use crate::auth::Principal;
use crate::error::{DomainError, DomainResult};
use crate::node_types::{DATABASE_QUERY, WEBHOOK};
use crate::workflow::{DocumentError, DocumentErrorCode, WorkflowDocument};

/// One problem per node whose `config.webhookId` or `config.queryId` names nothing the
/// principal can see.
pub async fn check(
    db: &impl ConnectionTrait,
    principal: &Principal,
    document: &WorkflowDocument,
) -> DomainResult<Vec<DocumentError>> {
    let mut problems = Vec::new();
    for (i, node) in document.nodes().iter().enumerate() {
        let (field, what) = match node.node_type() {
            WEBHOOK => ("webhookId", "webhook"),
            DATABASE_QUERY => ("queryId", "database query"),
            _ => continue,
        };
        let Some(id) = node.config().get(field).and_then(Value::as_str) else {
            continue;
        };
        let found = if node.node_type() == WEBHOOK {
            webhooks::get(db, principal, id).await.map(drop)
        } else {
            database_queries::get(db, principal, id).await.map(drop)
        };
        match found {
            Ok(()) => {}
            Err(DomainError::NotFound { .. }) => problems.push(DocumentError {
                path: format!("nodes[{i}].config.{field}"),
                code: DocumentErrorCode::InvalidConfig,
                message: format!("{what} `{id}` does not exist or is not yours"),
            }),
            Err(other) => return Err(other),
        }
    }
    Ok(problems)
}
