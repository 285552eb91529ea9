//! size-probe: a small real AllFrame program, built once per feature configuration.
//!
//! Each enabled feature is *used* (not just compiled), so the linked binary holds what a user
//! of that feature pays for. It prints one JSON line naming what it exercised; the harness
//! runs it once after the build as a smoke check.
use allframe_core::router::Router;
use serde_json::{json, Map, Value};

#[cfg(feature = "cqrs")]
mod cqrs_use {
    use allframe_core::cqrs::*;

    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    pub enum OrderEvent {
        Placed { id: String, total: u64 },
    }
    #[cfg(not(feature = "no-event-type-name"))]
    impl EventTypeName for OrderEvent {}
    impl Event for OrderEvent {}

    pub struct PlaceOrder {
        pub id: String,
        pub total: u64,
    }
    impl Command for PlaceOrder {}

    struct PlaceOrderHandler;
    #[async_trait::async_trait]
    impl CommandHandler<PlaceOrder, OrderEvent> for PlaceOrderHandler {
        async fn handle(&self, c: PlaceOrder) -> CommandResult<OrderEvent> {
            Ok(vec![OrderEvent::Placed { id: c.id, total: c.total }])
        }
    }

    /// Dispatch a command, append its events, read them back: the CQRS round trip.
    pub async fn round_trip(n: u64) -> usize {
        let bus: CommandBus<OrderEvent> = CommandBus::new();
        bus.register(PlaceOrderHandler).await;
        let store: EventStore<OrderEvent> = EventStore::new();
        for i in 0..n {
            let events = bus
                .dispatch(PlaceOrder { id: format!("order-{i}"), total: i * 100 })
                .await
                .expect("dispatch");
            store.append(&format!("order-{}", i % 3), events).await.expect("append");
        }
        store.get_events("order-0").await.expect("read").len()
    }

    /// The same append and read through the durable SQLite backend, in a throwaway file.
    #[cfg(feature = "cqrs-sqlite")]
    pub async fn sqlite_round_trip(n: u64) -> usize {
        let path = std::env::temp_dir().join(format!("size-probe-{}.db", std::process::id()));
        let backend = SqliteEventStoreBackend::new(path.to_str().unwrap()).await.expect("sqlite");
        let store: EventStore<OrderEvent, _> = EventStore::with_backend(backend);
        store.append("order-1", vec![OrderEvent::Placed { id: "1".into(), total: n }]).await.expect("append");
        let read = store.get_events("order-1").await.expect("read").len();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        read
    }
}

#[tokio::main]
async fn main() {
    // Runtime input, so nothing below can be folded away at compile time.
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let mut used = Map::new();
    used.insert("n".into(), json!(n));

    // Router registration and dispatch (always compiled in allframe-core).
    let mut router = Router::new();
    router.register("hello", || async { "Hello, World!".to_string() });
    router.get("/orders", || async { "[]".to_string() });
    let reply = router.execute("hello").await.expect("dispatch");
    used.insert("router".into(), json!(reply));

    #[cfg(feature = "router")]
    {
        use allframe_core::router::RouterConfig;
        let cfg = RouterConfig::from_toml("[server]\nprotocols = [\"rest\"]\n").expect("router config");
        let configured = Router::with_config(cfg);
        used.insert("router_config".into(), json!(configured.enabled_protocols()));
    }

    #[cfg(feature = "openapi")]
    {
        use allframe_core::router::OpenApiGenerator;
        let spec = OpenApiGenerator::new("probe", "1.0").with_description("size probe").generate(&router);
        used.insert("openapi_paths".into(), json!(spec["paths"].as_object().map_or(0, |p| p.len())));
    }

    #[cfg(feature = "di")]
    {
        use allframe_core::di::DependencyRegistry;
        let mut registry = DependencyRegistry::new();
        registry.store_singleton(format!("db://probe/{n}"));
        let got = registry.get_singleton::<String>().expect("singleton");
        used.insert("di".into(), json!(*got));
    }

    #[cfg(feature = "cqrs")]
    used.insert("cqrs_events".into(), json!(cqrs_use::round_trip(n).await));

    #[cfg(feature = "otel")]
    {
        allframe_core::tracing::info!(n, "size probe running");
        used.insert("otel".into(), json!(true));
    }

    #[cfg(feature = "health")]
    {
        use allframe_core::health::{AlwaysHealthy, HealthServer, SimpleHealthCheck};
        let check = SimpleHealthCheck::new().add_dependency(AlwaysHealthy::new("probe"));
        let server = HealthServer::new(check).port(0);
        let report = server.check().await;
        used.insert("health".into(), json!(format!("{:?}", report.status)));
    }

    #[cfg(feature = "router-graphql")]
    {
        use allframe_core::router::{GraphQLProductionAdapter, ProtocolAdapter};
        let adapter = GraphQLProductionAdapter::new("/graphql");
        let out = adapter.handle("{ order(id: 1) { id total } }").await.expect("graphql");
        used.insert("graphql".into(), json!(out.len()));
    }

    #[cfg(feature = "router-grpc")]
    {
        use allframe_core::router::{protobuf, GrpcProductionAdapter};
        let ts = allframe_core::prost_types::Timestamp { seconds: n as i64, nanos: 0 };
        let bytes = protobuf::encode(&ts).expect("encode");
        let back: allframe_core::prost_types::Timestamp = protobuf::decode(&bytes).expect("decode");
        let _server = GrpcProductionAdapter::server_builder();
        let reflection = GrpcProductionAdapter::enable_reflection().build_v1().is_ok();
        used.insert("grpc".into(), json!({"roundtrip": back.seconds, "reflection": reflection}));
    }

    #[cfg(feature = "auth-jwt")]
    {
        use allframe_core::auth::{jwt::StandardClaims, JwtConfig, JwtValidator};
        let new_validator = || JwtValidator::<StandardClaims>::new(JwtConfig::hs256("probe-secret"));
        let validator = new_validator();
        used.insert("jwt_rejects_garbage".into(), json!(validator.validate("not.a.token").is_err()));

        #[cfg(feature = "auth-axum")]
        {
            let _layer = allframe_core::auth::AuthLayer::new(new_validator());
            used.insert("auth_axum".into(), json!(true));
        }
        #[cfg(feature = "auth-tonic")]
        {
            use allframe_core::tonic::service::Interceptor;
            let mut interceptor = allframe_core::auth::AuthInterceptor::<_, StandardClaims>::new(new_validator());
            let denied = interceptor.call(allframe_core::tonic::Request::new(())).is_err();
            used.insert("auth_tonic_denies_anonymous".into(), json!(denied));
        }
    }

    #[cfg(feature = "security")]
    used.insert("security".into(), json!(allframe_core::security::obfuscate_url("postgres://u:secret@db/x")));

    #[cfg(feature = "resilience")]
    {
        use allframe_core::resilience::{CircuitBreaker, CircuitBreakerConfig};
        let breaker = CircuitBreaker::new("probe", CircuitBreakerConfig::new(3));
        let r: Result<u64, _> = breaker.call(|| async { Ok::<u64, String>(n) }).await;
        used.insert("resilience".into(), json!(r.is_ok()));
    }

    #[cfg(feature = "cache-memory")]
    {
        let cache: allframe_core::moka::future::Cache<u64, String> = allframe_core::moka::future::Cache::new(100);
        cache.insert(n, "cached".into()).await;
        used.insert("cache_memory".into(), json!(cache.get(&n).await));
    }

    #[cfg(feature = "http-client")]
    {
        let client = allframe_core::reqwest::Client::builder().build().expect("client");
        let req = client.get(format!("https://127.0.0.1:1/{n}")).build().expect("request");
        used.insert("http_client".into(), json!(req.url().as_str()));
    }

    #[cfg(feature = "metrics")]
    {
        use allframe_core::prometheus::{Encoder, IntCounter, Registry, TextEncoder};
        let registry = Registry::new();
        let counter = IntCounter::new("probe_requests", "requests seen").expect("counter");
        registry.register(Box::new(counter.clone())).expect("register");
        counter.inc_by(n);
        let mut out = Vec::new();
        TextEncoder::new().encode(&registry.gather(), &mut out).expect("encode");
        used.insert("metrics_bytes".into(), json!(out.len()));
    }

    #[cfg(feature = "cqrs-sqlite")]
    used.insert("cqrs_sqlite_events".into(), json!(cqrs_use::sqlite_round_trip(n).await));

    #[cfg(feature = "otel-otlp")]
    {
        let guard = allframe_core::otel::ObservabilityBuilder::new("size-probe")
            .otlp_endpoint("http://127.0.0.1:4317")
            .build();
        used.insert("otel_otlp".into(), json!(guard.is_ok()));
    }

    #[cfg(feature = "grpc-tls")]
    {
        let tls = allframe_core::grpc::TlsConfig::new("/nonexistent/cert.pem", "/nonexistent/key.pem");
        used.insert("grpc_tls_rejects_missing_files".into(), json!(tls.load().is_err()));
    }

    #[cfg(feature = "cache-redis")]
    used.insert("redis_client".into(), json!(allframe_core::redis::Client::open("redis://127.0.0.1:1/").is_ok()));

    #[cfg(feature = "rate-limit")]
    {
        use allframe_core::governor::{Quota, RateLimiter};
        let limiter = RateLimiter::direct(Quota::per_second(std::num::NonZeroU32::new(10).unwrap()));
        used.insert("rate_limit".into(), json!(limiter.check().is_ok()));
    }

    #[cfg(feature = "utils")]
    used.insert("utils_year".into(), json!(allframe_core::chrono::Datelike::year(&allframe_core::chrono::Utc::now())));

    println!("{}", Value::Object(used));
}
