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
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let app = Application::build(config).await?;
    let addr = app.local_addr();
    println!(
        "weft listening on http://{addr} (the studio at http://{addr}/, GraphiQL at http://{addr}/graphql)"
    );
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
