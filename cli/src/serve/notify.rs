//! Webhooks (`--notify URL`): each publication's summary POSTed to every target, in order per
//! target, retried with exponential backoff. Deliveries run on their own tasks with a bounded
//! queue: a slow or dead target delays only its own queue and never the service.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use crate::io::CliResult;

/// Deliveries counted for `/metrics`.
#[derive(Default)]
pub(crate) struct Deliveries {
    pub delivered: AtomicU64,
    pub failed_attempts: AtomicU64,
    pub given_up: AtomicU64,
    pub dropped: AtomicU64,
}

pub(crate) static DELIVERIES: Deliveries = Deliveries {
    delivered: AtomicU64::new(0),
    failed_attempts: AtomicU64::new(0),
    given_up: AtomicU64::new(0),
    dropped: AtomicU64::new(0),
};

/// How long one delivery attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Publications waiting per target; a notice that finds the queue full is dropped (and counted,
/// and logged) — the target is that far behind, and every notice names its bundle and `seq`.
const QUEUE: usize = 64;

/// Refuses a webhook URL the service cannot post to, at start-up rather than at the first
/// publication.
pub(crate) fn check_url(url: &str) -> CliResult<()> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("--notify {url}: not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") if uri.host().is_some() => Ok(()),
        Some("https") => Err(format!(
            "--notify {url}: https targets are not supported (segcore carries no TLS stack); \
             post to a local relay or proxy over http"
        )),
        _ => Err(format!("--notify {url}: not an http:// URL")),
    }
}

pub(crate) struct Notifier {
    queues: Vec<mpsc::Sender<Bytes>>,
}

impl Notifier {
    pub(crate) fn start(rt: &tokio::runtime::Runtime, urls: &[String], attempts: u32) -> Notifier {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let queues = urls
            .iter()
            .map(|url| {
                let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUE);
                let client = client.clone();
                let url: Arc<str> = url.as_str().into();
                rt.spawn(async move {
                    while let Some(body) = rx.recv().await {
                        deliver(&client, &url, body, attempts.max(1)).await;
                    }
                });
                tx
            })
            .collect();
        Notifier { queues }
    }

    pub(crate) fn send(&self, summary: &serde_json::Value) {
        let body = Bytes::from(summary.to_string());
        for q in &self.queues {
            if q.try_send(body.clone()).is_err() {
                DELIVERIES.dropped.fetch_add(1, Ordering::Relaxed);
                errln!("segcore serve: a webhook queue is full; a publication notice was dropped");
            }
        }
    }
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn deliver(client: &HttpClient, url: &str, body: Bytes, attempts: u32) {
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=attempts {
        let req = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("segcore/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body.clone()));
        let outcome = match req {
            Ok(req) => match tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(req)).await {
                Ok(Ok(resp)) if resp.status().is_success() => Ok(()),
                Ok(Ok(resp)) => Err(format!("HTTP {}", resp.status())),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer in {}s", ATTEMPT_TIMEOUT.as_secs())),
            },
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(()) => {
                DELIVERIES.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(why) => {
                DELIVERIES.failed_attempts.fetch_add(1, Ordering::Relaxed);
                if attempt == attempts {
                    DELIVERIES.given_up.fetch_add(1, Ordering::Relaxed);
                    errln!("segcore serve: webhook {url}: given up after {attempts} attempt(s): {why}");
                    return;
                }
                errln!("segcore serve: webhook {url}: attempt {attempt} failed ({why}); retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
}
