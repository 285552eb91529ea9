//! OpenTelemetry: the `tracing` spans of AllFrame's `#[traced]` (and of the gateway handlers) go through
//! tracing-opentelemetry into an OpenTelemetry SDK tracer provider, whose exporter writes every finished span
//! as one JSON line to a file (AllFrame's own exporter, `otel-otlp`, needs an OTLP collector).
use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::Write,
    path::PathBuf,
    sync::{Mutex, OnceLock},
};

use futures_util::future::BoxFuture;
use opentelemetry::{propagation::TextMapPropagator, trace::TracerProvider as _};
use opentelemetry_sdk::{
    export::trace::{ExportResult, SpanData, SpanExporter},
    propagation::TraceContextPropagator,
};
use serde_json::json;
use tonic::metadata::MetadataMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{filter::Targets, layer::SubscriberExt, Layer};

#[derive(Debug)]
struct FileExporter(Mutex<File>);

impl SpanExporter for FileExporter {
    fn export(&mut self, batch: Vec<SpanData>) -> BoxFuture<'static, ExportResult> {
        let mut file = self.0.lock().unwrap();
        for span in batch {
            let attributes: serde_json::Map<String, serde_json::Value> = span
                .attributes
                .iter()
                .map(|kv| (kv.key.to_string(), json!(kv.value.to_string())))
                .collect();
            let context = &span.span_context;
            let trace_id = context.trace_id().to_string();
            let span_id = context.span_id().to_string();
            let line = json!({"name": span.name, "trace_id": trace_id, "span_id": span_id,
                "parent_span_id": span.parent_span_id.to_string(), "status": format!("{:?}", span.status),
                "attributes": attributes});
            // One write per line: the tests read the file while other spans are exported.
            let _ = file.write_all(format!("{line}\n").as_bytes());
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

static INSTALLED: OnceLock<(PathBuf, opentelemetry_sdk::trace::TracerProvider)> = OnceLock::new();

/// Installs the process-wide exporter to `path` (once; later calls keep the first file) and returns its file.
pub fn install(path: PathBuf) -> PathBuf {
    let (path, _provider) = INSTALLED.get_or_init(|| {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("open the spans file");
        let exporter = FileExporter(Mutex::new(file));
        let provider = opentelemetry_sdk::trace::TracerProvider::builder()
            .with_simple_exporter(exporter)
            .build();
        // This crate's spans only (not hyper's, h2's, tonic's).
        let ours = Targets::new().with_target("api_gateway", tracing::Level::TRACE);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("api-gateway"))
            .with_filter(ours);
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
        (path, provider)
    });
    path.clone()
}

/// Puts the current span's W3C trace context into a gRPC request (REST/GraphQL → gRPC), so that the gateway
/// and the handler spans are one trace.
pub fn inject(metadata: &mut MetadataMap) {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut carrier);
    for (key, value) in carrier {
        if let (Ok(key), Ok(value)) = (
            key.parse::<tonic::metadata::AsciiMetadataKey>(),
            value.parse(),
        ) {
            metadata.insert(key, value);
        }
    }
}

/// A server span for one gRPC call, child of the caller's trace context (if the request carries one).
pub fn server_span(method: &'static str, metadata: &MetadataMap) -> tracing::Span {
    let header = |key: &str| {
        Some((
            key.to_string(),
            metadata.get(key)?.to_str().ok()?.to_string(),
        ))
    };
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(header)
        .collect();
    let span = tracing::info_span!("grpc.server", rpc.method = method);
    span.set_parent(TraceContextPropagator::new().extract(&carrier));
    span
}
