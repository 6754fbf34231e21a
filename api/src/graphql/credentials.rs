//! Credentials: write-only secrets. The API returns names and kinds, never a secret.

use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use domain::vault::{CredentialInfo, Vault};
use serde_json::Value;

use super::context::{db, principal};
use super::errors::ApiResult;
use super::ids::{Kind, decode, encode};
use super::relay::{RelayConnection, complexity, connection, page_request};
use super::tools::DeletePayload;

pub struct Credential(pub CredentialInfo);

#[Object]
impl Credential {
    pub async fn id(&self) -> ID {
        encode(Kind::Credential, &self.0.id)
    }
    /// The id workflow documents use (`config.credentialId`).
    async fn uuid(&self) -> &str {
        &self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `bearer`, `basic`, `api-key`, `oauth2-client-credentials`, `database-password` or `generic`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct CreateCredentialInput {
    pub name: String,
    /// `bearer` {token}, `basic` {username, password}, `api-key` {header?, value},
    /// `oauth2-client-credentials` {tokenUrl, clientId, clientSecret, scope?, audience?},
    /// `database-password` {password}, `generic` {any string fields}.
    pub kind: String,
    /// The secret fields of that kind. Encrypted at rest; never returned.
    pub secret: Json<Value>,
}

#[derive(InputObject)]
pub struct DeleteCredentialInput {
    pub id: ID,
}

fn vault<'a>(ctx: &Context<'a>) -> &'a Vault {
    ctx.data_unchecked::<Vault>()
}

#[derive(Default)]
pub struct CredentialQuery;

#[Object]
impl CredentialQuery {
    /// The caller's credentials (names and kinds only), newest first.
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn credentials(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RelayConnection<Credential>> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let page = vault(ctx)
            .list(db(ctx), principal, page_request(first, after)?)
            .await?;
        Ok(connection(page, after_given, |c| &c.id, Credential))
    }
}

#[derive(Default)]
pub struct CredentialMutation;

#[Object]
impl CredentialMutation {
    async fn create_credential(
        &self,
        ctx: &Context<'_>,
        input: CreateCredentialInput,
    ) -> ApiResult<Credential> {
        let principal = principal(ctx)?;
        let info = vault(ctx)
            .create(
                db(ctx),
                principal,
                &input.name,
                &input.kind,
                &input.secret.0,
            )
            .await?;
        Ok(Credential(info))
    }

    async fn delete_credential(
        &self,
        ctx: &Context<'_>,
        input: DeleteCredentialInput,
    ) -> ApiResult<DeletePayload> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Credential, &input.id)?;
        vault(ctx).delete(db(ctx), principal, &id).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}
