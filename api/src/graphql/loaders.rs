//! DataLoaders for nested lookups, created per request so a cache never outlives the
//! caller whose access it was filled under.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use domain::auth::Principal;
use entity::{node_executions, users, workflows};
use sea_orm::DatabaseConnection;

use super::errors::ApiError;

pub struct UserLoader {
    db: DatabaseConnection,
}

impl Loader<String> for UserLoader {
    type Value = users::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = domain::auth::find_users(&self.db, keys)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(|u| (u.id.clone(), u)).collect())
    }
}

/// Workflows the caller may see; invisible ones load as absent.
pub struct WorkflowLoader {
    db: DatabaseConnection,
    principal: Option<Principal>,
}

impl Loader<String> for WorkflowLoader {
    type Value = workflows::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let Some(principal) = &self.principal else {
            return Ok(HashMap::new());
        };
        let rows = domain::store::workflows::find_visible(&self.db, principal, keys)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(|w| (w.id.clone(), w)).collect())
    }
}

/// All node runs of an execution, keyed by execution id.
pub struct NodeRunLoader {
    db: DatabaseConnection,
}

impl Loader<String> for NodeRunLoader {
    type Value = Vec<node_executions::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = domain::store::executions::node_runs(&self.db, keys)
            .await
            .map_err(ApiError::from)?;
        let mut grouped: HashMap<String, Self::Value> = HashMap::new();
        for row in rows {
            grouped
                .entry(row.execution_id.clone())
                .or_default()
                .push(row);
        }
        Ok(grouped)
    }
}

pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub workflows: DataLoader<WorkflowLoader>,
    pub node_runs: DataLoader<NodeRunLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, principal: Option<Principal>) -> Self {
        Self {
            users: DataLoader::new(UserLoader { db: db.clone() }, tokio::spawn),
            workflows: DataLoader::new(
                WorkflowLoader {
                    db: db.clone(),
                    principal,
                },
                tokio::spawn,
            ),
            node_runs: DataLoader::new(NodeRunLoader { db: db.clone() }, tokio::spawn),
        }
    }
}

pub fn loaders<'a>(ctx: &async_graphql::Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}
