//! Users, API keys and the principal a request acts as. Tokens are random, shown once,
//! and stored only as SHA-256 hashes: a leaked database does not leak working tokens.

use chrono::Utc;
use entity::{api_keys, users};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};
use sha2::{Digest, Sha256};

use crate::error::{DomainError, DomainResult, Problems};
use crate::ids::new_id;

/// Prefix that makes Weft tokens recognisable to secret scanners.
pub const TOKEN_PREFIX: &str = "weft_";
pub const ADMIN_EMAIL: &str = "admin@localhost";
pub const MAX_NAME_LEN: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// Who a request acts as. Only `authenticate` and the bootstrap build one.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub role: Role,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Resolves a bearer token to its principal. Unknown, revoked and expired tokens are
/// indistinguishable to the caller on purpose.
#[tracing::instrument(skip_all)]
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> DomainResult<Principal> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
        return Err(DomainError::Unauthenticated);
    }
    let Some(key) = api_keys::Entity::find()
        .filter(api_keys::Column::TokenHash.eq(hash_token(token)))
        .one(db)
        .await?
    else {
        return Err(DomainError::Unauthenticated);
    };
    let Some(user) = users::Entity::find_by_id(key.user_id.clone())
        .one(db)
        .await?
    else {
        return Err(DomainError::Unauthenticated);
    };
    let now = Utc::now();
    if key.revoked_at.is_some() || key.expires_at.is_some_and(|at| at <= now) {
        return Err(DomainError::Unauthenticated);
    }
    let role = Role::parse(&user.role).unwrap_or(Role::User);
    Ok(Principal {
        user_id: user.id,
        role,
    })
}

/// What a fresh install prints: the admin and, when the token was generated, the token.
pub struct Bootstrap {
    pub admin_id: String,
    pub generated_token: Option<String>,
}

/// Creates the admin user and its first API key when the database has no users yet.
/// Returns `None` on every later start.
pub async fn bootstrap_admin(
    db: &DatabaseConnection,
    preset_token: Option<&str>,
) -> DomainResult<Option<Bootstrap>> {
    if users::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    if let Some(token) = preset_token
        && (!token.starts_with(TOKEN_PREFIX) || token.len() < TOKEN_PREFIX.len() + 24)
    {
        return Err(DomainError::bad_input(
            "WEFT_ADMIN_TOKEN",
            format!("must start with `{TOKEN_PREFIX}` and have at least 24 characters after it"),
        ));
    }
    let txn = db.begin().await?;
    let admin = insert_user(&txn, ADMIN_EMAIL, "Administrator", Role::Admin).await?;
    let (token, generated) = match preset_token {
        Some(t) => (t.to_owned(), None),
        None => {
            let t = generate_token();
            (t.clone(), Some(t))
        }
    };
    insert_api_key(&txn, &admin.id, "bootstrap", &token, None).await?;
    txn.commit().await?;
    Ok(Some(Bootstrap {
        admin_id: admin.id,
        generated_token: generated,
    }))
}

async fn insert_user(
    db: &impl ConnectionTrait,
    email: &str,
    name: &str,
    role: Role,
) -> DomainResult<users::Model> {
    Ok(users::ActiveModel {
        id: Set(new_id()),
        email: Set(email.to_owned()),
        name: Set(name.to_owned()),
        role: Set(role.as_str().to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

async fn insert_api_key(
    db: &impl ConnectionTrait,
    user_id: &str,
    name: &str,
    token: &str,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> DomainResult<api_keys::Model> {
    Ok(api_keys::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.to_owned()),
        name: Set(name.to_owned()),
        token_hash: Set(hash_token(token)),
        prefix: Set(token.chars().take(TOKEN_PREFIX.len() + 8).collect()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?)
}

pub fn check_name(problems: &mut Problems, path: &str, name: &str) {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        problems.push(path, "must not be empty");
    } else if name.chars().count() > MAX_NAME_LEN {
        problems.push(
            path,
            format!(
                "must be at most {MAX_NAME_LEN} characters, got {}",
                name.chars().count()
            ),
        );
    }
}

fn check_email(problems: &mut Problems, path: &str, email: &str) {
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(char::is_whitespace);
    if !ok {
        problems.push(path, "must be an email address like name@example.com");
    }
}

#[derive(Debug)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
}

/// Admin-only: creates a user with a first API key and returns both; the token is shown once.
#[tracing::instrument(skip(db, principal))]
pub async fn create_user(
    db: &DatabaseConnection,
    principal: &Principal,
    input: NewUser,
) -> DomainResult<(users::Model, String)> {
    if !principal.is_admin() {
        return Err(DomainError::Forbidden(
            "only an administrator can create users".into(),
        ));
    }
    let mut problems = Problems::default();
    check_email(&mut problems, "input.email", &input.email);
    check_name(&mut problems, "input.name", &input.name);
    problems.into_result()?;
    let email = input.email.trim().to_lowercase();
    if users::Entity::find()
        .filter(users::Column::Email.eq(&email))
        .one(db)
        .await?
        .is_some()
    {
        return Err(DomainError::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let txn = db.begin().await?;
    let user = insert_user(&txn, &email, input.name.trim(), input.role).await?;
    let token = generate_token();
    insert_api_key(&txn, &user.id, "initial", &token, None).await?;
    txn.commit().await?;
    Ok((user, token))
}

/// Creates an API key for the calling user. The token is returned once and never again.
#[tracing::instrument(skip(db, principal))]
pub async fn create_api_key(
    db: &impl ConnectionTrait,
    principal: &Principal,
    name: &str,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> DomainResult<(api_keys::Model, String)> {
    let mut problems = Problems::default();
    check_name(&mut problems, "input.name", name);
    if expires_at.is_some_and(|at| at <= Utc::now()) {
        problems.push("input.expiresAt", "must be in the future");
    }
    problems.into_result()?;
    let token = generate_token();
    let key = insert_api_key(db, &principal.user_id, name.trim(), &token, expires_at).await?;
    Ok((key, token))
}

pub async fn find_users(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> DomainResult<Vec<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?)
}

pub async fn find_user_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> DomainResult<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?)
}
