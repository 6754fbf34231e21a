//! The credential vault: secrets encrypted at rest with AES-256-GCM under a master key,
//! decrypted only for executors, and never returned through the API.
//!
//! Startup: [`Vault::load`] the keys, then [`Vault::check_against_store`] so a wrong key
//! stops the server instead of surfacing later as undecryptable credentials. Rotation:
//! [`rotate`] re-encrypts every row under a new key.

pub mod cipher;
pub mod key;
pub mod redact;
pub mod secret;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::credentials;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;

use crate::access::owns;
use crate::auth::{Principal, check_name};
use crate::error::{DomainError, DomainResult, Problems};
use crate::ids::new_id;
use crate::page::{Page, PageRequest};
use crate::store::keyset;

pub use key::MasterKey;
pub use redact::{redact, redact_value};
pub use secret::{CREDENTIAL_KINDS, CredentialSecret, secret_strings};

/// Why the vault could not start or could not decrypt. Messages name keys by id only and
/// never contain key material or secrets.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// A key given as text is not 32 bytes of hex or base64.
    #[error("{origin} {message}")]
    InvalidKey {
        origin: &'static str,
        message: String,
    },
    /// The key file is unusable: unreadable, damaged, or readable by others.
    #[error("the master key file {} {message}", path.display())]
    KeyFile { path: PathBuf, message: String },
    /// Stored credentials were encrypted with a key that is not configured.
    #[error("{}", mismatch_message(current, mismatched, *previous_configured))]
    KeyMismatch {
        /// Id of the configured master key.
        current: String,
        /// `(key id, number of credentials)` for every key id no configured key matches.
        mismatched: Vec<(String, u64)>,
        previous_configured: bool,
    },
    /// Wrong key for the row, altered data, or a ciphertext moved from another row.
    #[error(
        "credential {row_id} could not be decrypted with key {key_id}: the key is wrong or \
         the stored data was altered"
    )]
    Undecryptable { row_id: String, key_id: String },
    /// The row names a key id that no configured key has.
    #[error(
        "credential {row_id} was encrypted with key {key_id}, which is not configured; set \
         WEFT_MASTER_KEY (or WEFT_MASTER_KEY_PREVIOUS) to that key"
    )]
    UnknownKey { row_id: String, key_id: String },
    /// The row decrypted but its content or kind column does not match the stored secret.
    #[error("credential {row_id} holds a malformed secret")]
    Malformed { row_id: String },
    #[error("storage failed: {0}")]
    Storage(#[from] DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl VaultError {
    /// Names where an invalid key came from, e.g. the environment variable.
    pub fn in_source(self, origin: &'static str) -> Self {
        match self {
            VaultError::InvalidKey { message, .. } => VaultError::InvalidKey { origin, message },
            other => other,
        }
    }
}

fn mismatch_message(current: &str, mismatched: &[(String, u64)], previous: bool) -> String {
    let count: u64 = mismatched.iter().map(|(_, n)| n).sum();
    let ids: Vec<&str> = mismatched.iter().map(|(id, _)| id.as_str()).collect();
    let (noun, id_label) = match (count, ids.len()) {
        (1, _) => ("credential", "key id"),
        (_, 1) => ("credentials", "key id"),
        _ => ("credentials", "key ids"),
    };
    let hint = if previous {
        "set WEFT_MASTER_KEY to the original key (WEFT_MASTER_KEY_PREVIOUS does not match it either)"
    } else {
        "set WEFT_MASTER_KEY to the original key"
    };
    format!(
        "the master key (key id {current}) does not match the one that encrypted {count} \
         existing {noun} ({id_label} {}); {hint}",
        ids.join(", ")
    )
}

impl From<VaultError> for DomainError {
    fn from(err: VaultError) -> Self {
        match err {
            VaultError::Storage(e) => DomainError::Storage(e),
            other => DomainError::Internal(other.to_string()),
        }
    }
}

/// A credential as the API shows it: metadata only, never the secret or its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfo {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<credentials::Model> for CredentialInfo {
    fn from(row: credentials::Model) -> Self {
        Self {
            id: row.id,
            owner_id: row.owner_id,
            name: row.name,
            kind: row.kind,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// How many rows [`rotate`] re-encrypted and how many were already under the new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub rotated: u64,
    pub already_current: u64,
}

#[derive(Debug)]
struct Keys {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

/// The keys that encrypt (current) and decrypt (current and previous) credentials. Cloning
/// shares them.
#[derive(Debug, Clone)]
pub struct Vault {
    keys: Arc<Keys>,
}

impl Vault {
    /// A vault that encrypts with `current` and also decrypts rows sealed by `previous`.
    pub fn new(current: MasterKey, previous: impl IntoIterator<Item = MasterKey>) -> Self {
        let previous = previous
            .into_iter()
            .filter(|k| k.id() != current.id())
            .collect();
        Self {
            keys: Arc::new(Keys { current, previous }),
        }
    }

    /// Loads the current key (`WEFT_MASTER_KEY` or the key file, see [`MasterKey::load`])
    /// and the optional `WEFT_MASTER_KEY_PREVIOUS`.
    pub fn load(
        master_key_env: Option<&SecretString>,
        previous_env: Option<&SecretString>,
        data_dir: &Path,
    ) -> Result<Self, VaultError> {
        let current = MasterKey::load(master_key_env, data_dir)?;
        let previous = MasterKey::load_previous(previous_env)?;
        Ok(Self::new(current, previous))
    }

    /// Id of the key new secrets are encrypted with.
    pub fn key_id(&self) -> &str {
        self.keys.current.id()
    }

    fn key_for(&self, key_id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.keys.current)
            .chain(&self.keys.previous)
            .find(|k| k.id() == key_id)
    }

    /// Fails when stored credentials were encrypted with a key this vault does not hold,
    /// which almost always means the master key was lost or replaced; continuing would
    /// make every such credential fail later, far from the cause.
    pub async fn check_against_store(&self, db: &impl ConnectionTrait) -> Result<(), VaultError> {
        let counts: Vec<(String, i64)> = credentials::Entity::find()
            .select_only()
            .column(credentials::Column::KeyId)
            .column_as(credentials::Column::Id.count(), "n")
            .group_by(credentials::Column::KeyId)
            .into_tuple()
            .all(db)
            .await?;
        let mut mismatched = Vec::new();
        for (key_id, n) in counts {
            let n = u64::try_from(n).unwrap_or(0);
            if key_id == self.key_id() {
                continue;
            }
            if self.key_for(&key_id).is_some() {
                tracing::warn!(
                    key_id,
                    credentials = n,
                    "credentials are still encrypted with the previous master key; run \
                     `weft rotate-key` to re-encrypt them"
                );
            } else {
                mismatched.push((key_id, n));
            }
        }
        if mismatched.is_empty() {
            Ok(())
        } else {
            Err(VaultError::KeyMismatch {
                current: self.key_id().to_owned(),
                mismatched,
                previous_configured: !self.keys.previous.is_empty(),
            })
        }
    }

    fn seal_row(&self, row_id: &str, secret: &CredentialSecret) -> DomainResult<cipher::Sealed> {
        let plaintext = zeroize::Zeroizing::new(
            serde_json::to_vec(secret).map_err(|e| DomainError::Internal(e.to_string()))?,
        );
        Ok(cipher::seal(&self.keys.current, row_id, &plaintext)?)
    }

    fn open_row(&self, row: &credentials::Model) -> Result<CredentialSecret, VaultError> {
        let key = self
            .key_for(&row.key_id)
            .ok_or_else(|| VaultError::UnknownKey {
                row_id: row.id.clone(),
                key_id: row.key_id.clone(),
            })?;
        let plaintext = cipher::open(key, &row.id, &row.nonce, &row.ciphertext)?;
        let secret: CredentialSecret =
            serde_json::from_slice(&plaintext).map_err(|_| VaultError::Malformed {
                row_id: row.id.clone(),
            })?;
        // The kind column is not authenticated; trust only the sealed copy.
        if secret.kind() != row.kind {
            return Err(VaultError::Malformed {
                row_id: row.id.clone(),
            });
        }
        Ok(secret)
    }

    /// Validates and stores a new credential owned by `principal`. `secret` is the kind's
    /// JSON object (e.g. `{"token": "..."}` for `bearer`); problems are reported at
    /// `input.name`, `input.kind` and `input.secret.<field>`.
    ///
    /// One INSERT, so it is atomic on its own and may also run inside a caller's transaction.
    #[tracing::instrument(skip_all, fields(kind = %kind))]
    pub async fn create(
        &self,
        db: &impl ConnectionTrait,
        principal: &Principal,
        name: &str,
        kind: &str,
        secret: &Value,
    ) -> DomainResult<CredentialInfo> {
        let mut problems = Problems::default();
        check_name(&mut problems, "input.name", name);
        let parsed = CredentialSecret::from_input(kind, secret, "input.kind", "input.secret");
        if let Err(found) = &parsed {
            problems.extend(found.iter().cloned());
        }
        problems.into_result()?;
        let secret = parsed.map_err(DomainError::BadInput)?;
        let id = new_id();
        let sealed = self.seal_row(&id, &secret)?;
        let now = Utc::now();
        let row = credentials::ActiveModel {
            id: Set(id),
            owner_id: Set(principal.user_id.clone()),
            name: Set(name.trim().to_owned()),
            kind: Set(secret.kind().to_owned()),
            key_id: Set(sealed.key_id),
            nonce: Set(sealed.nonce),
            ciphertext: Set(sealed.ciphertext),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
        Ok(row.into())
    }

    async fn row(
        db: &impl ConnectionTrait,
        principal: &Principal,
        id: &str,
    ) -> DomainResult<credentials::Model> {
        credentials::Entity::find_by_id(id.to_owned())
            .one(db)
            .await?
            .filter(|c| owns(principal, &c.owner_id))
            .ok_or_else(|| DomainError::not_found("credential", id))
    }

    /// A credential's metadata; `NotFound` unless the caller owns it or is an admin.
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        principal: &Principal,
        id: &str,
    ) -> DomainResult<CredentialInfo> {
        Ok(Self::row(db, principal, id).await?.into())
    }

    /// The caller's credentials (every user's for an admin), newest first.
    pub async fn list(
        &self,
        db: &impl ConnectionTrait,
        principal: &Principal,
        page: PageRequest,
    ) -> DomainResult<Page<CredentialInfo>> {
        let mut select = credentials::Entity::find();
        if !principal.is_admin() {
            select = select.filter(credentials::Column::OwnerId.eq(&principal.user_id));
        }
        let rows = keyset(select, credentials::Column::Id, &page)
            .all(db)
            .await?;
        Ok(Page::from_overfetch(rows, page.first).map(CredentialInfo::from))
    }

    /// Deletes a credential; `NotFound` unless the caller owns it or is an admin.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn delete(
        &self,
        db: &impl ConnectionTrait,
        principal: &Principal,
        id: &str,
    ) -> DomainResult<()> {
        let row = Self::row(db, principal, id).await?;
        credentials::Entity::delete_by_id(row.id).exec(db).await?;
        Ok(())
    }

    /// Renames a credential; the secret is untouched.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn rename(
        &self,
        db: &impl ConnectionTrait,
        principal: &Principal,
        id: &str,
        name: &str,
    ) -> DomainResult<CredentialInfo> {
        let mut problems = Problems::default();
        check_name(&mut problems, "input.name", name);
        problems.into_result()?;
        let row = Self::row(db, principal, id).await?;
        let mut active: credentials::ActiveModel = row.into();
        active.name = Set(name.trim().to_owned());
        active.updated_at = Set(Utc::now());
        Ok(active.update(db).await?.into())
    }

    /// Replaces the secret, keeping the kind; it is sealed afresh under the current key.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn update_secret(
        &self,
        db: &impl ConnectionTrait,
        principal: &Principal,
        id: &str,
        secret: &Value,
    ) -> DomainResult<CredentialInfo> {
        let row = Self::row(db, principal, id).await?;
        let secret = CredentialSecret::from_input(&row.kind, secret, "input.kind", "input.secret")
            .map_err(DomainError::BadInput)?;
        let sealed = self.seal_row(&row.id, &secret)?;
        let mut active: credentials::ActiveModel = row.into();
        active.key_id = Set(sealed.key_id);
        active.nonce = Set(sealed.nonce);
        active.ciphertext = Set(sealed.ciphertext);
        active.updated_at = Set(Utc::now());
        Ok(active.update(db).await?.into())
    }

    /// Decrypts a credential for an executor running on behalf of `owner`, who must own it
    /// or be an admin; anyone else gets `NotFound`, so ids cannot be probed.
    #[tracing::instrument(skip_all, fields(id = %credential_id))]
    pub async fn resolve(
        &self,
        db: &impl ConnectionTrait,
        owner: &Principal,
        credential_id: &str,
    ) -> DomainResult<CredentialSecret> {
        let row = Self::row(db, owner, credential_id).await?;
        Ok(self.open_row(&row)?)
    }
}

/// Re-encrypts every credential under `new_key` in one transaction: either all rows move
/// to the new key or none do. Rows are decrypted with whichever of `old_keys` (or
/// `new_key`) their key id names; a row no given key opens aborts the whole rotation.
///
/// A server still running with an old key may store new rows under it after this commits,
/// so run it with the server stopped, or keep the old key in `WEFT_MASTER_KEY_PREVIOUS`
/// and rotate again after the restart.
pub async fn rotate(
    db: &DatabaseConnection,
    old_keys: &[MasterKey],
    new_key: &MasterKey,
) -> Result<Rotation, VaultError> {
    let txn = db.begin().await?;
    let rows = credentials::Entity::find().all(&txn).await?;
    let mut rotation = Rotation {
        rotated: 0,
        already_current: 0,
    };
    for row in rows {
        if row.key_id == new_key.id() {
            rotation.already_current += 1;
            continue;
        }
        let key = old_keys
            .iter()
            .find(|k| k.id() == row.key_id)
            .ok_or_else(|| VaultError::UnknownKey {
                row_id: row.id.clone(),
                key_id: row.key_id.clone(),
            })?;
        let plaintext = cipher::open(key, &row.id, &row.nonce, &row.ciphertext)?;
        let sealed = cipher::seal(new_key, &row.id, &plaintext)?;
        // updated_at is left alone: the secret did not change, only its wrapping.
        let mut active: credentials::ActiveModel = row.into();
        active.key_id = Set(sealed.key_id);
        active.nonce = Set(sealed.nonce);
        active.ciphertext = Set(sealed.ciphertext);
        active.update(&txn).await?;
        rotation.rotated += 1;
    }
    txn.commit().await?;
    tracing::info!(
        key_id = new_key.id(),
        rotated = rotation.rotated,
        "re-encrypted credentials under the new master key"
    );
    Ok(rotation)
}
