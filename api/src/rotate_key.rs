//! `weft rotate-key`: re-encrypts every credential under a new master key.
//!
//! Run it with the server stopped. Crash safety for a key kept in the key file: the new
//! key is written next to the old one (`master.key.new`) and the old one copied to a
//! backup before the database changes; the database is re-encrypted in one transaction;
//! only then does the new key replace `master.key`. At no point is the only copy of a key
//! that credentials need lost. For a key from `WEFT_MASTER_KEY` the operator is told what
//! to set; the new key is printed only if it was generated here.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use domain::vault::{self, MasterKey, Vault};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;

/// Where the current master key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `WEFT_MASTER_KEY`.
    Environment,
    /// The key file in the data directory.
    File(PathBuf),
}

/// What a rotation did.
#[derive(Debug)]
pub struct RotateKeyReport {
    pub old_key_id: String,
    pub new_key_id: String,
    /// Credentials re-encrypted under the new key.
    pub rotated: u64,
    /// Credentials that were under the new key already.
    pub already_current: u64,
    pub source: KeySource,
    /// A copy of the old key file (mode 0600), for key-file rotations.
    pub backup: Option<PathBuf>,
    /// The new key, when it came from the environment and was generated here: the
    /// operator must put it in `WEFT_MASTER_KEY` before the next start.
    pub generated_key: Option<SecretString>,
}

/// Re-encrypts every credential in the configured database under `new_key` (base64 or
/// hex), or under a freshly generated key when `None`.
///
/// The current key is `WEFT_MASTER_KEY` or the key file (never generated here: rotating
/// a key nobody has is an error), plus `WEFT_MASTER_KEY_PREVIOUS` for rows a rotation in
/// progress left under the older key. Stored credentials that none of them opens stop the
/// rotation before anything changes.
pub async fn rotate_key(
    config: &Config,
    new_key: Option<&SecretString>,
) -> anyhow::Result<RotateKeyReport> {
    let key_path = vault::key::key_file_path(&config.data_dir);
    let source = match &config.master_key {
        Some(_) => KeySource::Environment,
        None if key_path.exists() => KeySource::File(key_path.clone()),
        None => bail!(
            "there is no master key to rotate: WEFT_MASTER_KEY is not set and {} does not \
             exist",
            key_path.display()
        ),
    };
    let (db, _) = crate::app::open_database(config).await?;
    let load = || {
        Vault::load(
            config.master_key.as_ref(),
            config.master_key_previous.as_ref(),
            &config.data_dir,
        )
        .context("loading the current master key")
    };
    load()?
        .check_against_store(&db)
        .await
        .context("checking the current master key against stored credentials")?;

    let current = MasterKey::load(config.master_key.as_ref(), &config.data_dir)
        .context("loading the current master key")?;
    let previous = MasterKey::load_previous(config.master_key_previous.as_ref())
        .context("loading WEFT_MASTER_KEY_PREVIOUS")?;
    let generated_here = new_key.is_none();
    let new_key = match new_key {
        Some(text) => MasterKey::parse(text.expose_secret())
            .map_err(|e| e.in_source("the new key (--new-key)"))?,
        None => MasterKey::generate(),
    };
    // Giving the current key again finishes an earlier rotation: rows that processes
    // still running with the old key wrote meanwhile move to the current key.
    let sweep = new_key.id() == current.id();
    if sweep && previous.is_none() {
        bail!(
            "the new key is the current key (key id {}); give a different one or none to \
             have one generated (or set WEFT_MASTER_KEY_PREVIOUS to move credentials from \
             an older key to this one)",
            current.id()
        );
    }
    let old_key_id = current.id().to_owned();
    let old_keys: Vec<MasterKey> = std::iter::once(current).chain(previous).collect();

    let (rotation, backup) = match &source {
        _ if sweep => {
            let rotation = vault::rotate(&db, &old_keys, &new_key)
                .await
                .context("re-encrypting the credentials")?;
            (rotation, None)
        }
        KeySource::Environment => {
            let rotation = vault::rotate(&db, &old_keys, &new_key)
                .await
                .context("re-encrypting the credentials")?;
            (rotation, None)
        }
        KeySource::File(path) => {
            let staged = sibling(path, "new");
            // A leftover from an earlier attempt is garbage: the store check above proved
            // no credential needs it.
            let _ = std::fs::remove_file(&staged);
            write_private(&staged, new_key.to_base64().expose_secret().as_bytes())
                .with_context(|| format!("writing the new key to {}", staged.display()))?;
            let backup = sibling(path, &format!("{old_key_id}.bak"));
            let old_contents = zeroize::Zeroizing::new(
                std::fs::read(path)
                    .with_context(|| format!("reading the key file {}", path.display()))?,
            );
            // The name carries the key id, so an existing backup already holds this key.
            if !backup.exists() {
                write_private(&backup, &old_contents)
                    .with_context(|| format!("backing up the old key to {}", backup.display()))?;
            }
            let rotation = match vault::rotate(&db, &old_keys, &new_key).await {
                Ok(rotation) => rotation,
                Err(e) => {
                    let _ = std::fs::remove_file(&staged);
                    return Err(e).context("re-encrypting the credentials (nothing was changed)");
                }
            };
            std::fs::rename(&staged, path).with_context(|| {
                format!(
                    "the credentials are now encrypted with the key in {}, but moving it to {} \
                     failed; move it there by hand before starting Weft",
                    staged.display(),
                    path.display()
                )
            })?;
            sync_dir(path);
            (rotation, Some(backup))
        }
    };
    db.close().await.ok();
    Ok(RotateKeyReport {
        old_key_id,
        new_key_id: new_key.id().to_owned(),
        rotated: rotation.rotated,
        already_current: rotation.already_current,
        generated_key: (source == KeySource::Environment && generated_here)
            .then(|| new_key.to_base64()),
        source,
        backup,
    })
}

/// `<path>.<suffix>` beside `path`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// Creates `path` (which must not exist) readable by its owner only, and syncs it.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// Makes the rename durable; best effort, the rename itself already happened.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

/// What the operator reads after a rotation: what happened and what to do next.
pub fn instructions(report: &RotateKeyReport) -> String {
    let mut text = format!(
        "Re-encrypted {} credential(s) under the new master key {} (old key {}; {} were \
         under the new key already).\n",
        report.rotated, report.new_key_id, report.old_key_id, report.already_current
    );
    match (&report.source, &report.generated_key) {
        (KeySource::File(path), _) => {
            text.push_str(&format!(
                "The new key is in {} (mode 0600). The old key is kept in {}; delete it once \
                 Weft has started with the new key and you have a backup of the new one.\n",
                path.display(),
                report
                    .backup
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |p| p.display().to_string())
            ));
        }
        (KeySource::Environment, Some(key)) => {
            text.push_str(
                "Before starting Weft again, set WEFT_MASTER_KEY to this new key (shown once; \
                 store it like the old one):\n\n",
            );
            text.push_str(&format!("    {}\n\n", key.expose_secret()));
            text.push_str(
                "Processes still running with the old key may keep it in \
                 WEFT_MASTER_KEY_PREVIOUS until they restart; then run `weft rotate-key \
                 --new-key <the new key>` once more with it set, to move what they wrote \
                 meanwhile, and remove WEFT_MASTER_KEY_PREVIOUS.\n",
            );
        }
        (KeySource::Environment, None) => {
            text.push_str(
                "Before starting Weft again, set WEFT_MASTER_KEY to the new key you gave. \
                 Processes still running with the old key may keep it in \
                 WEFT_MASTER_KEY_PREVIOUS until they restart; then run `weft rotate-key \
                 --new-key <the new key>` once more with it set, to move what they wrote \
                 meanwhile, and remove WEFT_MASTER_KEY_PREVIOUS.\n",
            );
        }
    }
    text
}
