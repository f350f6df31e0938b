//! dispatch-api: serves HTTP and WebSockets; `migrate`, `create-superuser` and `openapi`
//! are maintenance subcommands.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dispatch_core::accounts::superuser::{create_superuser, Outcome};
use dispatch_shared::config::{ApiThreads, Settings};
use dispatch_shared::{db, telemetry};
use tokio::runtime::{Handle, Runtime};

#[derive(Parser)]
#[command(name = "dispatch-api", version, about = "The Dispatch HTTP and WebSocket API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Create the database if missing and apply pending migrations.
    Migrate,
    /// Create an admin account (password from DISPATCH_ADMIN_PASSWORD or a prompt).
    CreateSuperuser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
    },
    /// Print the OpenAPI spec.
    Openapi,
}

fn main() {
    let cli = Cli::parse();
    let _ = dotenvy::dotenv();
    // Only serving has sessions; the maintenance subcommands run on the HTTP runtime alone.
    let serving = matches!(cli.command, None | Some(Command::Serve));
    let runtimes = match Runtimes::build(serving) {
        Ok(runtimes) => runtimes,
        Err(e) => {
            eprintln!("dispatch-api: {e:#}");
            std::process::exit(1);
        }
    };
    let sessions = runtimes.sessions();
    runtimes.http.block_on(telemetry::run_binary("dispatch-api", || run(cli, sessions)));
}

/// HTTP on one runtime and the WebSocket sessions on another (see `ApiThreads`).
struct Runtimes {
    http: Runtime,
    sockets: Option<Runtime>,
}

impl Runtimes {
    fn build(serving: bool) -> anyhow::Result<Self> {
        let threads = ApiThreads::from_env()?;
        let runtime = |name: &str, threads: usize| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name(name)
                .enable_all()
                .build()
                .with_context(|| format!("starting the {name} runtime"))
        };
        let sockets =
            threads.sockets.filter(|_| serving).map(|n| runtime("sockets", n)).transpose()?;
        Ok(Self { http: runtime("http", threads.http)?, sockets })
    }

    fn sessions(&self) -> Handle {
        self.sockets.as_ref().unwrap_or(&self.http).handle().clone()
    }
}

async fn run(cli: Cli, sessions: Handle) -> anyhow::Result<()> {
    if let Some(Command::Openapi) = cli.command {
        println!("{}", dispatch_api::app::spec_json());
        return Ok(());
    }
    let settings = Arc::new(Settings::from_env().context("configuration")?);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            tracing::info!(
                "dispatch-api listening on http://{0} (Swagger UI: http://{0}/api-docs)",
                settings.bind
            );
            dispatch_api::serve(settings, sessions, shutdown_signal()).await
        }
        Command::Migrate => {
            let applied = db::migrate(&settings.database_url).await?;
            println!("{} migration(s) applied", applied.len());
            Ok(())
        }
        Command::CreateSuperuser { username, email } => {
            db::migrate(&settings.database_url).await?;
            let password = match std::env::var("DISPATCH_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => rpassword::prompt_password("Password: ").context("reading the password")?,
            };
            let pool = db::build_pool(&settings.database_url, 2);
            match create_superuser(&pool, &username, &email, &password).await? {
                Outcome::Created(id) => println!("superuser {username} created ({id})"),
                Outcome::AlreadyExists => {
                    anyhow::bail!("a user with that username or email already exists")
                }
            }
            Ok(())
        }
        Command::Openapi => Ok(()),
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutting down");
}
