//! The one factory that builds Weft: `main` and every test start the same thing.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use migration::MigratorTrait;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use domain::engine::{Engine, EngineConfig};
use domain::outbound::OutboundClient;
use domain::vault::Vault;

use crate::config::{Config, redact_url};
use crate::graphql::build_schema;
use crate::http::{AppState, router};

pub struct Application {
    listener: TcpListener,
    router: Router,
    db: DatabaseConnection,
    engine: Engine,
    database_url: String,
    /// Set only on the first start, when the admin token was generated (not preset).
    generated_admin_token: Option<String>,
    retention: domain::retention::RetentionPolicy,
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
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("creating the data directory {}", config.data_dir.display())
        })?;
        let vault = Vault::load(
            config.master_key.as_ref(),
            config.master_key_previous.as_ref(),
            &config.data_dir,
        )
        .context("loading the master key")?;
        // A wrong key must stop start-up here, not surface later as undecryptable secrets.
        vault
            .check_against_store(&db)
            .await
            .context("checking the master key against stored credentials")?;
        let outbound = OutboundClient::with_policy(config.outbound.clone())
            .context("building the outbound HTTP client")?;
        let sandbox = domain::sandbox::Sandbox::shared()
            .map_err(|e| anyhow::anyhow!("starting the code-tool sandbox: {e}"))?;
        // Compiling the JavaScript engine takes seconds when its disk cache is empty: do it
        // now, off the request path, rather than in the first code tool's run.
        let warming = sandbox.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = warming.warm_up() {
                tracing::error!("the JavaScript engine for code tools failed to load: {e}");
            }
        });
        // Weft's own database is never a connection target, whatever the allowlist says.
        let mut database_policy = config.databases.clone();
        database_policy.own_database = domain::dbquery::OwnDatabase::from_url(&database_url).await;
        let engine = Engine::new(
            db.clone(),
            EngineConfig {
                outbound,
                vault: Some(vault.clone()),
                sandbox,
                database_policy,
                ..EngineConfig::default()
            },
        );
        // Executions a previous process left running continue from their last finished node.
        let resumed = engine
            .resume_interrupted()
            .await
            .map_err(|e| anyhow::anyhow!("resuming interrupted executions: {e}"))?;
        if resumed > 0 {
            tracing::info!(resumed, "resumed interrupted executions");
        }
        let state = AppState {
            db: db.clone(),
            hooks: crate::hooks::Hooks::new(db.clone(), engine.clone(), vault.clone()),
            schema: build_schema(db.clone(), engine.clone(), vault),
            metrics: crate::metrics::Metrics::new(engine.events().clone()),
            metrics_token: config.metrics_token.clone(),
        };
        Ok(Self {
            listener,
            router: router(state),
            db,
            engine,
            database_url,
            generated_admin_token: bootstrap.and_then(|b| b.generated_token),
            retention: config.retention,
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

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Serves (and fires schedules, and prunes history) until `shutdown` resolves, then finishes in-flight
    /// requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop = CancellationToken::new();
        tokio::spawn(domain::schedule::run_scheduler(
            self.db.clone(),
            self.engine.clone(),
            stop.clone(),
        ));
        tokio::spawn(domain::retention::run_pruner(
            self.db.clone(),
            self.retention,
            stop.clone(),
        ));
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        stop.cancel();
        result
    }
}
