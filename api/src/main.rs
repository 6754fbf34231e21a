use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use weft::{Application, Config};

/// Weft: workflow automation with a GraphQL API.
#[derive(Parser)]
#[command(name = "weft", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Re-encrypt every stored credential under a new master key. Stop the server first.
    ///
    /// With the key in the key file, the file is replaced (the old key is kept as
    /// `master.key.<key id>.bak`); with WEFT_MASTER_KEY, set it to the new key afterwards.
    RotateKey {
        /// The new key (32 bytes as base64 or hex); generated when absent. Prefer the
        /// environment variable: command lines are visible to other local users.
        #[arg(long, env = "WEFT_NEW_MASTER_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
    /// Measure the engine and the GraphQL path (results go in the README).
    Bench {
        #[arg(long, default_value_t = 1000)]
        iterations: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Measure code tools in the sandbox, cold and warm (results go in the README).
    BenchSandbox {
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
        #[arg(long, default_value_t = 20)]
        cold_starts: usize,
    },
    /// Fill the database (WEFT_DATABASE_URL or the default SQLite file) with synthetic
    /// execution history.
    Seed {
        #[arg(long)]
        executions: usize,
        #[arg(long, default_value_t = 100)]
        workflows: usize,
    },
    /// Measure history queries over GraphQL against a seeded database (results go in the
    /// README).
    BenchHistory {
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
    /// Measure live event latency, commit to WebSocket frame, with 1 and 1,000 subscribers
    /// (results go in the README).
    BenchEvents {
        /// Measured workflow runs per subscriber count.
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// Subscriber counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,1000")]
        subscribers: Vec<usize>,
    },
    /// Measure per-query overhead of database queries against the raw drivers (results go
    /// in the README).
    BenchDb {
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
        #[arg(
            long,
            env = "WEFT_BENCH_POSTGRES_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/test"
        )]
        postgres_url: String,
        #[arg(
            long,
            env = "WEFT_BENCH_MYSQL_URL",
            default_value = "mysql://root@127.0.0.1:3306/test"
        )]
        mysql_url: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        // Logs go to stderr; stdout carries only what a user or script reads (address, token, SDL).
        .with_writer(std::io::stderr)
        .init();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", weft::graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            let config = Config::from_env()?;
            let (_, url) = weft::app::open_database(&config).await?;
            println!("migrations applied to {}", weft::config::redact_url(&url));
            Ok(())
        }
        Command::Serve => serve().await,
        Command::RotateKey { new_key } => {
            let config = Config::from_env()?;
            let new_key = new_key.map(secrecy::SecretString::from);
            let report = weft::rotate_key::rotate_key(&config, new_key.as_ref()).await?;
            print!("{}", weft::rotate_key::instructions(&report));
            Ok(())
        }
        Command::Seed {
            executions,
            workflows,
        } => seed(executions, workflows).await,
        Command::BenchEvents { runs, subscribers } => {
            weft::bench_events::run(weft::bench_events::Options { runs, subscribers }).await
        }
        Command::BenchSandbox {
            iterations,
            cold_starts,
        } => {
            weft::bench_sandbox::run(weft::bench_sandbox::Options {
                iterations,
                cold_starts,
            })
            .await
        }
        Command::BenchDb {
            iterations,
            postgres_url,
            mysql_url,
        } => {
            weft::bench_db::run(weft::bench_db::Options {
                iterations,
                postgres_url,
                mysql_url,
            })
            .await
        }
        Command::BenchHistory { iterations } => {
            weft::bench_history::run(weft::bench_history::Options { iterations }).await
        }
        Command::Bench {
            iterations,
            concurrency,
            seconds,
        } => {
            weft::bench::run(weft::bench::BenchOptions {
                iterations,
                concurrency,
                throughput_secs: seconds,
            })
            .await
        }
    }
}

async fn seed(executions: usize, workflows: usize) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let (db, url) = weft::app::open_database(&config).await?;
    let report = weft::seed::seed(
        &db,
        weft::seed::SeedOptions {
            executions,
            workflows,
        },
    )
    .await?;
    println!(
        "seeded {} executions ({} node runs) over {} workflows into {} in {:.1} s",
        report.executions,
        report.node_runs,
        report.workflow_ids.len(),
        weft::config::redact_url(&url),
        report.elapsed.as_secs_f64()
    );
    if let Some(token) = report.generated_admin_token {
        println!(
            "The database was empty: an administrator was created. Its API token is shown once:"
        );
        println!("    {token}");
    }
    Ok(())
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let app = Application::build(config).await?;
    let addr = app.local_addr();
    println!("weft listening on http://{addr} (GraphiQL at http://{addr}/graphql)");
    println!("database: {}", app.database_url());
    if let Some(token) = app.generated_admin_token() {
        println!();
        println!("First start: an administrator was created. Its API token is shown once:");
        println!();
        println!("    {token}");
        println!();
        println!("Send it as `Authorization: Bearer <token>`.");
    }
    app.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
