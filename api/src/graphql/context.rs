//! What a resolver needs from the request: the database and who is asking.

use async_graphql::Context;
use domain::auth::Principal;
use sea_orm::DatabaseConnection;

use super::errors::{ApiError, ApiResult, ErrorCode};

/// The caller as established by the HTTP layer: `None` when no valid token was sent.
#[derive(Clone)]
pub struct Caller(pub Option<Principal>);

pub fn db<'a>(ctx: &Context<'a>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

/// The authenticated principal, or `UNAUTHENTICATED`. Every root field starts here.
pub fn principal<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    ctx.data_opt::<Caller>()
        .and_then(|c| c.0.as_ref())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "authentication required: send `Authorization: Bearer <token>`",
            )
        })
}
