//! demo-support's own layers and extractors, against a real server on an ephemeral port.
use axum::{http::StatusCode, routing::get, Router};
use demo_support::{
    error::ApiError,
    extract::{Json, Path, Query},
    testing::{self, Route, Sweep},
};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
enum DemoError {
    #[error("thing {0} not found")]
    NotFound(String),
}

impl ApiError for DemoError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            DemoError::NotFound(_) => (StatusCode::NOT_FOUND, "thing_not_found"),
        }
    }
}

demo_support::json_error!(DemoError);

#[derive(Deserialize)]
struct Page {
    #[allow(dead_code)]
    limit: u32,
}

#[derive(Deserialize)]
struct Thing {
    name: String,
    count: u32,
}

async fn get_thing(Path(id): Path<String>) -> Result<Json<Value>, DemoError> {
    match id.as_str() {
        "known" => Ok(Json(json!({"id": id}))),
        _ => Err(DemoError::NotFound(id)),
    }
}

async fn list(Query(_): Query<Page>) -> Json<Value> {
    Json(json!([]))
}

async fn create(Json(t): Json<Thing>) -> (StatusCode, Json<Value>) {
    (
        StatusCode::CREATED,
        Json(json!({"name": t.name, "count": t.count})),
    )
}

fn app() -> Router {
    Router::new()
        .route("/things", get(list).post(create))
        .route("/things/{id}", get(get_thing))
}

async fn answer(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.expect("answered");
    (r.status().as_u16(), r.json().await.expect("JSON"))
}

#[tokio::test]
async fn rejections_and_errors_answer_the_json_error_shape() {
    let server = testing::start(app()).await;
    let c = reqwest::Client::new();
    let (status, body) = answer(c.get(server.url("/things/%FF"))).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("invalid_path")),
        "{body}"
    );
    let (status, body) = answer(c.get(server.url("/things/nope"))).await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"error": "thing nope not found", "code": "thing_not_found", "status": 404})
        )
    );
    let (status, body) = answer(c.get(server.url("/things?limit=x"))).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("invalid_query")),
        "{body}"
    );
    let (status, body) = answer(c.post(server.url("/things")).body("{}")).await;
    assert_eq!(
        (status, &body["code"]),
        (415, &json!("unsupported_media_type")),
        "{body}"
    );
    let json_post = |b: &'static str| {
        c.post(server.url("/things"))
            .header("content-type", "application/json")
            .body(b)
    };
    let (status, body) = answer(json_post("{\"name\":")).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("malformed_json")),
        "{body}"
    );
    let (status, body) = answer(json_post("{\"name\": 1, \"count\": 1}")).await;
    assert_eq!(
        (status, &body["code"]),
        (422, &json!("invalid_body")),
        "{body}"
    );
    let (status, body) = answer(c.delete(server.url("/things"))).await;
    assert_eq!(
        (status, &body["code"]),
        (405, &json!("method_not_allowed")),
        "{body}"
    );
    let (status, body) = answer(c.get(server.url("/nowhere"))).await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("no_such_route")),
        "{body}"
    );
    let declared = testing::send_body(server.addr, "POST", "/things", 3 << 20, false, &[])
        .await
        .unwrap();
    assert_eq!(
        (declared.status, declared.json().unwrap()["code"].clone()),
        (413, json!("payload_too_large"))
    );
    let streamed = testing::send_body(server.addr, "POST", "/things", 3 << 20, true, &[])
        .await
        .unwrap();
    assert_eq!(
        (streamed.status, streamed.json().unwrap()["code"].clone()),
        (413, json!("payload_too_large"))
    );
}

#[tokio::test]
async fn sweep_finds_no_failure_in_a_well_behaved_app_and_a_huge_body_stays_bounded() {
    let server = testing::start(app()).await;
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["name", "count"]});
    let route = |method: &str, path: &str, body: Option<Value>| Route {
        method: method.into(),
        path: path.into(),
        body,
        auth: false,
        responses: vec!["200".into()],
    };
    let routes = vec![
        route("GET", "/things", None),
        route("POST", "/things", Some(schema)),
        route("GET", "/things/{id}", None),
    ];
    let report = Sweep::new(&server, routes).run().await;
    assert!(report.cases > 25, "{report:?}");
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    let huge = testing::huge_body(&server, "POST", "/things", 200 << 20, &[]).await;
    assert_eq!(huge.status, Some(413), "{huge:?}");
    assert!(huge.rss_growth_bytes < 64 << 20, "{huge:?}");
    assert!(
        huge.body_bytes_sent < 200 << 20,
        "refused before the whole body was read: {huge:?}"
    );
}

#[test]
fn report_writes_demo_test_json_when_the_directory_is_set() {
    let dir = std::env::temp_dir().join(format!("demo-support-report-{}", std::process::id()));
    std::env::set_var("DEMO_REPORT_DIR", &dir);
    let path = testing::report(
        "demo",
        "a_test",
        json!({"cases": 3, "failures": 0, "extra": 1}),
    )
    .unwrap();
    assert_eq!(path, dir.join("demo.a_test.json"));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        written,
        json!({"demo": "demo", "test": "a_test", "cases": 3, "failures": 0, "extra": 1})
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
