//! Starting without the database: the server listens at once and a
//! background thread keeps trying the database; on the first connection it
//! applies the migrations, marks the state ready and runs what waited for
//! it (the first admin, the scheduler). Until then the API and `/readyz`
//! answer 503 (`platform::http::readiness`).

use std::time::Duration;

use crate::platform::db;
use crate::platform::state::AppState;

/// One try: a connection and the pending migrations.
fn prepare(state: &AppState) -> Result<usize, String> {
    let mut conn = state
        .pool
        .get()
        .map_err(|e| format!("cannot connect to the {} database: {e}", state.backend))?;
    db::run_migrations(&mut conn)
}

/// Spawns the thread that waits for the database, then calls `then` once.
pub fn await_database(
    state: AppState,
    then: impl FnOnce(&AppState) + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("database-startup".into())
        .spawn(move || {
            let mut delay = Duration::from_millis(250);
            loop {
                match prepare(&state) {
                    Ok(applied) => {
                        log::info!(
                            "database {} ready ({applied} migrations applied)",
                            state.backend
                        );
                        state.mark_ready();
                        then(&state);
                        return;
                    }
                    Err(e) => {
                        log::warn!("{e}; retrying in {} ms", delay.as_millis());
                        std::thread::sleep(delay);
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
        })
        .map(|_| ())
}
