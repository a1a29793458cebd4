//! Operational metrics in the Prometheus text format (`GET /metrics`):
//! requests by route template and status, latency histograms, the database
//! pool, scheduler runs and failures, and the last ledger check. The
//! endpoint is guarded: a `METRICS_TOKEN` bearer on the API address, or a
//! separate `METRICS_BIND_ADDR` that serves nothing else.
//!
//! Labels are bounded: routes are the OpenAPI templates (`/api/v1/demands/{id}`),
//! anything else is `unmatched`; no user input reaches a label.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 8 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// Every metric the process keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pool: Family<PoolLabels, Gauge>,
    /// Requests waiting for a database connection right now.
    pool_waiting: Gauge<i64, AtomicI64>,
    jobs: Family<JobLabels, Counter>,
    ledger_ok: Gauge<i64, AtomicI64>,
    ledger_checked_at: Gauge<i64, AtomicI64>,
    /// NTF-1: outbox messages by status (pending, dead), as of the last
    /// dispatcher round.
    outbox: Family<OutboxLabels, Gauge>,
    outbox_sent: Family<OutboxSentLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxSentLabels {
    channel: String,
    outcome: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("weigongbao");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response, by method and route template",
            latency.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (in_use, idle)",
            pool.clone(),
        );
        let pool_waiting = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "db_pool_waiting",
            "Requests waiting for a database connection",
            pool_waiting.clone(),
        );
        let jobs = Family::<JobLabels, Counter>::default();
        registry.register(
            "job_runs",
            "Scheduler job runs by job and outcome (ok, failed)",
            jobs.clone(),
        );
        let ledger_ok = Gauge::<i64, AtomicI64>::default();
        ledger_ok.set(-1);
        registry.register(
            "ledger_check_ok",
            "The last ledger check: 1 sound, 0 not, -1 not run yet",
            ledger_ok.clone(),
        );
        let ledger_checked_at = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "ledger_check_timestamp_seconds",
            "When the last ledger check ran (Unix time; 0 never)",
            ledger_checked_at.clone(),
        );
        let outbox = Family::<OutboxLabels, Gauge>::default();
        registry.register(
            "outbox_messages",
            "Outbox messages by status (pending, dead) as of the dispatcher's last round",
            outbox.clone(),
        );
        let outbox_sent = Family::<OutboxSentLabels, Counter>::default();
        registry.register(
            "outbox_sends",
            "Outbox send attempts by channel and outcome (sent, retry, dead)",
            outbox_sent.clone(),
        );
        Metrics {
            outbox,
            outbox_sent,
            registry,
            requests,
            latency,
            pool,
            pool_waiting,
            jobs,
            ledger_ok,
            ledger_checked_at,
        }
    }
}

/// Counts a request that waits for a database connection while it lives.
pub struct Waiting<'a>(&'a Gauge<i64, AtomicI64>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let (method, route) = (method.to_string(), route.to_string());
        self.requests
            .get_or_create(&RequestLabels {
                method: method.clone(),
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(seconds);
    }

    pub fn waiting_for_connection(&self) -> Waiting<'_> {
        self.pool_waiting.inc();
        Waiting(&self.pool_waiting)
    }

    pub fn job_run(&self, job: &str, ok: bool) {
        self.jobs
            .get_or_create(&JobLabels {
                job: job.to_string(),
                outcome: if ok { "ok" } else { "failed" },
            })
            .inc();
    }

    pub fn ledger_checked(&self, ok: bool, at_unix: i64) {
        self.ledger_ok.set(i64::from(ok));
        self.ledger_checked_at.set(at_unix);
    }

    /// NTF-1: the outbox's backlog and dead letters.
    pub fn outbox_counts(&self, pending: i64, dead: i64) {
        self.outbox
            .get_or_create(&OutboxLabels { status: "pending" })
            .set(pending);
        self.outbox
            .get_or_create(&OutboxLabels { status: "dead" })
            .set(dead);
    }

    /// NTF-1: one send attempt's outcome.
    pub fn outbox_send(&self, channel: &str, outcome: &'static str) {
        self.outbox_sent
            .get_or_create(&OutboxSentLabels {
                channel: channel.to_string(),
                outcome,
            })
            .inc();
    }

    /// The text exposition, with the pool's state as of now.
    pub fn render(&self, in_use: u32, idle: u32) -> String {
        self.pool
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(in_use));
        self.pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(i64::from(idle));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_jobs_and_the_ledger_are_rendered() {
        let m = Metrics::default();
        m.observe_request("GET", "/api/v1/demands/{id}", 200, 0.004);
        m.observe_request("GET", "/api/v1/demands/{id}", 200, 0.004);
        m.job_run("expire demands", false);
        m.ledger_checked(true, 1_700_000_000);
        {
            let _w = m.waiting_for_connection();
            assert!(m.render(0, 0).contains("weigongbao_db_pool_waiting 1"));
        }
        let text = m.render(3, 5);
        assert!(text.contains(
            "weigongbao_http_requests_total{method=\"GET\",route=\"/api/v1/demands/{id}\",status=\"200\"} 2"
        ));
        assert!(text.contains("weigongbao_http_request_duration_seconds_bucket"));
        assert!(
            text.contains("weigongbao_job_runs_total{job=\"expire demands\",outcome=\"failed\"} 1")
        );
        assert!(text.contains("weigongbao_ledger_check_ok 1"));
        assert!(text.contains("weigongbao_db_pool_connections{state=\"in_use\"} 3"));
        assert!(text.contains("weigongbao_db_pool_waiting 0"));
    }
}
