//! The master key that encrypts every credential, and where it comes from: `WEFT_MASTER_KEY`
//! or a key file generated once in the data directory.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::VaultError;

/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;

/// Name of the generated key file inside the data directory.
pub const KEY_FILE_NAME: &str = "master.key";

/// A 256-bit master key. The bytes live on the heap so moving the key does not leave copies
/// on the stack, are wiped on drop, and never appear in `Debug` output.
pub struct MasterKey {
    bytes: Box<[u8; KEY_LEN]>,
    id: String,
}

impl MasterKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(mut bytes: [u8; KEY_LEN]) -> Self {
        let boxed = Box::new(bytes);
        bytes.zeroize();
        Self::from_boxed(boxed)
    }

    fn from_boxed(bytes: Box<[u8; KEY_LEN]>) -> Self {
        // A plain SHA-256 prefix so an operator can check which key is which with
        // `sha256sum master.key`; 32 bits of a hash reveal nothing useful about 256 key bits.
        let id = hex::encode(&Sha256::digest(bytes.as_slice())[..4]);
        Self { bytes, id }
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = Box::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(bytes.as_mut_slice());
        Self::from_boxed(bytes)
    }

    /// Parses a key written as 64 hex characters or as base64 (standard or URL-safe, padded
    /// or not) of exactly 32 bytes. The error never contains the input.
    pub fn parse(encoded: &str) -> Result<Self, VaultError> {
        let text = encoded.trim();
        let decoded = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            use base64::engine::general_purpose::{
                STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
            };
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
        };
        let decoded = Zeroizing::new(decoded.unwrap_or_default());
        if decoded.len() != KEY_LEN {
            return Err(VaultError::InvalidKey {
                origin: "the master key",
                message: format!(
                    "must be {KEY_LEN} random bytes written as 64 hex characters or as base64 \
                     (44 characters), got {} characters{}; generate one with \
                     `openssl rand -base64 32`",
                    text.chars().count(),
                    if decoded.is_empty() {
                        String::new()
                    } else {
                        format!(" decoding to {} bytes", decoded.len())
                    }
                ),
            });
        }
        let mut bytes = Box::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&decoded);
        Ok(Self::from_boxed(bytes))
    }

    /// The key's identifier: the first 8 hex characters of its SHA-256. Stored beside every
    /// ciphertext so the vault knows which key to use and can tell a wrong key from damage.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// The key as base64, for an operator who must copy it into `WEFT_MASTER_KEY`.
    pub fn to_base64(&self) -> SecretString {
        base64::engine::general_purpose::STANDARD
            .encode(self.bytes.as_slice())
            .into()
    }

    /// The current master key: `WEFT_MASTER_KEY` when given, otherwise
    /// `<data_dir>/master.key`, generated (mode 0600) the first time.
    ///
    /// An existing key file that its group or other users may access is refused rather than
    /// trusted: such a key may already have leaked.
    pub fn load(
        master_key_env: Option<&SecretString>,
        data_dir: &Path,
    ) -> Result<Self, VaultError> {
        if let Some(value) = master_key_env {
            return Self::parse(value.expose_secret()).map_err(|e| e.in_source("WEFT_MASTER_KEY"));
        }
        let path = data_dir.join(KEY_FILE_NAME);
        match read_key_file(&path)? {
            Some(key) => Ok(key),
            None => create_key_file(data_dir, &path),
        }
    }

    /// The older key from `WEFT_MASTER_KEY_PREVIOUS`, kept for decryption during a rotation.
    pub fn load_previous(previous_env: Option<&SecretString>) -> Result<Option<Self>, VaultError> {
        previous_env
            .map(|value| {
                Self::parse(value.expose_secret())
                    .map_err(|e| e.in_source("WEFT_MASTER_KEY_PREVIOUS"))
            })
            .transpose()
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn key_file_error(path: &Path, message: impl Into<String>) -> VaultError {
    VaultError::KeyFile {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// `None` when the file does not exist yet.
fn read_key_file(path: &Path) -> Result<Option<MasterKey>, VaultError> {
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_file_error(path, format!("cannot be read: {e}"))),
    };
    if !metadata.is_file() {
        return Err(key_file_error(path, "is not a regular file"));
    }
    check_private(path, &metadata)?;
    let contents = Zeroizing::new(
        std::fs::read(path).map_err(|e| key_file_error(path, format!("cannot be read: {e}")))?,
    );
    if contents.len() == KEY_LEN {
        let mut bytes = Box::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&contents);
        return Ok(Some(MasterKey::from_boxed(bytes)));
    }
    // Operators may also write the key as text, e.g. restored from a WEFT_MASTER_KEY backup.
    std::str::from_utf8(&contents)
        .ok()
        .and_then(|text| MasterKey::parse(text).ok())
        .map(Some)
        .ok_or_else(|| {
            key_file_error(
                path,
                format!(
                    "holds {} bytes; expected {KEY_LEN} raw bytes or the key as 64 hex \
                     characters or base64",
                    contents.len()
                ),
            )
        })
}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &std::fs::Metadata) -> Result<(), VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(key_file_error(
            path,
            format!(
                "has mode {mode:04o}, so other users may read it; the key may have leaked. \
                 Restrict it with `chmod 600 {}` (and rotate the key if others had access)",
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), VaultError> {
    Ok(())
}

fn create_key_file(data_dir: &Path, path: &Path) -> Result<MasterKey, VaultError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| key_file_error(path, format!("cannot create {}: {e}", data_dir.display())))?;
    let key = MasterKey::generate();
    let mut options = std::fs::OpenOptions::new();
    // create_new: two processes starting at once must not both write a key.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return read_key_file(path)?
                .ok_or_else(|| key_file_error(path, "disappeared while being created"));
        }
        Err(e) => return Err(key_file_error(path, format!("cannot be created: {e}"))),
    };
    let written = file.write_all(key.bytes()).and_then(|()| file.sync_all());
    if let Err(e) = written {
        // A truncated key file would be refused on the next start; better none at all.
        let _ = std::fs::remove_file(path);
        return Err(key_file_error(path, format!("cannot be written: {e}")));
    }
    tracing::info!(path = %path.display(), key_id = key.id(), "generated a new master key");
    Ok(key)
}

/// The path of the key file `MasterKey::load` uses when `WEFT_MASTER_KEY` is not set.
pub fn key_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_parses_from_hex_and_from_base64_to_the_same_id() {
        let key = MasterKey::generate();
        let hex_text = hex::encode(key.bytes());
        let b64 = key.to_base64();
        let from_hex = MasterKey::parse(&hex_text).unwrap();
        let from_b64 = MasterKey::parse(b64.expose_secret()).unwrap();
        let from_unpadded = MasterKey::parse(b64.expose_secret().trim_end_matches('=')).unwrap();
        assert_eq!(from_hex.id(), key.id());
        assert_eq!(from_b64.id(), key.id());
        assert_eq!(from_unpadded.id(), key.id());
        assert_eq!(key.id().len(), 8);
    }

    #[test]
    fn a_key_of_the_wrong_length_is_rejected_without_echoing_it() {
        for bad in [
            "",
            "hunter2-not-a-key",
            &hex::encode([7u8; 16]),
            &base64::engine::general_purpose::STANDARD.encode([7u8; 31]),
        ] {
            let err = MasterKey::parse(bad).unwrap_err().to_string();
            assert!(err.contains("32 random bytes"), "{err}");
            if !bad.is_empty() {
                assert!(!err.contains(bad), "{err}");
            }
        }
    }

    #[test]
    fn the_env_variable_is_named_in_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = MasterKey::load(Some(&SecretString::from("short")), dir.path()).unwrap_err();
        assert!(err.to_string().starts_with("WEFT_MASTER_KEY "), "{err}");
        let err = MasterKey::load_previous(Some(&SecretString::from("short"))).unwrap_err();
        assert!(
            err.to_string().starts_with("WEFT_MASTER_KEY_PREVIOUS "),
            "{err}"
        );
    }

    #[test]
    fn debug_output_shows_the_id_and_not_the_bytes() {
        let key = MasterKey::from_bytes([0xAB; KEY_LEN]);
        let debug = format!("{key:?}");
        assert!(debug.contains(key.id()));
        assert!(!debug.to_lowercase().contains("abab"), "{debug}");
        assert!(!debug.contains("171"), "{debug}");
    }

    #[test]
    fn a_missing_key_file_is_generated_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let first = MasterKey::load(None, &data_dir).unwrap();
        let second = MasterKey::load(None, &data_dir).unwrap();
        assert_eq!(first.id(), second.id());
        let path = key_file_path(&data_dir);
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn the_env_key_wins_over_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let from_file = MasterKey::load(None, dir.path()).unwrap();
        let env = MasterKey::generate();
        let loaded = MasterKey::load(Some(&env.to_base64()), dir.path()).unwrap();
        assert_eq!(loaded.id(), env.id());
        assert_ne!(loaded.id(), from_file.id());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        MasterKey::load(None, dir.path()).unwrap();
        let path = key_file_path(dir.path());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load(None, dir.path()).unwrap_err().to_string();
        assert!(err.contains("mode 0644"), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_key_file_may_hold_the_key_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::generate();
        let path = key_file_path(dir.path());
        std::fs::write(&path, format!("{}\n", hex::encode(key.bytes()))).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(MasterKey::load(None, dir.path()).unwrap().id(), key.id());
    }

    #[test]
    fn a_damaged_key_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_file_path(dir.path());
        std::fs::write(&path, [1u8; 5]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let err = MasterKey::load(None, dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "the master key file {} holds 5 bytes; expected 32 raw bytes or the key as 64 \
                 hex characters or base64",
                path.display()
            )
        );
    }
}
