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
    /// Measure the engine and the GraphQL path (results go in the README).
    Bench {
        #[arg(long, default_value_t = 1000)]
        iterations: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
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
