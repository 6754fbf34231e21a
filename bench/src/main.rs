use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use weft::Config;
use weft_bench::{db, engine, events, history, sandbox, seed};

/// Weft's benchmarks and history seeder (results go in the README).
#[derive(Parser)]
#[command(name = "weft-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure the engine and the GraphQL path on a fresh database (SQLite in a temporary
    /// directory, or WEFT_BENCH_DATABASE_URL).
    Engine {
        #[arg(long, default_value_t = 1000)]
        iterations: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Measure code tools in the sandbox, cold and warm.
    Sandbox {
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
    /// Measure history queries over GraphQL against a seeded database.
    History {
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
    /// Measure live event latency, commit to WebSocket frame, with 1 and 1,000 subscribers.
    Events {
        /// Measured workflow runs per subscriber count.
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// Subscriber counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,1000")]
        subscribers: Vec<usize>,
    },
    /// Measure per-query overhead of database queries against the raw drivers.
    Db {
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
        // Logs go to stderr; stdout carries the tables that go in the README.
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Seed {
            executions,
            workflows,
        } => seed_history(executions, workflows).await,
        Command::Events { runs, subscribers } => {
            events::run(events::Options { runs, subscribers }).await
        }
        Command::Sandbox {
            iterations,
            cold_starts,
        } => {
            sandbox::run(sandbox::Options {
                iterations,
                cold_starts,
            })
            .await
        }
        Command::Db {
            iterations,
            postgres_url,
            mysql_url,
        } => {
            db::run(db::Options {
                iterations,
                postgres_url,
                mysql_url,
            })
            .await
        }
        Command::History { iterations } => history::run(history::Options { iterations }).await,
        Command::Engine {
            iterations,
            concurrency,
            seconds,
        } => {
            engine::run(engine::BenchOptions {
                iterations,
                concurrency,
                throughput_secs: seconds,
            })
            .await
        }
    }
}

async fn seed_history(executions: usize, workflows: usize) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let (db, url) = weft::app::open_database(&config).await?;
    let report = seed::seed(
        &db,
        seed::SeedOptions {
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
