//! What the four TechEmpower servers share, so that differences between them are the frameworks':
//! one tokio-postgres pool policy with prepared statements, the test's data types, the queries
//! parameter rule, fortunes rendered by one escaping routine, and the process set-up.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rand::{rngs::SmallRng, Rng, SeedableRng};
use serde::Serialize;
use tokio_postgres::{Client, NoTls, Statement};

pub const HELLO: &str = "Hello, World!";

#[derive(Serialize)]
pub struct Message {
    pub message: &'static str,
}

#[derive(Serialize, Clone, Copy)]
pub struct World {
    pub id: i32,
    #[serde(rename = "randomNumber")]
    pub random_number: i32,
}

pub fn json_body() -> Vec<u8> {
    serde_json::to_vec(&Message { message: HELLO }).unwrap()
}

/// TechEmpower's rule: missing, unparsable or < 1 -> 1; > 500 -> 500.
pub fn queries_param(raw: Option<&str>) -> usize {
    raw.and_then(|v| v.parse::<i64>().ok()).unwrap_or(1).clamp(1, 500) as usize
}

/// The `queries` (or `q`) value of a URL query string, undecoded.
pub fn query_value(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == "queries" || k == "q").then_some(v)
    })
}

fn random_id(rng: &mut SmallRng) -> i32 {
    rng.gen_range(1..=10_000)
}

struct Conn {
    client: Client,
    world: Statement,
    fortunes: Statement,
    update: Statement,
}

/// A fixed pool of connections with prepared statements, picked round-robin.
pub struct Db {
    conns: Vec<Conn>,
    next: AtomicUsize,
}

impl Db {
    pub async fn connect(url: &str, size: usize) -> Result<Arc<Db>, tokio_postgres::Error> {
        let mut conns = Vec::with_capacity(size);
        for _ in 0..size {
            let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    eprintln!("database connection ended: {e}");
                }
            });
            let world = client.prepare("SELECT id, randomnumber FROM world WHERE id = $1").await?;
            let fortunes = client.prepare("SELECT id, message FROM fortune").await?;
            // one statement for any number of rows: TechEmpower's "bulk update"
            let update = client
                .prepare("UPDATE world SET randomnumber = t.rn FROM (SELECT unnest($1::int[]) AS id, unnest($2::int[]) AS rn) AS t WHERE world.id = t.id")
                .await?;
            conns.push(Conn { client, world, fortunes, update });
        }
        Ok(Arc::new(Db { conns, next: AtomicUsize::new(0) }))
    }

    fn conn(&self) -> &Conn {
        &self.conns[self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len()]
    }

    async fn world(&self, c: &Conn, id: i32) -> World {
        let row = c.client.query_one(&c.world, &[&id]).await.expect("world row");
        World { id: row.get(0), random_number: row.get(1) }
    }

    pub async fn db(&self) -> World {
        let id = random_id(&mut SmallRng::from_entropy());
        self.world(self.conn(), id).await
    }

    pub async fn queries(&self, n: usize) -> Vec<World> {
        let c = self.conn();
        let mut rng = SmallRng::from_entropy();
        let ids: Vec<i32> = (0..n).map(|_| random_id(&mut rng)).collect();
        futures_util::future::join_all(ids.into_iter().map(|id| self.world(c, id))).await
    }

    pub async fn updates(&self, n: usize) -> Vec<World> {
        let mut worlds = self.queries(n).await;
        let mut rng = SmallRng::from_entropy();
        for w in worlds.iter_mut() {
            w.random_number = random_id(&mut rng);
        }
        // rows locked in id order, so concurrent bulk updates cannot deadlock one another
        let mut sorted = worlds.clone();
        sorted.sort_by_key(|w| w.id);
        sorted.dedup_by_key(|w| w.id);
        let ids: Vec<i32> = sorted.iter().map(|w| w.id).collect();
        let rns: Vec<i32> = sorted.iter().map(|w| w.random_number).collect();
        let c = self.conn();
        c.client.execute(&c.update, &[&ids, &rns]).await.expect("update");
        worlds
    }

    pub async fn fortunes_html(&self) -> String {
        let c = self.conn();
        let rows = c.client.query(&c.fortunes, &[]).await.expect("fortunes");
        let mut fortunes: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        fortunes.push((0, "Additional fortune added at request time.".into()));
        fortunes.sort_by(|a, b| a.1.cmp(&b.1));
        let mut html = String::with_capacity(2048);
        html.push_str("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>");
        for (id, message) in &fortunes {
            html.push_str("<tr><td>");
            html.push_str(&id.to_string());
            html.push_str("</td><td>");
            escape_html(message, &mut html);
            html.push_str("</td></tr>");
        }
        html.push_str("</table></body></html>");
        html
    }
}

pub fn escape_html(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

/// Listen address (argv[1]), database URL (DATABASE_URL), pool size (TFB_POOL, default 4).
pub struct Setup {
    pub addr: String,
    pub database_url: String,
    pub pool: usize,
}

pub fn setup() -> Setup {
    Setup {
        addr: std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into()),
        database_url: std::env::var("DATABASE_URL").unwrap_or_default(),
        pool: std::env::var("TFB_POOL").ok().and_then(|v| v.parse().ok()).unwrap_or(4),
    }
}

/// Worker threads: as many as the cores this process may run on (the harness pins it).
pub fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(threads()).enable_all().build().unwrap()
}

/// The accept loop the Hyper, AllFrame and Axum servers share: hyper's HTTP/1 builder with
/// pipeline flushing (as TechEmpower's hyper-based entries), one task per connection.
pub async fn serve_http1<S, B>(addr: &str, name: &str, make_service: impl Fn() -> S)
where
    S: hyper::service::Service<hyper::Request<hyper::body::Incoming>, Response = hyper::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    eprintln!("{name} listening on {addr}");
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        let _ = stream.set_nodelay(true);
        let svc = make_service();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .pipeline_flush(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}
