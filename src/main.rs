//! The `weigongbao` binary: `serve` (default), `migrate`, `openapi`,
//! `admin create`.

#![warn(clippy::too_many_lines)]

use std::io::Read;

/// glibc's allocator raises its mmap threshold after the first large free,
/// so the 19 MiB Argon2 buffers of a login storm then come from its arenas
/// and stay there, fragmented (peak RSS 377 MiB in the SQLite bench storm).
/// A fixed 1 MiB threshold serves every large buffer by mmap and returns it
/// on free (peak 124 MiB; mimalloc measured 137 MiB before the storm and
/// 165 MiB during it, so glibc, tuned, it is: bench/run.sh, issue 13).
/// Two arenas rather than glibc's 8 per core: each thread that ever
/// allocated (1,000 event streams, the blocking pool, hashing threads)
/// otherwise keeps memory in an arena of its own (the SQLite bench's RSS
/// before the login storm: 85 MiB with the default, 70 MiB with two; no
/// change in throughput measured).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called once, at
    // start, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
use std::process::ExitCode;
use std::time::Duration;

use actix_web::HttpServer;
use clap::{Parser, Subcommand};
use weigongbao::platform::config::Settings;
use weigongbao::platform::db::{self, Backend, DbPool};
use weigongbao::users::models::Role;
use weigongbao::users::service;
use weigongbao::{AppState, api_doc, build_app};

#[derive(Parser)]
#[command(
    name = "weigongbao",
    version,
    about = "Weigongbao (微工宝) platform API"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Staff accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Scheduled work.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run every due job once (safe alongside running servers) and exit.
    RunOnce,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff account.
    Create {
        #[arg(long)]
        member_name: String,
        /// The password (or use --password-stdin to keep it out of the process list).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// admin | moderator | finance
        #[arg(long)]
        role: String,
    },
}

fn main() -> ExitCode {
    tune_allocator();
    dotenvy::dotenv().ok();
    let log_format = match weigongbao::platform::config::LogFormat::from_env() {
        Ok(format) => format,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    weigongbao::platform::logging::init(log_format);
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => serde_json::to_string_pretty(&api_doc())
            .map(|json| println!("{json}"))
            .map_err(|e| e.to_string()),
        Command::Serve => serve(),
        Command::Migrate => open().map(|_| ()),
        Command::Admin {
            command:
                AdminCommand::Create {
                    member_name,
                    password,
                    password_stdin,
                    role,
                },
        } => admin_create(member_name, password, password_stdin, &role),
        Command::Jobs {
            command: JobsCommand::RunOnce,
        } => jobs_run_once(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            log::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Reads settings and builds the pool (connecting lazily).
fn settings_and_pool() -> Result<(Settings, Backend, DbPool), String> {
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let backend = Backend::from_url(&settings.database_url).map_err(|e| e.to_string())?;
    let pool = db::build_pool(
        backend.clone(),
        settings.db_pool_size,
        Duration::from_secs(settings.db_pool_timeout_secs),
    )?;
    Ok((settings, backend, pool))
}

/// Reads settings, opens the pool and applies migrations.
fn open() -> Result<(Settings, Backend, DbPool), String> {
    let (settings, backend, pool) = settings_and_pool()?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to the {} database: {e}", backend.name()))?;
    let applied = db::run_migrations(&mut conn)?;
    log::info!(
        "database {} ready ({applied} migrations applied)",
        backend.name()
    );
    Ok((settings, backend, pool))
}

fn admin_create(
    member_name: String,
    password: Option<String>,
    password_stdin: bool,
    role: &str,
) -> Result<(), String> {
    let role = Role::parse(role)
        .filter(|r| r.is_staff())
        .ok_or("--role must be admin, moderator or finance")?;
    let password = match (password, password_stdin) {
        (Some(p), _) => p,
        (None, true) => {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .map_err(|e| e.to_string())?;
            buf.trim_end_matches(['\r', '\n']).to_string()
        }
        (None, false) => return Err("give --password or --password-stdin".into()),
    };
    let staff = service::NewStaff::prepare(&member_name, &password, role)
        .map_err(|e| format!("cannot create the staff account: {}", e.detail.en))?;
    let (settings, backend, pool) = open()?;
    let state = AppState::new(settings, pool.clone(), &backend);
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let id = db::write_tx(&mut conn, |conn| {
        service::create_staff(conn, &state, &staff)
    })
    .map_err(|e| format!("cannot create the staff account: {}", e.detail.en))?;
    println!("created {} account {member_name} (id {id})", role.as_str());
    Ok(())
}

fn jobs_run_once() -> Result<(), String> {
    let (settings, backend, pool) = open()?;
    let state = AppState::new(settings, pool, &backend);
    // SVC-3, MSG-2: the servers hear of the events and counts this run
    // writes that no trigger announces.
    let owed = matches!(backend, Backend::Postgres(_)).then(weigongbao::platform::changes::collect);
    let report = weigongbao::flows::jobs::run_once(&state)
        .map_err(|e| format!("jobs failed: {}", e.cause.as_deref().unwrap_or(&e.code)));
    if let (Some(owed), Backend::Postgres(url)) = (owed, &backend)
        && let Err(e) = owed.send(url)
    {
        log::warn!(
            "jobs: the servers were not told of this run's changes ({e}); open streams catch up at their next heartbeat"
        );
    }
    println!("{}", serde_json::to_string(&report?).unwrap_or_default());
    Ok(())
}

/// Serves the API at once; the database is reached (and migrated) in the
/// background, and until then the API answers 503 (`platform::startup`).
fn serve() -> Result<(), String> {
    let (settings, backend, pool) = settings_and_pool()?;
    if settings.jwt_secret_generated {
        log::warn!(
            "JWT_SECRET is not set: generated a random one for this run (development only); \
             tokens will not survive a restart"
        );
    }
    let bind = settings.bind_addr;
    let metrics_bind = settings.metrics_bind_addr;
    let workers = settings.workers;
    // Blocking work is database calls (bounded by the pool) and password
    // hashes (bounded by their cap): more threads than that only queue, so
    // each worker gets its share and no more.
    let blocking = (settings.db_pool_size as usize + settings.password_hash_concurrency)
        .div_ceil(workers)
        .max(2);
    let state = AppState::starting(settings, pool, &backend);
    weigongbao::platform::startup::await_database(state.clone(), bootstrap_admin, move |state| {
        // SVC-3: hear of other processes' changes (caches trust their
        // entries only while this listens).
        if let Backend::Postgres(url) = &backend {
            weigongbao::platform::changes::listen(&state.watch, url.clone());
        }
        weigongbao::flows::jobs::spawn_scheduler(state.clone());
        weigongbao::platform::delivery::spawn_dispatcher(state.clone());
    })
    .map_err(|e| format!("cannot start: {e}"))?;
    let doc = api_doc();
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        log::info!("listening on http://{bind} (Swagger UI at http://{bind}/swagger-ui/)");
        let metrics_state = state.clone();
        let api = HttpServer::new(move || build_app(state.clone(), doc.clone()))
            .workers(workers)
            .worker_max_blocking_threads(blocking)
            .shutdown_timeout(30)
            .bind(bind)
            .map_err(|e| format!("cannot bind {bind}: {e}"))?
            .run();
        let Some(metrics_bind) = metrics_bind else {
            return api.await.map_err(|e| e.to_string());
        };
        log::info!("metrics on http://{metrics_bind}/metrics");
        let metrics = HttpServer::new(move || {
            let state = metrics_state.clone();
            actix_web::App::new().route(
                "/metrics",
                actix_web::web::get().to(move || {
                    let state = state.clone();
                    async move { weigongbao::platform::ops::metrics_text(&state) }
                }),
            )
        })
        .workers(1)
        .bind(metrics_bind)
        .map_err(|e| format!("cannot bind {metrics_bind}: {e}"))?
        .run();
        actix_web::rt::spawn(metrics);
        api.await.map_err(|e| e.to_string())
    })
}

/// Creates the first admin from settings when no admin exists yet.
fn bootstrap_admin(state: &AppState) -> Result<(), String> {
    let Some((name, password)) = state.settings.bootstrap_admin.clone() else {
        return Ok(());
    };
    let failed = |e: weigongbao::platform::error::AppError| {
        format!("admin bootstrap failed: {}", e.detail.en)
    };
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    if service::admin_exists(&mut conn).map_err(failed)? {
        return Ok(());
    }
    drop(conn);
    // Checked and hashed holding no connection or lock (Argon2).
    let staff = service::NewStaff::prepare(&name, &password, Role::Admin).map_err(failed)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let created: Result<(), weigongbao::platform::error::AppError> =
        db::write_tx(&mut conn, |conn| {
            if service::admin_exists(conn)? {
                return Ok(());
            }
            service::create_staff(conn, state, &staff)?;
            log::info!("bootstrapped the first admin account from ADMIN_BOOTSTRAP_MEMBER_NAME");
            Ok(())
        });
    match created {
        Ok(()) => Ok(()),
        // SVC-3: another process starting at the same time made it first.
        Err(_) if service::admin_exists(&mut conn).unwrap_or(false) => Ok(()),
        Err(e) => Err(failed(e)),
    }
}
