//! Database connections: where a user's PostgreSQL, MySQL/MariaDB or MongoDB server is and
//! how to log in. The password is never stored here: it lives in the vault as a credential
//! the row points to, and is decrypted only to build a [`ConnectionSpec`] for a run.

use chrono::Utc;
use entity::{credentials, database_connections};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use secrecy::SecretString;
use serde_json::json;

use super::{MAX_LABEL_LEN, check_text, keyset};
use crate::access::owns;
use crate::auth::{Principal, check_name};
use crate::dbquery::{ConnectionSpec, DatabasePolicy, DbKind, DbPools, TlsMode};
use crate::error::{DomainError, DomainResult, Problems};
use crate::ids::{is_well_formed, new_id};
use crate::page::{Page, PageRequest};
use crate::vault::{CredentialSecret, Vault};

/// Server connections one connection's pool may hold when the user does not say.
pub const DEFAULT_POOL_SIZE: i32 = 5;
/// Upper bound on a pool, so one connection cannot take a server's every slot.
pub const MAX_POOL_SIZE: i32 = 50;
/// Host names are at most 253 characters (RFC 1035); IPv6 literals are shorter.
const MAX_HOST_LEN: usize = 253;
/// Credential kinds whose secret can serve as a database password.
pub const PASSWORD_CREDENTIAL_KINDS: &[&str] = &["database-password", "generic"];

/// A connection as the user describes it.
#[derive(Debug, Clone)]
pub struct ConnectionDraft {
    pub name: String,
    /// `postgres`, `mysql` or `mongodb`.
    pub kind: String,
    pub host: String,
    /// `None` takes the kind's usual port.
    pub port: Option<i32>,
    pub database: String,
    pub username: String,
    /// A `database-password` or `generic` credential of the owner; `None` logs in without
    /// a password (trust or peer authentication).
    pub credential_id: Option<String>,
    /// `disable`, `prefer` or `require`; `None` is `prefer`.
    pub tls_mode: Option<String>,
    pub pool_size: Option<i32>,
}

/// A partial update; `None` keeps the current value. `credential_id: Some(None)` removes
/// the credential.
#[derive(Debug, Clone, Default)]
pub struct ConnectionPatch {
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<i32>,
    pub database: Option<String>,
    pub username: Option<String>,
    pub credential_id: Option<Option<String>>,
    pub tls_mode: Option<String>,
    pub pool_size: Option<i32>,
}

/// A draft that passed every check, in the shape it is stored.
struct Checked {
    name: String,
    kind: DbKind,
    host: String,
    port: i32,
    database: String,
    username: String,
    credential_id: Option<String>,
    tls_mode: TlsMode,
    pool_size: i32,
}

async fn check_draft(
    db: &impl ConnectionTrait,
    policy: &DatabasePolicy,
    owner_id: &str,
    draft: ConnectionDraft,
) -> DomainResult<Checked> {
    let mut problems = Problems::default();
    check_name(&mut problems, "input.name", &draft.name);
    let kind = draft
        .kind
        .parse::<DbKind>()
        .map_err(|message| problems.push("input.kind", message))
        .ok();
    let host = draft.host.trim().to_owned();
    let mut host_ok = false;
    if host.is_empty() {
        problems.push("input.host", "must not be empty");
    } else if host.len() > MAX_HOST_LEN {
        problems.push(
            "input.host",
            format!("must be at most {MAX_HOST_LEN} characters"),
        );
    } else if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "/@?#,".contains(c))
    {
        // A host with URL syntax in it would let the name smuggle options into the
        // driver's connection string.
        problems.push(
            "input.host",
            "must be a host name or IP address, without a scheme, user, port or path",
        );
    } else {
        host_ok = true;
    }
    let port = draft
        .port
        .unwrap_or_else(|| kind.map_or(0, |k| i32::from(k.default_port())));
    if draft.port.is_some() && !(1..=65_535).contains(&port) {
        problems.push(
            "input.port",
            format!("must be between 1 and 65535, not {port}"),
        );
    }
    let database = draft.database.trim().to_owned();
    if database.is_empty() {
        problems.push("input.database", "must not be empty");
    }
    check_text(&mut problems, "input.database", &database, MAX_LABEL_LEN);
    let username = draft.username.trim().to_owned();
    if username.is_empty() && kind != Some(DbKind::MongoDb) {
        problems.push("input.username", "must not be empty");
    }
    check_text(&mut problems, "input.username", &username, MAX_LABEL_LEN);
    let tls_mode = match &draft.tls_mode {
        None => Some(TlsMode::default()),
        Some(mode) => mode
            .parse::<TlsMode>()
            .map_err(|message| problems.push("input.tlsMode", message))
            .ok(),
    };
    let pool_size = draft.pool_size.unwrap_or(DEFAULT_POOL_SIZE);
    if !(1..=MAX_POOL_SIZE).contains(&pool_size) {
        problems.push(
            "input.poolSize",
            format!("must be between 1 and {MAX_POOL_SIZE}, not {pool_size}"),
        );
    }
    if let Some(id) = &draft.credential_id
        && let Some(message) = check_credential(db, owner_id, id).await?
    {
        problems.push("input.credentialId", message);
    }
    // Only a well-formed host is worth a DNS lookup. The same check runs again whenever a
    // pool is built, since DNS and the policy may change after the save.
    if host_ok
        && let (Some(kind), Ok(port)) = (kind, u16::try_from(port))
        && let Err(refusal) = policy.resolve(&host, port, &database).await
    {
        tracing::info!(%host, port, %kind, %refusal, "database connection target refused");
        problems.push("input.host", refusal.to_string());
    }
    problems.into_result()?;
    Ok(Checked {
        name: draft.name.trim().to_owned(),
        kind: kind.expect("checked above"),
        host,
        port,
        database,
        username,
        credential_id: draft.credential_id,
        tls_mode: tls_mode.expect("checked above"),
        pool_size,
    })
}

/// Why `id` cannot be this connection's password, if it cannot. Only the owner's own
/// credentials qualify: an administrator wiring someone else's secret into their
/// connection would read it back through the database server.
async fn check_credential(
    db: &impl ConnectionTrait,
    owner_id: &str,
    id: &str,
) -> DomainResult<Option<String>> {
    let found = if is_well_formed(id) {
        credentials::Entity::find_by_id(id.to_owned())
            .one(db)
            .await?
            .filter(|c| c.owner_id == owner_id)
    } else {
        None
    };
    Ok(match found {
        None => Some(format!("no credential `{id}` of yours exists")),
        Some(c) if !PASSWORD_CREDENTIAL_KINDS.contains(&c.kind.as_str()) => Some(format!(
            "credential `{}` is a {} credential; a database password needs one of kind {}",
            c.name,
            c.kind,
            PASSWORD_CREDENTIAL_KINDS.join(" or ")
        )),
        Some(_) => None,
    })
}

/// Validates and stores a new connection owned by `principal`.
#[tracing::instrument(skip_all, fields(name = %draft.name, kind = %draft.kind))]
pub async fn create(
    db: &impl ConnectionTrait,
    policy: &DatabasePolicy,
    principal: &Principal,
    draft: ConnectionDraft,
) -> DomainResult<database_connections::Model> {
    let checked = check_draft(db, policy, &principal.user_id, draft).await?;
    let now = Utc::now();
    let row = database_connections::ActiveModel {
        id: Set(new_id()),
        owner_id: Set(principal.user_id.clone()),
        name: Set(checked.name),
        kind: Set(checked.kind.as_str().to_owned()),
        host: Set(checked.host),
        port: Set(checked.port),
        database: Set(checked.database),
        username: Set(checked.username),
        credential_id: Set(checked.credential_id),
        tls_mode: Set(checked.tls_mode.as_str().to_owned()),
        pool_size: Set(checked.pool_size),
        options: Set(json!({})),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(row)
}

/// A connection; `NotFound` unless the caller owns it or is an admin.
pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<database_connections::Model> {
    let found = if is_well_formed(id) {
        database_connections::Entity::find_by_id(id.to_owned())
            .one(db)
            .await?
    } else {
        None
    };
    found
        .filter(|c| owns(principal, &c.owner_id))
        .ok_or_else(|| DomainError::not_found("database connection", id))
}

/// Applies `patch`. The new `updated_at` changes the connection's revision, so the next
/// run builds a fresh pool with the new settings. The kind cannot change: the saved
/// queries are written for it.
#[tracing::instrument(skip_all, fields(id))]
pub async fn update(
    db: &impl ConnectionTrait,
    policy: &DatabasePolicy,
    principal: &Principal,
    id: &str,
    patch: ConnectionPatch,
) -> DomainResult<database_connections::Model> {
    let current = get(db, principal, id).await?;
    let draft = ConnectionDraft {
        name: patch.name.unwrap_or(current.name.clone()),
        kind: current.kind.clone(),
        host: patch.host.unwrap_or(current.host.clone()),
        port: Some(patch.port.unwrap_or(current.port)),
        database: patch.database.unwrap_or(current.database.clone()),
        username: patch.username.unwrap_or(current.username.clone()),
        credential_id: patch.credential_id.unwrap_or(current.credential_id.clone()),
        tls_mode: Some(patch.tls_mode.unwrap_or(current.tls_mode.clone())),
        pool_size: Some(patch.pool_size.unwrap_or(current.pool_size)),
    };
    let checked = check_draft(db, policy, &current.owner_id, draft).await?;
    let mut active: database_connections::ActiveModel = current.into();
    active.name = Set(checked.name);
    active.host = Set(checked.host);
    active.port = Set(checked.port);
    active.database = Set(checked.database);
    active.username = Set(checked.username);
    active.credential_id = Set(checked.credential_id);
    active.tls_mode = Set(checked.tls_mode.as_str().to_owned());
    active.pool_size = Set(checked.pool_size);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Deletes a connection and, through `ON DELETE CASCADE`, its saved queries; its pool is
/// closed once the runs still using it finish.
#[tracing::instrument(skip_all, fields(id))]
pub async fn delete(
    db: &impl ConnectionTrait,
    pools: &DbPools,
    principal: &Principal,
    id: &str,
) -> DomainResult<()> {
    let row = get(db, principal, id).await?;
    database_connections::Entity::delete_by_id(row.id.clone())
        .exec(db)
        .await?;
    pools.forget(&row.id);
    Ok(())
}

/// The caller's connections (every user's for an admin), newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    page: PageRequest,
) -> DomainResult<Page<database_connections::Model>> {
    let mut select = database_connections::Entity::find();
    if !principal.is_admin() {
        select = select.filter(database_connections::Column::OwnerId.eq(&principal.user_id));
    }
    let rows = keyset(select, database_connections::Column::Id, &page)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page.first))
}

/// Everything a run needs to reach the server, the password decrypted from the vault.
///
/// The revision combines the row's and the credential's `updated_at`, so changing either
/// the settings or the password replaces the pool.
pub async fn spec(
    db: &impl ConnectionTrait,
    vault: Option<&Vault>,
    principal: &Principal,
    row: &database_connections::Model,
) -> DomainResult<ConnectionSpec> {
    let invalid = |message: String| {
        DomainError::Internal(format!(
            "database connection {} is invalid: {message}",
            row.id
        ))
    };
    let kind = row.kind.parse::<DbKind>().map_err(invalid)?;
    let tls_mode = row.tls_mode.parse::<TlsMode>().map_err(invalid)?;
    let mut revision = row.updated_at.to_rfc3339();
    let password = match &row.credential_id {
        None => None,
        Some(credential_id) => {
            let vault = vault.ok_or_else(|| {
                DomainError::Internal("no credential vault is configured".to_owned())
            })?;
            let secret = vault.resolve(db, principal, credential_id).await?;
            let stamp = credentials::Entity::find_by_id(credential_id.clone())
                .one(db)
                .await?
                .map(|c| c.updated_at.to_rfc3339())
                .unwrap_or_default();
            revision.push('/');
            revision.push_str(&stamp);
            Some(password_of(&row.name, secret)?)
        }
    };
    Ok(ConnectionSpec {
        id: row.id.clone(),
        kind,
        host: row.host.clone(),
        port: u16::try_from(row.port).map_err(|_| invalid(format!("port {}", row.port)))?,
        database: row.database.clone(),
        username: row.username.clone(),
        password,
        tls_mode,
        pool_size: u32::try_from(row.pool_size).unwrap_or(1).max(1),
        revision,
        detailed_errors: principal.is_admin(),
    })
}

/// The password in a `database-password` credential, or the `password` field of a
/// `generic` one.
fn password_of(connection: &str, secret: CredentialSecret) -> DomainResult<SecretString> {
    match secret {
        CredentialSecret::DatabasePassword { password } => Ok(SecretString::from(password)),
        CredentialSecret::Generic(mut fields) => fields
            .remove("password")
            .map(SecretString::from)
            .ok_or_else(|| {
                DomainError::bad_input(
                    "credentialId",
                    format!(
                        "the generic credential of connection `{connection}` has no `password` \
                         field"
                    ),
                )
            }),
        other => Err(DomainError::bad_input(
            "credentialId",
            format!(
                "connection `{connection}` names a {} credential, which holds no database \
                 password",
                other.kind()
            ),
        )),
    }
}
