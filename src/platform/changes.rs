//! Change signals (issue 13, SVC-3): how a cache learns that the rows it
//! was built from changed. Each topic has a generation number; a cache
//! entry remembers the generation it was built at and is stale once the
//! number moves.
//!
//! - This process's writes: the feature that writes a topic's table calls
//!   [`mark`] inside its transaction; the generation moves when the
//!   transaction commits (`db::write_tx`) or the work ends
//!   (`AppState::run`), never before, so a reader that read the generation
//!   first and the rows second can never keep pre-commit rows under a
//!   post-commit number.
//! - Other processes' writes (PostgreSQL): triggers `NOTIFY wgb_changes`
//!   with the topic's name when a transaction changing the table commits,
//!   and [`listen`] moves the generation when the notice arrives (within
//!   [`POLL`]). While the listener is not connected, caches must not trust
//!   their entries ([`Watch::complete`] is false).
//! - The hot writes (a bid's count on its demand, a user's new event) are
//!   not notified by a trigger: a `NOTIFY` in a transaction serialises its
//!   commit with every other notifying commit of the cluster (issue 13/15:
//!   bids and messages ~10% slower). Their writers mark them
//!   ([`mark_shared`], [`mark_user`]) and, once committed, the listener's
//!   own connection tells the other processes, many notices in one
//!   statement. A notice lost to a crash between the commit and its sending
//!   costs another process a stale bid count on a cached page, or an open
//!   stream a wait until its next heartbeat.
//!
//! SQLite is the one-process embedded default: its own marks are every
//! change there is.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What a cache can depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// The `demands` table (discovery pages).
    Demands,
    /// The prohibited-word list (its revision row).
    Words,
}

impl Topic {
    const ALL: [Topic; 2] = [Topic::Demands, Topic::Words];

    fn index(self) -> usize {
        match self {
            Topic::Demands => 0,
            Topic::Words => 1,
        }
    }

    /// The payload of its PostgreSQL notification.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Demands => "demands",
            Topic::Words => "words",
        }
    }

    fn named(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The PostgreSQL notification channel the triggers of migration 000010
/// notify.
pub const CHANNEL: &str = "wgb_changes";

/// How often the listener looks for notices.
pub const POLL: Duration = Duration::from_millis(50);

/// Polls between liveness checks of the listener's connection (~10 s).
const KEEPALIVE_POLLS: u32 = 200;

static GENERATIONS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

thread_local! {
    static MARKED: Cell<u8> = const { Cell::new(0) };
    /// Of those, the ones no trigger tells other processes of.
    static SHARED: Cell<u8> = const { Cell::new(0) };
    /// Users with new events (MSG-2) written by this thread's transaction.
    static USERS: std::cell::RefCell<Vec<i64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Notes that the work on this thread wrote an event for `user`: their open
/// streams wake once it commits.
pub fn mark_user(user: i64) {
    USERS.with(|u| u.borrow_mut().push(user));
}

/// Notes that the work on this thread changed `topic`'s table.
pub fn mark(topic: Topic) {
    MARKED.with(|m| m.set(m.get() | (1 << topic.index())));
}

/// Notes that the work on this thread changed `topic`'s table in a way no
/// database trigger announces (a demand's bid count): other processes are
/// told by this one once it commits.
pub fn mark_shared(topic: Topic) {
    mark(topic);
    SHARED.with(|m| m.set(m.get() | (1 << topic.index())));
}

/// Moves the generation of every topic this thread marked and wakes the
/// streams of the users it wrote events for (after its transaction
/// committed or its work ended); what no trigger announces goes to the
/// other processes too.
pub fn announce() {
    let marked = MARKED.with(|m| m.replace(0));
    let shared = SHARED.with(|m| m.replace(0));
    let users = USERS.with(|u| std::mem::take(&mut *u.borrow_mut()));
    for topic in Topic::ALL {
        if marked & (1 << topic.index()) != 0 {
            bump(topic);
        }
    }
    for &user in &users {
        streams::wake(user);
    }
    if shared != 0 || !users.is_empty() {
        let notices = Topic::ALL
            .into_iter()
            .filter(|t| shared & (1 << t.index()) != 0)
            .map(|t| t.name().to_owned())
            .chain(users.iter().map(|u| format!("events:{u}")));
        outgoing::post(notices);
    }
}

/// Forgets this thread's marks (its transaction rolled back).
pub fn discard() {
    MARKED.with(|m| m.set(0));
    SHARED.with(|m| m.set(0));
    USERS.with(|u| u.borrow_mut().clear());
}

/// Notices this process owes the others (PostgreSQL): each listener
/// ([`listen`]) has a box of them, deduplicated, and sends what is in it
/// as soon as it is woken. Every listener of the process gets every
/// notice (a process has one; a test may run several states, each on its
/// own database).
mod outgoing {
    use std::collections::HashSet;
    use std::sync::{Arc, LazyLock, Mutex, Weak};
    use std::thread::Thread;

    pub(super) struct Outbox {
        pending: Mutex<HashSet<String>>,
        sender: Thread,
    }

    /// A box beyond this many distinct notices stops growing (a listener
    /// that cannot reach the database): one wildcard stands for the rest.
    const MAX_PENDING: usize = 100_000;
    /// What the receivers of an overflowed box make of it: every cache and
    /// stream refreshes (no topic or user is named so).
    pub(super) const EVERYTHING: &str = "*";

    static OUTBOXES: LazyLock<Mutex<Vec<Weak<Outbox>>>> = LazyLock::new(Default::default);

    /// A box for the calling thread (the listener), registered until
    /// dropped.
    pub(super) fn open() -> Arc<Outbox> {
        let outbox = Arc::new(Outbox {
            pending: Mutex::new(HashSet::new()),
            sender: std::thread::current(),
        });
        if let Ok(mut all) = OUTBOXES.lock() {
            all.push(Arc::downgrade(&outbox));
        }
        outbox
    }

    pub(super) fn post(notices: impl Iterator<Item = String>) {
        let Ok(mut all) = OUTBOXES.lock() else { return };
        all.retain(|w| w.strong_count() > 0);
        if all.is_empty() {
            return;
        }
        let notices: Vec<String> = notices.collect();
        for outbox in all.iter().filter_map(Weak::upgrade) {
            if let Ok(mut pending) = outbox.pending.lock() {
                if pending.len() >= MAX_PENDING {
                    pending.clear();
                    pending.insert(EVERYTHING.to_owned());
                } else {
                    pending.extend(notices.iter().cloned());
                }
            }
            outbox.sender.unpark();
        }
    }

    impl Outbox {
        /// What is to be sent now (the box is emptied).
        pub(super) fn take(&self) -> Vec<String> {
            self.pending
                .lock()
                .map(|mut p| p.drain().collect())
                .unwrap_or_default()
        }

        /// Notices that could not be sent, for the next connection.
        pub(super) fn put_back(&self, notices: Vec<String>) {
            if let Ok(mut pending) = self.pending.lock() {
                pending.extend(notices);
            }
        }
    }
}

/// The open event streams of this process (MSG-2), by user: a stream
/// waits on its `Notify` and reads what is new when woken — by this
/// process's commits ([`mark_user`]) or, on PostgreSQL, by another
/// process's (`events:<user>` notices).
pub mod streams {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex, Weak};

    use tokio::sync::Notify;

    static OPEN: LazyLock<Mutex<HashMap<i64, Vec<Weak<Notify>>>>> = LazyLock::new(Default::default);

    /// A new stream of `user`'s, or `None` when they hold `max` already.
    /// Dropping the returned handle ends the registration.
    pub fn subscribe(user: i64, max: usize) -> Option<Arc<Notify>> {
        let mut open = OPEN.lock().ok()?;
        let mine = open.entry(user).or_default();
        mine.retain(|w| w.strong_count() > 0);
        if mine.len() >= max {
            return None;
        }
        let notify = Arc::new(Notify::new());
        mine.push(Arc::downgrade(&notify));
        Some(notify)
    }

    /// Wakes `user`'s streams (a permit is kept for one not waiting yet).
    pub fn wake(user: i64) {
        let Ok(mut open) = OPEN.lock() else { return };
        if let Some(mine) = open.get_mut(&user) {
            mine.retain(|w| match w.upgrade() {
                Some(n) => {
                    n.notify_one();
                    true
                }
                None => false,
            });
            if mine.is_empty() {
                open.remove(&user);
            }
        }
    }

    /// Wakes every stream (the listener reconnected: it may have missed
    /// notices).
    pub fn wake_all() {
        let users: Vec<i64> = match OPEN.lock() {
            Ok(open) => open.keys().copied().collect(),
            Err(_) => return,
        };
        users.into_iter().for_each(wake);
    }

    /// Streams open in this process.
    pub fn open_count() -> usize {
        OPEN.lock()
            .map(|o| {
                o.values()
                    .map(|v| v.iter().filter(|w| w.strong_count() > 0).count())
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// The current generation of `topic`.
pub fn generation(topic: Topic) -> u64 {
    GENERATIONS[topic.index()].load(Ordering::Acquire)
}

fn bump(topic: Topic) {
    GENERATIONS[topic.index()].fetch_add(1, Ordering::AcqRel);
}

fn bump_all() {
    Topic::ALL.into_iter().for_each(bump);
    streams::wake_all();
}

/// Whether this process hears of every change: always on SQLite; on
/// PostgreSQL while its listener is connected.
#[derive(Debug, Clone)]
pub struct Watch {
    one_process: bool,
    listening: Arc<Listening>,
}

/// What the listener last knew of its connection.
#[derive(Debug, Default)]
struct Listening {
    connected: AtomicBool,
    /// When the connection last answered (milliseconds since [`epoch`]).
    alive_at: AtomicU64,
}

/// The listener's connection counts as alive this long after it last
/// answered (it is asked every [`KEEPALIVE_POLLS`] polls, ~10 s).
const ALIVE_FOR_MILLIS: u64 = 30_000;

fn epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

fn millis_now() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Listening {
    fn answered(&self) {
        self.alive_at.store(millis_now(), Ordering::Release);
        self.connected.store(true, Ordering::Release);
    }
}

impl Watch {
    pub fn new(one_process: bool) -> Self {
        Watch {
            one_process,
            listening: Arc::new(Listening::default()),
        }
    }

    /// May a cache keyed by [`generation`] trust its entries? On
    /// PostgreSQL only while the listener is connected and its connection
    /// answered lately (a connection that died silently stops counting
    /// within [`ALIVE_FOR_MILLIS`]).
    pub fn complete(&self) -> bool {
        self.one_process
            || (self.listening.connected.load(Ordering::Acquire)
                && millis_now().saturating_sub(self.listening.alive_at.load(Ordering::Acquire))
                    <= ALIVE_FOR_MILLIS)
    }
}

/// The notices a process that does not listen owes the others (`jobs
/// run-once` on PostgreSQL): gathered while it works, sent by
/// [`Collected::send`] when it is done.
pub struct Collected(Arc<outgoing::Outbox>);

/// Starts gathering this process's notices (see [`Collected`]).
pub fn collect() -> Collected {
    Collected(outgoing::open())
}

impl Collected {
    /// Sends what was gathered, on a connection of its own to `url`.
    pub fn send(self, url: &str) -> Result<(), String> {
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
        send(&mut conn, &self.0).map(|_| ())
    }
}

/// libpq settings for the listener's connection: TCP keepalives and a
/// timeout on unacknowledged data, so a peer that vanished is noticed in
/// seconds rather than the kernel's ~15 minutes.
const LISTENER_TCP: &str = "keepalives=1&keepalives_idle=5&keepalives_interval=2&keepalives_count=2&tcp_user_timeout=10000";

fn with_keepalives(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{LISTENER_TCP}")
}

/// Starts the listener for PostgreSQL at `url` on a thread of its own: it
/// reconnects after a failure (every generation moves then, for what it may
/// have missed) and stops once no state holds `watch` any more.
pub fn listen(watch: &Watch, url: String) {
    let url = with_keepalives(&url);
    let listening = Arc::downgrade(&watch.listening);
    let spawned = std::thread::Builder::new()
        .name("change-listener".into())
        .spawn(move || {
            // Kept across reconnections: what could not be sent is sent on
            // the next connection.
            let outbox = outgoing::open();
            while listening.strong_count() > 0 {
                if let Err(e) = listen_once(&url, &listening, &outbox) {
                    log::warn!("change listener: {e}; reconnecting");
                }
                if let Some(state) = listening.upgrade() {
                    state.connected.store(false, Ordering::Release);
                }
                bump_all();
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot start the change listener: {e}");
    }
}

/// Listens (and sends this process's notices) until the connection fails
/// (`Err`) or no state is left (`Ok`).
fn listen_once(
    url: &str,
    listening: &Weak<Listening>,
    outbox: &outgoing::Outbox,
) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    conn.batch_execute(&format!("LISTEN {CHANNEL}"))
        .map_err(|e| e.to_string())?;
    // This connection hears its own notices: they are not news here.
    let me: i32 = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
        "pg_backend_pid()",
    ))
    .get_result(&mut conn)
    .map_err(|e| e.to_string())?;
    // Changes made before LISTEN took effect were not heard.
    bump_all();
    let mut polls: u32 = 0;
    loop {
        let Some(state) = listening.upgrade() else {
            // The last work's notices still go out.
            send(&mut conn, outbox)?;
            return Ok(());
        };
        if polls.is_multiple_of(KEEPALIVE_POLLS) {
            // A server that went away without closing the socket shows up
            // only when something is sent.
            conn.batch_execute("SELECT 1").map_err(|e| e.to_string())?;
            state.answered();
        }
        drop(state);
        polls = polls.wrapping_add(1);
        let sent = send(&mut conn, outbox)?;
        for notice in conn.notifications_iter() {
            let notice = notice.map_err(|e| e.to_string())?;
            if notice.process_id == me {
                continue;
            }
            if let Some(user) = notice.payload.strip_prefix("events:") {
                match user.parse() {
                    Ok(user) => streams::wake(user),
                    Err(_) => streams::wake_all(),
                }
                continue;
            }
            match Topic::named(&notice.payload) {
                Some(topic) => bump(topic),
                None => bump_all(),
            }
        }
        if sent {
            // What comes meanwhile goes out together: one notifying commit
            // per window, not one per request.
            std::thread::sleep(GATHER);
        } else {
            // Woken early by notices to send.
            std::thread::park_timeout(POLL);
        }
    }
}

/// How long the listener gathers notices after sending some.
const GATHER: Duration = Duration::from_millis(5);

/// Sends the notices in `outbox`, all in one statement (one commit);
/// whether there were any.
fn send(conn: &mut diesel::PgConnection, outbox: &outgoing::Outbox) -> Result<bool, String> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::{Array, Text};
    let notices = outbox.take();
    if notices.is_empty() {
        return Ok(false);
    }
    let sent = diesel::sql_query("SELECT pg_notify($1, n) FROM unnest($2) AS n")
        .bind::<Text, _>(CHANNEL)
        .bind::<Array<Text>, _>(&notices)
        .execute(conn);
    if let Err(e) = sent {
        outbox.put_back(notices);
        return Err(e.to_string());
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_move_generations_only_when_announced() {
        let before = generation(Topic::Words);
        mark(Topic::Words);
        assert_eq!(generation(Topic::Words), before);
        discard();
        announce();
        assert_eq!(generation(Topic::Words), before);
        mark(Topic::Words);
        announce();
        assert!(generation(Topic::Words) > before);
    }
}
