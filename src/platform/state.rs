//! Shared application state, handed to handlers as `web::Data<AppState>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::web;

use crate::platform::cache::PageCache;
use crate::platform::changes::{self, Watch};
use crate::platform::channels::alipay::Alipay;
use crate::platform::channels::registry::Channels;
use crate::platform::channels::sandbox::SignedChannel;
use crate::platform::channels::wechatpay::Wechatpay;
use crate::platform::clock::{Clock, SystemClock};
use crate::platform::config::Settings;
use crate::platform::db::{self, Backend, DbConnection, DbPool};
use crate::platform::delivery::adapters::Senders;
use crate::platform::delivery::senders::Development;
use crate::platform::error::AppResult;
use crate::platform::jwt::JwtKeys;
use crate::platform::metrics::Metrics;
use crate::platform::ratelimit::{Limiter, RateLimiters, RateNote};
use crate::platform::storage::Storage;
use crate::platform::text::WordMatcherCache;

/// Everything a request needs besides its own input. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub backend: &'static str,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub jwt: Arc<JwtKeys>,
    pub words: Arc<WordMatcherCache>,
    /// The abuse list (MSG-3), cached the same way.
    pub abuse_words: Arc<WordMatcherCache>,
    pub limits: Arc<RateLimiters>,
    pub channels: Arc<Channels>,
    /// WeChat sign-in codes to openids (FND-4 payees).
    pub wechat_login: Arc<crate::platform::wechat_login::WechatLogin>,
    pub metrics: Arc<Metrics>,
    /// Where uploaded files live (FIL-2).
    pub storage: Arc<Storage>,
    /// The SMS, email and push senders (NTF-1).
    pub senders: Arc<Senders>,
    /// Serialised anonymous discovery pages (issue 13).
    pub pages: Arc<PageCache>,
    /// Whether this process hears of every change (caches may trust
    /// their entries).
    pub watch: Watch,
    /// Permits for password hashing (`PASSWORD_HASH_CONCURRENCY`).
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// False until the database has answered and been migrated (a server
    /// may start while it is down); requests that need it answer 503.
    ready: Arc<AtomicBool>,
}

fn channels(settings: &Settings) -> Channels {
    let tolerance = settings.callback_tolerance_secs;
    let mut channels = Channels::default();
    // The settings were checked when read, so these build.
    if let Some(config) = &settings.payments.alipay {
        match Alipay::new(config.clone()) {
            Ok(alipay) => channels.insert(Box::new(alipay)),
            Err(e) => log::error!("alipay channel not offered: {e}"),
        }
    }
    if let Some(config) = &settings.payments.wechatpay {
        match Wechatpay::new(config.clone(), tolerance) {
            Ok(wechat) => channels.insert(Box::new(wechat)),
            Err(e) => log::error!("wechat pay channel not offered: {e}"),
        }
    }
    if settings.payment_sandbox_enabled {
        // The sandbox signs its own callbacks; its key never leaves the process.
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
        channels.insert_sandbox(SignedChannel::new("sandbox", key.to_vec(), tolerance));
    }
    channels
}

impl AppState {
    /// Builds the state with the wall clock.
    pub fn new(settings: Settings, pool: DbPool, backend: &Backend) -> Self {
        Self::with_clock(settings, pool, backend, Arc::new(SystemClock))
    }

    /// Builds the state with a given clock (tests move time with it).
    pub fn with_clock(
        settings: Settings,
        pool: DbPool,
        backend: &Backend,
        clock: Arc<dyn Clock>,
    ) -> Self {
        AppState {
            pool,
            backend: backend.name(),
            jwt: Arc::new(JwtKeys::new(
                &settings.jwt_secret,
                settings.access_token_ttl_secs,
            )),
            words: Arc::new(WordMatcherCache::default()),
            abuse_words: Arc::new(WordMatcherCache::default()),
            limits: Arc::new(RateLimiters::new(
                &settings.rate_limits,
                &settings.market,
                settings.delivery.codes_per_minute,
            )),
            channels: Arc::new(channels(&settings)),
            wechat_login: Arc::new(crate::platform::wechat_login::WechatLogin::new(
                &settings.payments.wechat_login,
            )),
            metrics: Arc::new(Metrics::default()),
            pages: Arc::new(PageCache::new(settings.page_cache_entries)),
            storage: Arc::new(Storage::from_settings(&settings.files.storage)),
            senders: Arc::new(
                Senders::from_settings(&settings.delivery).unwrap_or_else(|e| {
                    // Settings were checked when read; should a sender still
                    // fail here, nothing real is sent and the log says why.
                    log::error!("message senders unusable ({e}); using the development senders");
                    Senders {
                        sms: Box::new(Development),
                        email: Box::new(Development),
                        push: Box::new(Development),
                    }
                }),
            ),
            watch: Watch::new(matches!(backend, Backend::Sqlite(_))),
            hashing: Arc::new(tokio::sync::Semaphore::new(
                settings.password_hash_concurrency,
            )),
            ready: Arc::new(AtomicBool::new(true)),
            settings: Arc::new(settings),
            clock,
        }
    }

    /// A state whose database has not been reached yet: not ready until
    /// [`AppState::mark_ready`] (see `platform::startup`).
    pub fn starting(settings: Settings, pool: DbPool, backend: &Backend) -> Self {
        let state = Self::new(settings, pool, backend);
        state.ready.store(false, Ordering::SeqCst);
        state
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Runs blocking database work off the actix workers.
    pub async fn run<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, &AppState) -> AppResult<T> + Send + 'static,
    {
        let state = self.clone();
        web::block(move || {
            let waiting = state.metrics.waiting_for_connection();
            let mut conn = state.pool.get()?;
            drop(waiting);
            let out = f(&mut conn, &state);
            // Writes outside a transaction of ours (each statement its own).
            changes::announce();
            out
        })
        .await?
    }

    /// Counts one request from `key` against the limit `which` picks, where
    /// that limit keeps its counts (the shared table on PostgreSQL, SVC-3),
    /// with the connection the caller holds.
    pub fn limit_in(
        &self,
        conn: &mut DbConnection,
        which: fn(&RateLimiters) -> &Limiter,
        key: &str,
        note: &RateNote,
    ) -> AppResult<()> {
        let now = self.clock.now().timestamp_micros();
        which(&self.limits).check_shared(Some(conn), now, key, note)
    }

    /// [`AppState::limit_in`] for a caller that holds no connection: one
    /// is taken only for a limit counted in the database; a limit in this
    /// process's memory is counted on the spot, one in Redis off the
    /// workers with no connection held.
    pub async fn limit(
        &self,
        which: fn(&RateLimiters) -> &Limiter,
        key: String,
        note: &RateNote,
    ) -> AppResult<()> {
        let limiter = which(&self.limits);
        if limiter.is_local() {
            return limiter.check(&key, note);
        }
        let note = note.clone();
        self.count_shared(limiter, move |conn, st| {
            let now = st.clock.now().timestamp_micros();
            which(&st.limits).check_shared(conn, now, &key, &note)
        })
        .await
    }

    /// Runs a shared count's step `f` of `limiter` off the actix workers,
    /// with a pooled connection only when the limit counts in the database
    /// (SVC-3): a count in Redis holds none.
    pub async fn count_shared<T, F>(&self, limiter: &Limiter, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(Option<&mut DbConnection>, &AppState) -> AppResult<T> + Send + 'static,
    {
        if limiter.needs_database() {
            return self.run(move |conn, st| f(Some(conn), st)).await;
        }
        let state = self.clone();
        web::block(move || f(None, &state)).await?
    }

    /// Like [`AppState::run`], inside one write transaction: everything `f`
    /// does commits together or not at all.
    pub async fn tx<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, &AppState) -> AppResult<T> + Send + 'static,
    {
        self.run(move |conn, state| db::write_tx(conn, |conn| f(conn, state)))
            .await
    }
}
