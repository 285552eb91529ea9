//! cms through real HTTP (REST and GraphQL): one test per PRD feature of scenario 5.
mod common;
use common::*;
use serde_json::{json, Value};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";

fn file(bytes: Vec<u8>, mime: &str) -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name("upload.bin")
        .mime_str(mime)
        .unwrap();
    reqwest::multipart::Form::new().part("file", part)
}

#[tokio::test]
async fn health_endpoint_answers_ok() {
    let server = start().await;
    let base = server.base.clone();
    assert_eq!(
        send(client().get(format!("{base}/health"))).await,
        (200, json!({"status": "ok"}))
    );
}

#[tokio::test]
async fn sign_in_issues_jwt_that_allframe_validates() {
    let server = start().await;
    let base = server.base.clone();
    let (status, answer) = send(
        client()
            .post(format!("{base}/login"))
            .json(&json!({"username": "eve", "password": "eve-password"})),
    )
    .await;
    assert_eq!((status, &answer["role"]), (200, &json!("editor")));
    let bad = json!({"username": "eve", "password": "guess"});
    assert_eq!(
        send(client().post(format!("{base}/login")).json(&bad))
            .await
            .0,
        401
    );
    // Tokens AllFrame's JwtValidator refuses: garbage, another secret, expired.
    let sign = |secret: &str, exp: u64| {
        let claims =
            json!({"sub": "eve", "role": "editor", "exp": exp, "iss": "cms", "aud": "cms-api"});
        jsonwebtoken::encode(
            &Default::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let hour = std::time::Duration::from_secs(3600);
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    let bare_claims = json!({"sub": "eve", "role": "editor", "exp": now + 60});
    let bare = jsonwebtoken::encode(&Default::default(), &bare_claims, &key).unwrap();
    for (token, why) in [
        ("garbage".to_string(), "malformed"),
        (sign("another-secret", now + 60), "signature"),
        (sign(SECRET, now - 120), "expired"),
        (bare, "no iss, no aud"),
        (
            tokens()
                .with_audience("another-api")
                .mint("eve", "editor", hour)
                .unwrap(),
            "audience",
        ),
        (
            tokens()
                .with_issuer("another-app")
                .mint("eve", "editor", hour)
                .unwrap(),
            "issuer",
        ),
        (tokens().mint("eve", "admin", hour).unwrap(), "no such role"),
    ] {
        let (status, err) = send(call("GET", format!("{base}/articles"), &token)).await;
        assert_eq!(status, 401, "{why}: {err}");
        assert!(demo_support::error::ErrorBody::matches(&err), "{err}");
    }
    assert_eq!(
        send(call(
            "GET",
            format!("{base}/articles"),
            &sign(SECRET, now + 60)
        ))
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn publishing_workflow_moves_draft_to_review_to_published() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, eve) = (token(&base, "alice").await, token(&base, "eve").await);
    eventually_listed(&base, "", "welcome", "published").await; // seeded at start-up
    let id = create(&base, &alice, "Launch").await;
    let article = format!("{base}/articles/{id}");
    assert_eq!(
        send(call("GET", article.clone(), &alice)).await.1["status"],
        json!("draft")
    );
    let (status, a) = send(call("POST", format!("{article}/submit"), &alice)).await;
    assert_eq!((status, &a["status"]), (200, &json!("in_review")));
    assert_eq!(
        send(call("POST", format!("{article}/submit"), &alice))
            .await
            .0,
        409,
        "already in review"
    );
    let (status, a) = send(call("POST", format!("{article}/publish"), &eve)).await;
    assert_eq!((status, &a["status"]), (200, &json!("published")));
    // Published: everyone reads it, from the article and from the index projection.
    assert_eq!(send(call("GET", article, "")).await.0, 200);
    eventually_listed(&base, "", &id, "published").await;
}

#[tokio::test]
async fn editor_rejects_article_in_review_back_to_draft() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, eve) = (token(&base, "alice").await, token(&base, "eve").await);
    let id = create(&base, &alice, "Rough").await;
    send(call("POST", format!("{base}/articles/{id}/submit"), &alice)).await;
    let (status, a) = send(
        call("POST", format!("{base}/articles/{id}/reject"), &eve)
            .json(&json!({"reason": "too short"})),
    )
    .await;
    assert_eq!((status, &a["status"]), (200, &json!("draft")));
    let events = send(call("GET", format!("{base}/articles/{id}/events"), &alice))
        .await
        .1;
    assert_eq!(
        events[2],
        json!({"type": "Rejected", "article_id": id, "by": "eve", "reason": "too short"})
    );
}

#[tokio::test]
async fn roles_from_jwt_claims_grant_and_deny_permissions() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, bob, eve, rita) = (
        token(&base, "alice").await,
        token(&base, "bob").await,
        token(&base, "eve").await,
        token(&base, "rita").await,
    );
    let new = json!({"title": "T", "body": "B"});
    assert_eq!(
        send(call("POST", format!("{base}/articles"), "").json(&new))
            .await
            .0,
        401,
        "anonymous"
    );
    assert_eq!(
        send(call("POST", format!("{base}/articles"), &rita).json(&new))
            .await
            .0,
        403,
        "reader"
    );
    let id = create(&base, &alice, "Mine").await;
    let article = format!("{base}/articles/{id}");
    assert_eq!(
        send(call("PUT", article.clone(), &bob).json(&new)).await.0,
        403,
        "another author"
    );
    assert_eq!(
        send(call("PUT", article.clone(), &eve).json(&new)).await.0,
        200,
        "an editor"
    );
    // A draft is visible to its author and editors only.
    assert_eq!(send(call("GET", article.clone(), "")).await.0, 404);
    assert_eq!(send(call("GET", article.clone(), &bob)).await.0, 404);
    assert_eq!(send(call("GET", article.clone(), &eve)).await.0, 200);
    eventually_listed(&base, &alice, &id, "draft").await;
    let bobs = send(call("GET", format!("{base}/articles"), &bob)).await.1;
    assert!(bobs
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["id"] != json!(id)));
    send(call("POST", format!("{article}/submit"), &alice)).await;
    assert_eq!(
        send(call("POST", format!("{article}/publish"), &alice))
            .await
            .0,
        403,
        "authors cannot publish"
    );
}

#[tokio::test]
async fn version_history_is_folded_from_article_events() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, eve) = (token(&base, "alice").await, token(&base, "eve").await);
    let id = create(&base, &alice, "v1").await;
    let article = format!("{base}/articles/{id}");
    send(call("PUT", article.clone(), &alice).json(&json!({"title": "v2", "body": "more"}))).await;
    send(call("PUT", article.clone(), &eve).json(&json!({"title": "v3", "body": "edited"}))).await;
    let (status, versions) = send(call("GET", format!("{article}/versions"), &alice)).await;
    assert_eq!(status, 200);
    assert_eq!(
        versions,
        json!([
        {"version": 1, "title": "v1", "body": "text", "by": "alice"},
        {"version": 2, "title": "v2", "body": "more", "by": "alice"},
        {"version": 3, "title": "v3", "body": "edited", "by": "eve"}])
    );
    let events = send(call("GET", format!("{article}/events"), &alice))
        .await
        .1;
    let types: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Created", "Edited", "Edited"]);
}

#[tokio::test]
async fn media_upload_accepts_image_within_size_limit() {
    let server = start().await;
    let base = server.base.clone();
    let alice = token(&base, "alice").await;
    let (status, media) = send(
        call("POST", format!("{base}/media"), &alice).multipart(file(PNG.to_vec(), "image/png")),
    )
    .await;
    assert_eq!(status, 201, "{media}");
    assert_eq!(
        (&media["content_type"], &media["size"]),
        (&json!("image/png"), &json!(PNG.len()))
    );
    let r = client()
        .get(format!("{base}{}", media["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    let rita = token(&base, "rita").await;
    assert_eq!(
        send(
            call("POST", format!("{base}/media"), &rita).multipart(file(PNG.to_vec(), "image/png"))
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn media_upload_over_size_limit_gets_413() {
    let server = start().await;
    let base = server.base.clone();
    let alice = token(&base, "alice").await;
    let mut big = PNG.to_vec();
    big.resize(65 * 1024, 0);
    let (status, err) =
        send(call("POST", format!("{base}/media"), &alice).multipart(file(big, "image/png"))).await;
    assert_eq!(status, 413, "{err}");
}

#[tokio::test]
async fn media_upload_of_wrong_type_gets_415() {
    let server = start().await;
    let base = server.base.clone();
    let alice = token(&base, "alice").await;
    let upload = |bytes: &[u8], mime: &str| {
        call("POST", format!("{base}/media"), &alice).multipart(file(bytes.to_vec(), mime))
    };
    assert_eq!(send(upload(b"plain text", "text/plain")).await.0, 415);
    assert_eq!(
        send(upload(b"plain text", "image/png")).await.0,
        415,
        "declared PNG, is not"
    );
    assert_eq!(
        send(upload(PNG, "image/jpeg")).await.0,
        415,
        "is PNG, declared JPEG"
    );
}

#[tokio::test]
async fn graphql_api_runs_the_same_workflow() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, eve) = (token(&base, "alice").await, token(&base, "eve").await);
    let created = gql(
        &base,
        &alice,
        r#"mutation { createArticle(title: "Via GraphQL", body: "b") { id status version } }"#,
    )
    .await;
    let id = created["data"]["createArticle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(created["data"]["createArticle"]["status"], json!("DRAFT"));
    let submitted = gql(
        &base,
        &alice,
        &format!(r#"mutation {{ submitForReview(id: "{id}") {{ status }} }}"#),
    )
    .await;
    assert_eq!(
        submitted["data"]["submitForReview"]["status"],
        json!("IN_REVIEW")
    );
    let denied = gql(
        &base,
        &alice,
        &format!(r#"mutation {{ publish(id: "{id}") {{ status }} }}"#),
    )
    .await;
    assert!(
        denied["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("editors only"),
        "{denied}"
    );
    let published = gql(
        &base,
        &eve,
        &format!(r#"mutation {{ publish(id: "{id}") {{ status }} }}"#),
    )
    .await;
    assert_eq!(published["data"]["publish"]["status"], json!("PUBLISHED"));
    let read = gql(
        &base,
        "",
        &format!(r#"{{ article(id: "{id}") {{ title versions {{ version by }} }} }}"#),
    )
    .await;
    assert_eq!(
        read["data"]["article"],
        json!({"title": "Via GraphQL", "versions": [{"version": 1, "by": "alice"}]})
    );
    let anonymous = gql(
        &base,
        "",
        r#"mutation { createArticle(title: "x", body: "y") { id } }"#,
    )
    .await;
    assert!(
        anonymous["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sign in"),
        "{anonymous}"
    );
}

#[tokio::test]
async fn graphql_schema_sdl_and_graphiql_page_are_served() {
    let server = start().await;
    let base = server.base.clone();
    let sdl = client()
        .get(format!("{base}/graphql/schema.graphql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "type QueryRoot",
        "type MutationRoot",
        "publish(id: String!): Article!",
        "enum Status",
    ] {
        assert!(sdl.contains(line), "{line} missing from\n{sdl}");
    }
    let page = client()
        .get(format!("{base}/graphql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql") && page.contains("/graphql"));
}

#[tokio::test]
async fn openapi_document_is_generated_by_allframe() {
    let server = start().await;
    let base = server.base.clone();
    let (status, doc) = send(client().get(format!("{base}/openapi.json"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&doc["openapi"], &doc["info"]["title"]),
        (&json!("3.1.0"), &json!("AllFrame CMS demo"))
    );
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 12);
    assert!(paths["/articles"]["get"].is_object() && paths["/articles"]["post"].is_object());
}

#[tokio::test]
async fn malformed_input_gets_4xx_json_error_never_a_panic() {
    let server = start().await;
    let base = server.base.clone();
    let alice = token(&base, "alice").await;
    let check = |req: reqwest::RequestBuilder| async move {
        let (status, body) = send(req).await;
        assert!(demo_support::error::ErrorBody::matches(&body), "{body}");
        assert_eq!(body["status"], json!(status));
        status
    };
    let raw = |b: &'static str| {
        call("POST", format!("{base}/articles"), &alice)
            .header("content-type", "application/json")
            .body(b)
    };
    assert_eq!(check(raw("{\"title\": ")).await, 400);
    assert_eq!(check(raw(r#"{"title": 5, "body": "x"}"#)).await, 422);
    assert_eq!(check(raw(r#"{"title": "  ", "body": "x"}"#)).await, 422);
    assert_eq!(
        check(call("POST", format!("{base}/articles"), &alice).body("x")).await,
        415
    );
    assert_eq!(
        check(call("GET", format!("{base}/articles"), "").header("authorization", "Basic abc"))
            .await,
        401
    );
    assert_eq!(
        check(call("POST", format!("{base}/articles/nope/submit"), &alice)).await,
        404
    );
    assert_eq!(
        check(call("POST", format!("{base}/media"), &alice).body("not multipart")).await,
        400
    );
    let graphql = |b: &'static str| {
        client()
            .post(format!("{base}/graphql"))
            .header("content-type", "application/json")
            .body(b)
    };
    assert_eq!(check(graphql("{\"query\": ")).await, 400);
    assert_eq!(
        check(call("GET", format!("{base}/articles/%FF"), "")).await,
        400
    );
    let (status, body) = send(call("GET", format!("{base}/articles/%FF"), "")).await;
    println!("GET /articles/%FF: {status} {body}");
    let big = format!(r#"{{"query": "{}"}}"#, "x".repeat(LIMIT * 2));
    let big_graphql = client()
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json");
    let (status, body) = send(big_graphql.body(big)).await;
    assert_eq!(
        (status, &body["code"]),
        (413, &json!("payload_too_large")),
        "{body}"
    );
    assert_eq!(
        check(call("DELETE", format!("{base}/articles"), "")).await,
        405
    );
    assert_eq!(
        check(call("GET", format!("{base}/no/such/route"), "")).await,
        404
    );
    assert_eq!(
        send(client().get(format!("{base}/health"))).await.0,
        200,
        "still serving"
    );
}

#[tokio::test]
async fn concurrent_workflow_steps_append_one_event_each() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, eve) = (token(&base, "alice").await, token(&base, "eve").await);
    let id = create(&base, &alice, "Race").await;
    let article = format!("{base}/articles/{id}");
    let submits = (0..16).map(|_| send(call("POST", format!("{article}/submit"), &alice)));
    let statuses: Vec<u16> = futures_join(submits)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        15,
        "{statuses:?}"
    );
    let publishes = (0..16).map(|_| send(call("POST", format!("{article}/publish"), &eve)));
    let statuses: Vec<u16> = futures_join(publishes)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    let events = send(call("GET", format!("{article}/events"), &alice))
        .await
        .1;
    let types: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Created", "SubmittedForReview", "Published"]);
    // Concurrent edits: every one is a version, numbered without gaps.
    let edits = (0..8).map(|n| {
        send(
            call("PUT", article.clone(), &eve)
                .json(&json!({"title": format!("v{n}"), "body": "b"})),
        )
    });
    assert!(futures_join(edits).await.iter().all(|(s, _)| *s == 200));
    let versions = send(call("GET", format!("{article}/versions"), &eve))
        .await
        .1;
    let numbers: Vec<_> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=9).collect::<Vec<_>>());
}

async fn futures_join<F: std::future::Future<Output = (u16, Value)> + Send + 'static>(
    requests: impl Iterator<Item = F>,
) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = requests.map(tokio::spawn).collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

#[tokio::test]
async fn an_edit_of_a_published_article_keeps_it_published() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, eve) = (token(&base, "alice").await, token(&base, "eve").await);
    let id = create(&base, &alice, "Live").await;
    let article = format!("{base}/articles/{id}");
    send(call("POST", format!("{article}/submit"), &alice)).await;
    send(call("POST", format!("{article}/publish"), &eve)).await;
    // The editor's correction is a new version, still published: anonymous readers see it.
    let (status, a) =
        send(call("PUT", article.clone(), &eve).json(&json!({"title": "Live", "body": "fixed"})))
            .await;
    assert_eq!(
        (status, &a["status"], &a["version"]),
        (200, &json!("published"), &json!(2)),
        "{a}"
    );
    let (status, a) = send(call("GET", article.clone(), "")).await;
    assert_eq!((status, &a["body"]), (200, &json!("fixed")));
    // The author cannot change a published article on their own.
    let (status, err) =
        send(call("PUT", article.clone(), &alice).json(&json!({"title": "Live", "body": "mine"})))
            .await;
    assert_eq!(
        (status, &err["code"]),
        (409, &json!("invalid_state")),
        "{err}"
    );
    assert_eq!(
        send(call("GET", article, "")).await.1["status"],
        json!("published")
    );
}

#[tokio::test]
async fn graphql_multipart_is_for_editors_and_within_the_limit() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, eve) = (token(&base, "alice").await, token(&base, "eve").await);
    let form = |padding: usize| {
        let operations = r#"{"query": "{ articles { id } }", "variables": {}}"#;
        reqwest::multipart::Form::new()
            .text("operations", operations)
            .text("map", "{}")
            .text("padding", "x".repeat(padding))
    };
    let post = |token: &str, padding: usize| {
        call("POST", format!("{base}/graphql"), token).multipart(form(padding))
    };
    let (status, err) = send(post("", 10)).await;
    assert_eq!(
        (status, &err["code"]),
        (401, &json!("unauthenticated")),
        "{err}"
    );
    let (status, err) = send(post(&alice, 10)).await;
    assert_eq!((status, &err["code"]), (403, &json!("forbidden")), "{err}");
    let (status, answer) = send(post(&eve, 10)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["data"]["articles"].is_array(), "{answer}");
    let (status, err) = send(post(&eve, LIMIT * 2)).await;
    assert_eq!(
        (status, &err["code"]),
        (413, &json!("payload_too_large")),
        "{err}"
    );
}

#[tokio::test]
async fn missing_or_short_jwt_secret_is_a_start_up_error() {
    std::env::remove_var("JWT_SECRET");
    let missing = cms::Config::from_env().err().expect("no JWT_SECRET");
    assert!(
        missing.to_string().contains("openssl rand -hex 32"),
        "{missing}"
    );
    let short = cms::Config {
        jwt_secret: "too-short".into(),
        ..config()
    };
    let err = cms::app(short)
        .await
        .err()
        .expect("a short secret is refused");
    assert!(err.to_string().contains("shorter than 32"), "{err}");
}
