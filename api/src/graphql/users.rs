//! Users, the viewer, and API keys.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::auth::{self, NewUser, Role};
use entity::{api_keys, users};

use super::context::{db, principal};
use super::errors::ApiResult;
use super::ids::{Kind, encode};

pub struct User(pub users::Model);

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        encode(Kind::User, &self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> UserRole {
        match Role::parse(&self.0.role) {
            Some(Role::Admin) => UserRole::Admin,
            _ => UserRole::User,
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Only for the viewer themself (others: empty list). Newest first.
    async fn favorite_tools(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::palette::PaletteItemRef>> {
        super::palette::user_lists(ctx, &self.0.id, true).await
    }
    /// The last 8 palette entries this user placed on a canvas, most recent first, distinct.
    /// Only for the viewer themself (others: empty list).
    async fn recent_tools(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::palette::PaletteItemRef>> {
        super::palette::user_lists(ctx, &self.0.id, false).await
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum UserRole {
    Admin,
    User,
}

/// An API key as listed; the token itself is shown only when the key is created.
pub struct ApiKey(pub api_keys::Model);

#[Object]
impl ApiKey {
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the token, to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub name: String,
    #[graphql(default_with = "UserRole::User")]
    pub role: UserRole,
}

#[derive(SimpleObject)]
pub struct CreateUserPayload {
    pub user: User,
    /// The new user's first API token. Shown once; store it now.
    pub token: String,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub name: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    pub api_key: ApiKey,
    /// The token. Shown once; store it now.
    pub token: String,
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The user the request is authenticated as.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let principal = principal(ctx)?;
        let mut found = auth::find_users(db(ctx), std::slice::from_ref(&principal.user_id)).await?;
        found
            .pop()
            .map(User)
            .ok_or_else(|| domain::DomainError::Unauthenticated.into())
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Admin only: creates a user and returns their first API token.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> ApiResult<CreateUserPayload> {
        let principal = principal(ctx)?;
        let role = match input.role {
            UserRole::Admin => Role::Admin,
            UserRole::User => Role::User,
        };
        let (user, token) = auth::create_user(
            db(ctx),
            principal,
            NewUser {
                email: input.email,
                name: input.name,
                role,
            },
        )
        .await?;
        Ok(CreateUserPayload {
            user: User(user),
            token,
        })
    }

    /// Creates an API key for the caller.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> ApiResult<CreateApiKeyPayload> {
        let principal = principal(ctx)?;
        let (key, token) =
            auth::create_api_key(db(ctx), principal, &input.name, input.expires_at).await?;
        Ok(CreateApiKeyPayload {
            api_key: ApiKey(key),
            token,
        })
    }
}
