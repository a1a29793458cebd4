//! Starting without the database: the server listens at once and a
//! background thread keeps trying the database; on the first connection it
//! applies the migrations, marks the state ready and runs what waited for
//! it (the first admin, the scheduler). Until then the API and `/readyz`
//! answer 503 (`platform::http::readiness`).

use std::time::Duration;

use crate::platform::db;
use crate::platform::state::AppState;

/// What must succeed before the server turns ready (the first admin).
type BeforeReady = Box<dyn FnOnce(&AppState) -> Result<(), String> + Send>;

/// Why a try did not make the database ready.
enum NotReady {
    /// Unreachable: try again.
    Unreachable(String),
    /// Reached, but the migrations (or what had to run before serving)
    /// failed: the process cannot serve and stops.
    Failed(String),
}

/// One try: a connection, the pending migrations, then `before_ready`.
fn prepare(state: &AppState, before_ready: &mut Option<BeforeReady>) -> Result<usize, NotReady> {
    let mut conn = state.pool.get().map_err(|e| {
        NotReady::Unreachable(format!(
            "cannot connect to the {} database: {e}",
            state.backend
        ))
    })?;
    let applied = db::run_migrations(&mut conn)
        .map_err(|e| NotReady::Failed(format!("migrations failed: {e}")))?;
    drop(conn);
    if let Some(step) = before_ready.take() {
        step(state).map_err(NotReady::Failed)?;
    }
    Ok(applied)
}

/// Spawns the thread that waits for the database. On the first connection
/// it migrates, runs `before_ready` (the first admin), marks the state
/// ready and then runs `after_ready` (the scheduler). A failure after the
/// database answered is fatal: the process logs it and exits 1.
pub fn await_database(
    state: AppState,
    before_ready: impl FnOnce(&AppState) -> Result<(), String> + Send + 'static,
    after_ready: impl FnOnce(&AppState) + Send + 'static,
) -> std::io::Result<()> {
    let mut before_ready: Option<BeforeReady> = Some(Box::new(before_ready));
    std::thread::Builder::new()
        .name("database-startup".into())
        .spawn(move || {
            let mut delay = Duration::from_millis(250);
            loop {
                match prepare(&state, &mut before_ready) {
                    Ok(applied) => {
                        log::info!(
                            "database {} ready ({applied} migrations applied)",
                            state.backend
                        );
                        state.mark_ready();
                        after_ready(&state);
                        return;
                    }
                    Err(NotReady::Failed(e)) => {
                        log::error!("cannot start: {e}");
                        std::process::exit(1);
                    }
                    Err(NotReady::Unreachable(e)) => {
                        log::warn!("{e}; retrying in {} ms", delay.as_millis());
                        std::thread::sleep(delay);
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
        })
        .map(|_| ())
}
