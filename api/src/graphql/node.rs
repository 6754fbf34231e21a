//! The Relay `Node` interface and `Query.node`.

use async_graphql::{Context, ID, Interface, Object};

use super::context::{db, principal};
use super::credentials::Credential;
use super::databases::{DatabaseConnection, DatabaseQuery};
use super::errors::ApiResult;
use super::executions::Execution;
use super::ids::{Kind, decode_any};
use super::templates::Template;
use super::tool_runs::ToolExecutionLog;
use super::tools::Tool;
use super::users::User;
use super::workflows::Workflow;

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Tool(Tool),
    Workflow(Workflow),
    Template(Template),
    Execution(Execution),
    User(User),
    Credential(Credential),
    ToolExecutionLog(ToolExecutionLog),
    DatabaseConnection(DatabaseConnection),
    DatabaseQuery(DatabaseQuery),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global ID.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Node> {
        let principal = principal(ctx)?;
        let db = db(ctx);
        let (kind, raw) = decode_any("id", &id)?;
        Ok(match kind {
            Kind::Tool => Node::Tool(Tool(domain::store::tools::get(db, principal, &raw).await?)),
            Kind::Workflow => Node::Workflow(Workflow(
                domain::store::workflows::get(db, principal, &raw).await?.0,
            )),
            Kind::Template => Node::Template(Template(
                domain::store::templates::get(db, principal, &raw).await?,
            )),
            Kind::Execution => Node::Execution(Execution(
                domain::store::executions::get(db, principal, &raw).await?,
            )),
            Kind::Credential => {
                let vault = ctx.data_unchecked::<domain::vault::Vault>();
                Node::Credential(Credential(vault.get(db, principal, &raw).await?))
            }
            Kind::ToolExecutionLog => Node::ToolExecutionLog(ToolExecutionLog(
                domain::store::tool_logs::get(db, principal, &raw).await?,
            )),
            Kind::DatabaseConnection => Node::DatabaseConnection(DatabaseConnection(
                domain::store::database_connections::get(db, principal, &raw).await?,
            )),
            Kind::DatabaseQuery => Node::DatabaseQuery(DatabaseQuery(
                domain::store::database_queries::get(db, principal, &raw).await?,
            )),
            Kind::User => {
                let user = domain::auth::find_users(db, std::slice::from_ref(&raw))
                    .await?
                    .pop()
                    .ok_or_else(|| domain::DomainError::not_found("user", raw))?;
                Node::User(User(user))
            }
        })
    }
}
