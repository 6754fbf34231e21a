//! The vault against real databases: a fresh SQLite file always, and a fresh PostgreSQL
//! database when `WEFT_TEST_POSTGRES_URL` is set.

use std::future::Future;

use entity::credentials;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, Statement,
};
use serde_json::{Value, json};

use super::*;
use crate::auth::{NewUser, Role, bootstrap_admin, create_user};

async fn migrated(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = crate::db::connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Replaces the database name at the end of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Runs `test` on a fresh SQLite file, then on a fresh PostgreSQL database (dropped
/// afterwards, even when the test panics) if `WEFT_TEST_POSTGRES_URL` is set.
async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    test(migrated(&url).await.expect("migrating SQLite")).await;

    let Some(admin_url) = std::env::var("WEFT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return;
    };
    let name = format!("weft_vault_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(&admin_url)
        .await
        .expect("connecting to WEFT_TEST_POSTGRES_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("creating a test database");
    let outcome = match migrated(&with_database(&admin_url, &name)).await {
        Ok(db) => tokio::spawn(test(db)).await.map_err(|e| e.into_panic()),
        Err(e) => Err(Box::new(format!("migrating PostgreSQL: {e}")) as Box<_>),
    };
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .expect("dropping the test database");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

struct Users {
    admin: Principal,
    alice: Principal,
    bob: Principal,
}

async fn users(db: &DatabaseConnection) -> Users {
    let boot = bootstrap_admin(db, None).await.unwrap().unwrap();
    let admin = Principal {
        user_id: boot.admin_id,
        role: Role::Admin,
    };
    let user = async |email: &str| {
        let (model, _) = create_user(
            db,
            &admin,
            NewUser {
                email: email.into(),
                name: email.into(),
                role: Role::User,
            },
        )
        .await
        .unwrap();
        Principal {
            user_id: model.id,
            role: Role::User,
        }
    };
    let alice = user("alice@example.com").await;
    let bob = user("bob@example.com").await;
    Users { admin, alice, bob }
}

fn key_bytes() -> [u8; key::KEY_LEN] {
    let mut bytes = [0u8; key::KEY_LEN];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes
}

fn vault() -> Vault {
    Vault::new(MasterKey::generate(), [])
}

/// One sample per kind, with the secret values that must never be stored in plaintext.
fn samples() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    vec![
        (
            "bearer",
            json!({"token": "bearer-token-7f3a9c"}),
            vec!["bearer-token-7f3a9c"],
        ),
        (
            "basic",
            json!({"username": "svc-user", "password": "basic-pass-51d2e8"}),
            vec!["basic-pass-51d2e8"],
        ),
        (
            "api-key",
            json!({"value": "api-key-value-0c4b7e"}),
            vec!["api-key-value-0c4b7e"],
        ),
        (
            "oauth2-client-credentials",
            json!({"tokenUrl": "https://auth.example.com/token", "clientId": "client-1",
                   "clientSecret": "oauth-secret-9e1f44", "audience": "api://x"}),
            vec!["oauth-secret-9e1f44"],
        ),
        (
            "database-password",
            json!({"password": "db-pass-3a8d21"}),
            vec!["db-pass-3a8d21"],
        ),
        (
            "generic",
            json!({"apiToken": "generic-one-66b0aa", "region": "generic-two-d41c09"}),
            vec!["generic-one-66b0aa", "generic-two-d41c09"],
        ),
    ]
}

#[tokio::test]
async fn every_kind_round_trips_through_create_and_resolve() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let vault = vault();
        for (kind, input, _) in samples() {
            let info = vault
                .create(&db, &u.alice, &format!("{kind} cred"), kind, &input)
                .await
                .unwrap();
            assert_eq!(info.kind, kind);
            assert_eq!(info.owner_id, u.alice.user_id);
            let secret = vault.resolve(&db, &u.alice, &info.id).await.unwrap();
            assert_eq!(secret.kind(), kind);
            let expected =
                CredentialSecret::from_input(kind, &input, "input.kind", "input.secret").unwrap();
            assert_eq!(secret, expected);
        }
        let CredentialSecret::ApiKey { header, .. } =
            CredentialSecret::from_input("api-key", &samples()[2].1, "input.kind", "input.secret")
                .unwrap()
        else {
            panic!("not an api key");
        };
        assert_eq!(header, "X-API-Key");
    })
    .await;
}

#[tokio::test]
async fn stored_rows_contain_no_plaintext_secret() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let vault = vault();
        for (kind, input, _) in samples() {
            vault
                .create(&db, &u.alice, &format!("{kind} cred"), kind, &input)
                .await
                .unwrap();
        }
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT id, owner_id, name, kind, key_id, nonce, ciphertext FROM credentials",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), samples().len());
        for row in rows {
            let mut stored: Vec<Vec<u8>> = Vec::new();
            for col in ["id", "owner_id", "name", "kind", "key_id"] {
                stored.push(row.try_get::<String>("", col).unwrap().into_bytes());
            }
            for col in ["nonce", "ciphertext"] {
                stored.push(row.try_get::<Vec<u8>>("", col).unwrap());
            }
            for (_, _, plain) in samples() {
                for secret in plain {
                    for bytes in &stored {
                        assert!(
                            !contains(bytes, secret.as_bytes()),
                            "{secret} is stored in plaintext"
                        );
                    }
                }
            }
        }
    })
    .await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn the_sqlite_file_contains_no_plaintext_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let db = migrated(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    let u = users(&db).await;
    let vault = vault();
    for (kind, input, _) in samples() {
        vault
            .create(
                &db,
                &u.alice,
                &format!("findable-name-{kind}"),
                kind,
                &input,
            )
            .await
            .unwrap();
    }
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
            bytes.extend(b);
        }
    }
    // The names are stored in plaintext, so finding them shows the scan reads the data.
    assert!(contains(&bytes, b"findable-name-bearer"));
    for (_, _, plain) in samples() {
        for secret in plain {
            assert!(!contains(&bytes, secret.as_bytes()), "{secret} is on disk");
        }
    }
}

#[tokio::test]
async fn a_wrong_master_key_fails_the_store_check_with_a_clear_message() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let wrong = vault();
        wrong.check_against_store(&db).await.unwrap();

        let original = vault();
        for name in ["one", "two"] {
            original
                .create(
                    &db,
                    &u.alice,
                    name,
                    "bearer",
                    &json!({"token": "tok-123456"}),
                )
                .await
                .unwrap();
        }
        original.check_against_store(&db).await.unwrap();

        let err = wrong.check_against_store(&db).await.unwrap_err();
        assert!(matches!(err, VaultError::KeyMismatch { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "the master key (key id {}) does not match the one that encrypted 2 existing \
                 credentials (key id {}); set WEFT_MASTER_KEY to the original key",
                wrong.key_id(),
                original.key_id()
            )
        );

        let id = original
            .list(
                &db,
                &u.alice,
                PageRequest {
                    first: 1,
                    after: None,
                },
            )
            .await
            .unwrap()
            .items
            .remove(0)
            .id;
        let err = wrong.resolve(&db, &u.alice, &id).await.unwrap_err();
        assert!(
            matches!(&err, DomainError::Internal(m) if m.contains(original.key_id())),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_wrong_key_file_is_caught_before_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("t.db").display()
    ))
    .await
    .unwrap();
    let u = users(&db).await;
    let data_dir = dir.path().join("data");
    let first = Vault::load(None, None, &data_dir).unwrap();
    first
        .create(
            &db,
            &u.alice,
            "c",
            "bearer",
            &json!({"token": "tok-123456"}),
        )
        .await
        .unwrap();
    // The key file is lost, e.g. a fresh data directory on a new host.
    std::fs::remove_file(key::key_file_path(&data_dir)).unwrap();
    let second = Vault::load(None, None, &data_dir).unwrap();
    let err = second.check_against_store(&db).await.unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "encrypted 1 existing credential (key id {})",
            first.key_id()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn the_previous_key_keeps_old_credentials_readable() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let old = key_bytes();
        let before = Vault::new(MasterKey::from_bytes(old), []);
        let info = before
            .create(
                &db,
                &u.alice,
                "c",
                "bearer",
                &json!({"token": "tok-123456"}),
            )
            .await
            .unwrap();

        let after = Vault::new(MasterKey::generate(), [MasterKey::from_bytes(old)]);
        after.check_against_store(&db).await.unwrap();
        assert_eq!(
            after.resolve(&db, &u.alice, &info.id).await.unwrap(),
            CredentialSecret::Bearer {
                token: "tok-123456".into()
            }
        );

        let unrelated = Vault::new(MasterKey::generate(), [MasterKey::generate()]);
        let err = unrelated.check_against_store(&db).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("WEFT_MASTER_KEY_PREVIOUS does not match"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn rotation_re_encrypts_every_row_and_retires_the_old_key() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let old = key_bytes();
        let new = key_bytes();
        let before = Vault::new(MasterKey::from_bytes(old), []);
        let mut ids = Vec::new();
        for (owner, (kind, input, _)) in [&u.alice, &u.bob, &u.alice].iter().zip(samples()) {
            let info = before.create(&db, owner, kind, kind, &input).await.unwrap();
            let secret = before.resolve(&db, &u.admin, &info.id).await.unwrap();
            ids.push((info.id, secret));
        }
        let rows_before = credentials::Entity::find().all(&db).await.unwrap();

        let rotation = rotate(
            &db,
            &[MasterKey::from_bytes(old)],
            &MasterKey::from_bytes(new),
        )
        .await
        .unwrap();
        assert_eq!(
            rotation,
            Rotation {
                rotated: 3,
                already_current: 0
            }
        );

        let new_vault = Vault::new(MasterKey::from_bytes(new), []);
        let rows_after = credentials::Entity::find().all(&db).await.unwrap();
        for row in &rows_after {
            assert_eq!(row.key_id, new_vault.key_id());
            let prior = rows_before.iter().find(|r| r.id == row.id).unwrap();
            assert_ne!(row.nonce, prior.nonce);
            assert_ne!(row.ciphertext, prior.ciphertext);
            assert_eq!(row.updated_at, prior.updated_at);
        }
        new_vault.check_against_store(&db).await.unwrap();
        for (id, secret) in &ids {
            assert_eq!(&new_vault.resolve(&db, &u.admin, id).await.unwrap(), secret);
            assert!(before.resolve(&db, &u.admin, id).await.is_err());
        }
        assert!(matches!(
            before.check_against_store(&db).await,
            Err(VaultError::KeyMismatch { .. })
        ));

        let again = rotate(
            &db,
            &[MasterKey::from_bytes(old)],
            &MasterKey::from_bytes(new),
        )
        .await
        .unwrap();
        assert_eq!(
            again,
            Rotation {
                rotated: 0,
                already_current: 3
            }
        );
    })
    .await;
}

#[tokio::test]
async fn rotation_without_the_old_key_changes_nothing() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let before = vault();
        for name in ["one", "two"] {
            before
                .create(
                    &db,
                    &u.alice,
                    name,
                    "bearer",
                    &json!({"token": "tok-123456"}),
                )
                .await
                .unwrap();
        }
        let rows_before = credentials::Entity::find().all(&db).await.unwrap();
        let err = rotate(&db, &[], &MasterKey::generate()).await.unwrap_err();
        assert!(matches!(err, VaultError::UnknownKey { .. }), "{err}");
        let mut rows_after = credentials::Entity::find().all(&db).await.unwrap();
        rows_after.sort_by(|a, b| a.id.cmp(&b.id));
        let mut rows_before = rows_before;
        rows_before.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(rows_after, rows_before);
    })
    .await;
}

#[tokio::test]
async fn another_users_credential_is_not_found() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let vault = vault();
        let info = vault
            .create(
                &db,
                &u.alice,
                "mine",
                "bearer",
                &json!({"token": "tok-123456"}),
            )
            .await
            .unwrap();
        let not_found = |r: Result<_, DomainError>| {
            matches!(
                r,
                Err(DomainError::NotFound {
                    kind: "credential",
                    ..
                })
            )
        };
        assert!(not_found(
            vault.resolve(&db, &u.bob, &info.id).await.map(|_| ())
        ));
        assert!(not_found(
            vault.get(&db, &u.bob, &info.id).await.map(|_| ())
        ));
        assert!(not_found(vault.delete(&db, &u.bob, &info.id).await));
        assert!(not_found(
            vault
                .update_secret(&db, &u.bob, &info.id, &json!({"token": "stolen-1234"}))
                .await
                .map(|_| ())
        ));
        assert!(not_found(
            vault.rename(&db, &u.bob, &info.id, "x").await.map(|_| ())
        ));
        assert!(not_found(
            vault.resolve(&db, &u.alice, "no-such-id").await.map(|_| ())
        ));
        // Nothing bob tried changed it, and an admin may still use it.
        assert_eq!(
            vault.resolve(&db, &u.admin, &info.id).await.unwrap(),
            CredentialSecret::Bearer {
                token: "tok-123456".into()
            }
        );
        assert_eq!(vault.get(&db, &u.alice, &info.id).await.unwrap(), info);
    })
    .await;
}

#[tokio::test]
async fn listing_shows_own_credentials_and_admins_see_all_in_pages() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let vault = vault();
        let token = json!({"token": "tok-123456"});
        for (owner, name) in [
            (&u.alice, "a1"),
            (&u.bob, "b1"),
            (&u.alice, "a2"),
            (&u.alice, "a3"),
        ] {
            vault
                .create(&db, owner, name, "bearer", &token)
                .await
                .unwrap();
        }
        let page = |first, after| PageRequest { first, after };
        let first = vault.list(&db, &u.alice, page(2, None)).await.unwrap();
        assert_eq!(
            first
                .items
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["a3", "a2"]
        );
        assert!(first.has_next_page);
        let rest = vault
            .list(&db, &u.alice, page(2, Some(first.items[1].id.clone())))
            .await
            .unwrap();
        assert_eq!(
            rest.items
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["a1"]
        );
        assert!(!rest.has_next_page);
        let bob = vault.list(&db, &u.bob, page(10, None)).await.unwrap();
        assert_eq!(bob.items.len(), 1);
        let all = vault.list(&db, &u.admin, page(10, None)).await.unwrap();
        assert_eq!(all.items.len(), 4);
    })
    .await;
}

#[tokio::test]
async fn create_reports_every_problem_and_stores_nothing() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let err = vault()
            .create(&db, &u.alice, " ", "basic", &json!({"username": "u"}))
            .await
            .unwrap_err();
        let DomainError::BadInput(problems) = err else {
            panic!("expected BadInput, got {err}");
        };
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["input.name", "input.secret.password"]);
        let err = vault()
            .create(&db, &u.alice, "x", "nope", &json!({}))
            .await
            .unwrap_err();
        assert!(matches!(&err, DomainError::BadInput(p) if p[0].path == "input.kind"));
        assert!(
            credentials::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn update_secret_reseals_under_the_current_key() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let old = key_bytes();
        let before = Vault::new(MasterKey::from_bytes(old), []);
        let info = before
            .create(&db, &u.alice, "c", "bearer", &json!({"token": "tok-123456"}))
            .await
            .unwrap();
        let after = Vault::new(MasterKey::generate(), [MasterKey::from_bytes(old)]);
        let err = after
            .update_secret(&db, &u.alice, &info.id, &json!({"password": "x"}))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, DomainError::BadInput(p) if p.iter().any(|p| p.path == "input.secret.token")),
            "{err}"
        );
        let updated = after
            .update_secret(&db, &u.alice, &info.id, &json!({"token": "tok-abcdef"}))
            .await
            .unwrap();
        assert!(updated.updated_at >= info.updated_at);
        let row = credentials::Entity::find_by_id(info.id.clone())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.key_id, after.key_id());
        assert_eq!(
            after.resolve(&db, &u.alice, &info.id).await.unwrap(),
            CredentialSecret::Bearer {
                token: "tok-abcdef".into()
            }
        );
        let renamed = after.rename(&db, &u.alice, &info.id, "renamed").await.unwrap();
        assert_eq!(renamed.name, "renamed");
        after.delete(&db, &u.alice, &info.id).await.unwrap();
        assert!(after.get(&db, &u.alice, &info.id).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_row_or_a_changed_kind_does_not_resolve() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let vault = vault();
        let a = vault
            .create(
                &db,
                &u.alice,
                "a",
                "bearer",
                &json!({"token": "tok-aaaaaa"}),
            )
            .await
            .unwrap();
        let b = vault
            .create(&db, &u.bob, "b", "bearer", &json!({"token": "tok-bbbbbb"}))
            .await
            .unwrap();
        let row_a = credentials::Entity::find_by_id(a.id.clone())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        credentials::ActiveModel {
            id: Set(b.id.clone()),
            nonce: Set(row_a.nonce.clone()),
            ciphertext: Set(row_a.ciphertext.clone()),
            ..Default::default()
        }
        .update(&db)
        .await
        .unwrap();
        let err = vault.resolve(&db, &u.bob, &b.id).await.unwrap_err();
        assert!(
            matches!(&err, DomainError::Internal(m) if m.contains("could not be decrypted")),
            "{err}"
        );

        credentials::ActiveModel {
            id: Set(a.id.clone()),
            kind: Set("basic".into()),
            ..Default::default()
        }
        .update(&db)
        .await
        .unwrap();
        let err = vault.resolve(&db, &u.alice, &a.id).await.unwrap_err();
        assert!(
            matches!(&err, DomainError::Internal(m) if m.contains("malformed")),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn one_flipped_bit_in_a_stored_ciphertext_or_nonce_does_not_resolve() {
    on_each_backend(|db| async move {
        let u = users(&db).await;
        let vault = vault();
        let secret = json!({"token": "tok-flipped-bits"});
        let info = vault
            .create(&db, &u.alice, "a", "bearer", &secret)
            .await
            .unwrap();
        let original = credentials::Entity::find_by_id(info.id.clone())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        let store = |nonce: Vec<u8>, ciphertext: Vec<u8>| {
            let db = db.clone();
            let id = info.id.clone();
            async move {
                credentials::ActiveModel {
                    id: Set(id),
                    nonce: Set(nonce),
                    ciphertext: Set(ciphertext),
                    ..Default::default()
                }
                .update(&db)
                .await
                .unwrap();
            }
        };
        let last = original.ciphertext.len() - 1;
        for (in_nonce, index, bit) in [(false, 0, 0x01u8), (false, last, 0x80), (true, 3, 0x10)] {
            let (mut nonce, mut ciphertext) = (original.nonce.clone(), original.ciphertext.clone());
            if in_nonce {
                nonce[index] ^= bit;
            } else {
                ciphertext[index] ^= bit;
            }
            store(nonce, ciphertext).await;
            let err = vault.resolve(&db, &u.alice, &info.id).await.unwrap_err();
            assert!(
                matches!(&err, DomainError::Internal(m) if m.contains("could not be decrypted")),
                "nonce: {in_nonce}, byte {index} ^ {bit:#x}: {err}"
            );
        }
        // The same row with its bytes put back opens again: only the flip was wrong.
        store(original.nonce.clone(), original.ciphertext.clone()).await;
        let expected = CredentialSecret::from_input("bearer", &secret, "k", "s").unwrap();
        assert!(vault.resolve(&db, &u.alice, &info.id).await.unwrap() == expected);
    })
    .await;
}
