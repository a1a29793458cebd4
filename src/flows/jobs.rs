//! Scheduled work (SVC-1): runs inside the server every
//! `JOBS_INTERVAL_SECS`, and once from `weigongbao jobs run-once`.
//!
//! Each item is claimed by a conditional update in its own transaction, so
//! several servers (or a server and the command) running at once never do
//! the same item twice, and one failing item does not stop the rest.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::accounts::UserStatus;
use crate::lifecycle::{closure, inactivity};
use crate::platform::db::schema::users;
use crate::platform::db::{DbConnection, write_tx};
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub inactivity_warnings: usize,
    pub accounts_reclaimed: usize,
    pub accounts_anonymised: usize,
    pub idempotency_keys_purged: usize,
    pub demands_expired: usize,
    pub awards_auto_completed: usize,
    pub deposits_overdue: usize,
    pub deposit_refunds_started: usize,
    pub dispute_silences_recorded: usize,
    pub disputes_escalated: usize,
    pub files_purged: usize,
    /// MSG-5: providers warned, and recorded unreachable.
    pub contact_warnings: usize,
    pub contact_unreachable: usize,
    /// FND-5: payouts sent to the channels, payments settled by a query.
    pub payouts_submitted: usize,
    pub payments_settled_by_query: usize,
    /// ACC-9 / FND-6: reclaimed accounts whose funds were put to finance.
    pub settlements_opened: usize,
    pub failures: usize,
}

fn describe(e: &AppError) -> &str {
    e.cause.as_deref().unwrap_or(&e.code)
}

/// The value of a job's run; a failing job is logged and counted, and the
/// jobs after it still run.
fn tally<T: Default>(st: &AppState, report: &mut Report, job: &str, result: AppResult<T>) -> T {
    st.metrics.job_run(job, result.is_ok());
    result.unwrap_or_else(|e| {
        report.failures += 1;
        log::error!("job {job}: {}", describe(&e));
        T::default()
    })
}

/// ACC-9: inactivity warnings and reclamation, one account per transaction.
fn inactivity_due(
    conn: &mut DbConnection,
    st: &AppState,
    now: NaiveDateTime,
    report: &mut Report,
) -> AppResult<()> {
    for candidate in inactivity::candidates(conn, now)? {
        let done = write_tx(conn, |c| {
            let due = inactivity::process(c, st, candidate)?;
            let mut settled = false;
            if matches!(due, Some(inactivity::Due::Reclaim)) {
                // FND-6: nothing stays stranded in a reclaimed account.
                settled = super::money::settle_account(c, st, candidate.0)?;
                super::refunds::refund_reclaimed_deposit(c, st, candidate.0)?;
            }
            Ok((due, settled))
        });
        match done {
            Ok((Some(inactivity::Due::Reclaim), settled)) => {
                report.accounts_reclaimed += 1;
                report.settlements_opened += usize::from(settled);
            }
            Ok((Some(inactivity::Due::Warn(_)), _)) => report.inactivity_warnings += 1,
            Ok(_) => {}
            Err(e) => {
                report.failures += 1;
                log::error!("job inactivity user={}: {}", candidate.0, describe(&e));
            }
        }
    }
    Ok(())
}

/// ACC-10: anonymise accounts closed two years ago.
fn anonymise_due(
    conn: &mut DbConnection,
    st: &AppState,
    now: NaiveDateTime,
    report: &mut Report,
) -> AppResult<()> {
    let bound = crate::platform::clock::sub_china_months(now + chrono::Duration::days(3), 24);
    let closed: Vec<(i64, Option<chrono::NaiveDateTime>)> = users::table
        .filter(users::status.eq(UserStatus::Closed))
        .filter(users::anonymized_at.is_null())
        .filter(users::status_changed_at.le(bound))
        .select((users::id, users::status_changed_at))
        .limit(1000)
        .load(conn)?;
    for (user_id, closed_at) in closed {
        let Some(closed_at) = closed_at else { continue };
        if closure::anonymise_due(closed_at) > now {
            continue;
        }
        match write_tx(conn, |c| closure::anonymise(c, st, user_id)) {
            Ok(true) => report.accounts_anonymised += 1,
            Ok(false) => {}
            Err(e) => {
                report.failures += 1;
                log::error!("job anonymise user={user_id}: {}", describe(&e));
            }
        }
    }
    Ok(())
}

/// Runs every due job once.
pub fn run_once(st: &AppState) -> AppResult<Report> {
    let mut report = Report::default();
    let mut conn = st.pool.get()?;
    let now = st.clock.now_naive();
    let before = report.failures;
    let r = inactivity_due(&mut conn, st, now, &mut report);
    st.metrics
        .job_run("inactivity", r.is_ok() && report.failures == before);
    r?;
    let before = report.failures;
    let r = anonymise_due(&mut conn, st, now, &mut report);
    st.metrics
        .job_run("anonymise", r.is_ok() && report.failures == before);
    r?;
    // MKT-1 / MKT-4: expired demands and auto-completed awards.
    let r = crate::marketplace::demands::expire_due(&mut conn, st);
    report.demands_expired = tally(st, &mut report, "expire demands", r);
    let r = crate::marketplace::awards::auto_complete_due(&mut conn, st);
    report.awards_auto_completed = tally(st, &mut report, "auto-complete awards", r);
    // DEP-2, DEP-3: missed deposit deadlines; DEP-7: ended observations.
    let r = crate::conduct::deposit::expire_due(&mut conn, st);
    report.deposits_overdue = tally(st, &mut report, "deposit deadlines", r);
    let r = super::refunds::observations_due(&mut conn, st);
    report.deposit_refunds_started = tally(st, &mut report, "deposit refunds", r);
    // DSP-1: silence after the response window; escalation after 60 days.
    let r = crate::disputes::timers_due(&mut conn, st);
    (report.dispute_silences_recorded, report.disputes_escalated) =
        tally(st, &mut report, "dispute timers", r);
    // FND-5: payouts to the channels' transfer APIs; lost callbacks.
    let r = super::payments::submit_payouts(&mut conn, st);
    report.payouts_submitted = tally(st, &mut report, "submit payouts", r);
    let r = super::payments::query_overdue(&mut conn, st);
    report.payments_settled_by_query = tally(st, &mut report, "query overdue payments", r);
    // FND-6: sealed accounts' remaining funds put to finance.
    let r = super::money::settle_sealed(&mut conn, st);
    report.settlements_opened += tally(st, &mut report, "settle sealed accounts", r);
    // MSG-5: the contact clock of conversations during work.
    let r = crate::conversations::contact_clock(&mut conn, st);
    let run = tally(st, &mut report, "contact clock", r);
    (report.contact_warnings, report.contact_unreachable) = (run.warned, run.reported);
    // MSG-2: events past the resume window.
    let r = crate::notifications::events::purge(&mut conn, st);
    tally(st, &mut report, "purge events", r);
    // FND-2: idempotency keys are kept 48 hours (at least the 24 promised).
    let r = crate::platform::ratelimit::purge(&mut conn, st.clock.now().timestamp_micros());
    tally(st, &mut report, "purge rate limits", r);
    // FIL-1: files nothing cites a day after their upload.
    let r = crate::files::purge_unattached(&mut conn, st).map(|keys| {
        for key in &keys {
            if let Err(e) = st.storage.delete(key) {
                log::warn!("job purge files: {}", e.code);
            }
        }
        keys.len()
    });
    report.files_purged = tally(st, &mut report, "purge unattached files", r);
    // ACC-12: spent and expired codes; NTF-3: devices of ended sessions.
    let r = crate::auth::codes::purge(&mut conn, now);
    tally(st, &mut report, "purge codes", r);
    let r = crate::auth::devices::purge_expired(&mut conn, now);
    tally(st, &mut report, "purge devices", r);
    let r = crate::funds::idempotency::purge(&mut conn, now);
    st.metrics.job_run("purge idempotency keys", r.is_ok());
    report.idempotency_keys_purged = r?;
    Ok(report)
}

/// FND-1 watch: the ledger reconciliation, its result in the metrics
/// (`ledger_check_ok`) and, when unsound, an error in the log (counts only).
pub fn check_ledger(st: &AppState) -> AppResult<bool> {
    let mut conn = st.pool.get()?;
    let report = crate::funds::reading::check(&mut conn);
    st.metrics.job_run("ledger check", report.is_ok());
    let report = report?;
    st.metrics
        .ledger_checked(report.ok, st.clock.now().timestamp());
    if !report.ok {
        log::error!(
            "ledger check failed: {} mismatched accounts, {} unbalanced transactions, {} negative accounts",
            report.mismatched_accounts.len(),
            report.unbalanced_transactions.len(),
            report.negative_accounts.len()
        );
    }
    Ok(report.ok)
}

/// Seconds between ledger checks in the scheduler.
const LEDGER_CHECK_EVERY_SECS: u64 = 3_600;

/// Starts the in-server scheduler on its own thread (no-op when the
/// interval is 0). It stops with the process.
pub fn spawn_scheduler(state: AppState) {
    let interval = state.settings.jobs_interval_secs;
    if interval == 0 {
        log::info!("scheduler off (JOBS_INTERVAL_SECS=0)");
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("scheduler".into())
        .spawn(move || {
            let mut since_ledger_check = LEDGER_CHECK_EVERY_SECS;
            loop {
                if since_ledger_check >= LEDGER_CHECK_EVERY_SECS {
                    since_ledger_check = 0;
                    if let Err(e) = check_ledger(&state) {
                        log::warn!("ledger check failed to run: {}", describe(&e));
                    }
                }
                std::thread::sleep(Duration::from_secs(interval));
                since_ledger_check += interval;
                match run_once(&state) {
                    Ok(report) if report != Report::default() => log::info!("jobs: {report:?}"),
                    Ok(_) => {}
                    Err(e) => log::warn!("jobs run failed: {}", describe(&e)),
                }
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot start the scheduler: {e}");
    }
}
