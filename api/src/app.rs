//! The one factory that builds Weft: `main` and every test start the same thing.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use migration::MigratorTrait;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::config::{Config, redact_url};
use crate::graphql::build_schema;
use crate::http::{AppState, router};

pub struct Application {
    listener: TcpListener,
    router: Router,
    db: DatabaseConnection,
    database_url: String,
    /// Set only on the first start, when the admin token was generated (not preset).
    generated_admin_token: Option<String>,
}

/// Connects and brings the schema up to date; safe to run on every start.
pub async fn open_database(config: &Config) -> anyhow::Result<(DatabaseConnection, String)> {
    let url = config.resolved_database_url()?;
    let db = domain::db::connect(&url)
        .await
        .with_context(|| format!("connecting to {}", redact_url(&url)))?;
    migration::Migrator::up(&db, None)
        .await
        .context("applying database migrations")?;
    Ok((db, url))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (db, database_url) = open_database(&config).await?;
        let preset = config
            .admin_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned());
        let bootstrap = domain::auth::bootstrap_admin(&db, preset.as_deref())
            .await
            .map_err(|e| anyhow::anyhow!("creating the admin user: {e}"))?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let state = AppState {
            db: db.clone(),
            schema: build_schema(db.clone()),
        };
        Ok(Self {
            listener,
            router: router(state),
            db,
            database_url,
            generated_admin_token: bootstrap.and_then(|b| b.generated_token),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn database_url(&self) -> String {
        redact_url(&self.database_url)
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn generated_admin_token(&self) -> Option<&str> {
        self.generated_admin_token.as_deref()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
