//! Typed configuration: named defaults, environment variables on top, secrets wrapped so
//! they never print.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use domain::dbquery::DatabasePolicy;
use domain::outbound::OutboundPolicy;
use domain::retention::RetentionPolicy;
use secrecy::SecretString;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const SQLITE_FILE_NAME: &str = "weft.db";

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None` means the embedded SQLite file in `data_dir`.
    pub database_url: Option<String>,
    pub master_key: Option<SecretString>,
    /// An older master key still accepted for decryption while rotating.
    pub master_key_previous: Option<SecretString>,
    /// Becomes the admin's API token on first start (for automation).
    pub admin_token: Option<SecretString>,
    /// What outgoing HTTP (api-call, webhook, llm-agent, web-search) may reach.
    pub outbound: OutboundPolicy,
    /// Which database servers users' connections may reach (`WEFT_ALLOW_PRIVATE_NETWORKS`,
    /// `WEFT_DATABASE_ALLOWED_HOSTS`); Weft's own database is added at start-up.
    pub databases: DatabasePolicy,
    /// Which finished executions the pruner deletes; by default none.
    pub retention: RetentionPolicy,
    /// When set, `GET /metrics` wants `Authorization: Bearer <this>`; open otherwise.
    pub metrics_token: Option<SecretString>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            database_url: None,
            master_key: None,
            master_key_previous: None,
            admin_token: None,
            outbound: OutboundPolicy::default(),
            databases: DatabasePolicy::default(),
            retention: RetentionPolicy::default(),
            metrics_token: None,
        }
    }
}

impl Config {
    /// Reads `WEFT_*` variables; unset ones keep their defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        let mut config = Self::default();
        if let Some(listen) = var("WEFT_LISTEN") {
            config.listen = listen.parse().with_context(|| {
                format!("WEFT_LISTEN={listen} is not an address like {DEFAULT_LISTEN}")
            })?;
        }
        if let Some(dir) = var("WEFT_DATA_DIR") {
            config.data_dir = PathBuf::from(dir);
        }
        config.database_url = var("WEFT_DATABASE_URL");
        config.master_key = var("WEFT_MASTER_KEY").map(SecretString::from);
        config.master_key_previous = var("WEFT_MASTER_KEY_PREVIOUS").map(SecretString::from);
        config.admin_token = var("WEFT_ADMIN_TOKEN").map(SecretString::from);
        config.outbound = OutboundPolicy::from_env().context("reading the outbound HTTP policy")?;
        config.databases =
            DatabasePolicy::from_env().context("reading which database servers may be reached")?;
        config.retention = RetentionPolicy {
            max_age_days: positive("WEFT_RETENTION_DAYS")?,
            max_per_workflow: positive("WEFT_RETENTION_PER_WORKFLOW")?,
        };
        config.metrics_token = var("WEFT_METRICS_TOKEN").map(SecretString::from);
        Ok(config)
    }

    /// The database URL to connect to, creating the data directory for SQLite.
    pub fn resolved_database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating the data directory {}", self.data_dir.display()))?;
        let file = self.data_dir.join(SQLITE_FILE_NAME);
        Ok(format!("sqlite://{}?mode=rwc", file.display()))
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A whole number of at least 1, or `None` when the variable is unset.
fn positive<T: std::str::FromStr + PartialOrd + From<u8>>(name: &str) -> anyhow::Result<Option<T>> {
    let Some(raw) = var(name) else {
        return Ok(None);
    };
    match raw.trim().parse::<T>() {
        Ok(n) if n >= T::from(1) => Ok(Some(n)),
        _ => anyhow::bail!("{name}={raw} must be a whole number of at least 1"),
    }
}

/// The URL with any password replaced, for start-up logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_database_url_is_hidden_in_logs() {
        assert_eq!(
            redact_url("postgres://weft:hunter2@db:5432/weft"),
            "postgres://weft:***@db:5432/weft"
        );
        assert_eq!(
            redact_url("postgres://weft@db/weft"),
            "postgres://weft@db/weft"
        );
        assert_eq!(
            redact_url("sqlite://./data/weft.db?mode=rwc"),
            "sqlite://./data/weft.db?mode=rwc"
        );
    }
}
