//! Contract tests: each route's documented responses (the served OpenAPI document) against what it
//! answers. Every documented status of every operation is produced by a request here, every
//! answer's status is documented for its operation, and every error answer has the documented JSON
//! shape (`demo_support::testing::check_contract`).
mod common;
use common::*;
use demo_support::testing::{self, case, Case, CaseBody};
use serde_json::json;

fn cases() -> Vec<Case> {
    let none = || CaseBody::None;
    let account = || CaseBody::Json(json!({"account_id": "carol", "owner": "C"}));
    let five = || CaseBody::Json(json!({"amount_cents": 5}));
    let transfer = |from: &str, to: &str, cents: u64| {
        CaseBody::Json(
            json!({"from": from, "to": to, "amount_cents": cents, "transfer_id": format!("{from}-{to}-{cents}")}),
        )
    };
    let malformed = || CaseBody::Raw("application/json", "{\"amount");
    let plain = || CaseBody::Raw("text/plain", "{}");
    let (a, d, t) = (
        "/accounts/{id}",
        "/accounts/{id}/deposits",
        "/accounts/{id}/transactions",
    );
    vec![
        case("GET", "/health", "/health", none(), 200),
        case("GET", "/openapi.json", "/openapi.json", none(), 200),
        case("GET", "/audit", "/audit", none(), 200),
        case("GET", a, "/accounts/alice", none(), 200),
        case("GET", a, "/accounts/%FF", none(), 400),
        case("GET", a, "/accounts/nobody", none(), 404),
        case("GET", t, "/accounts/alice/transactions", none(), 200),
        case("GET", t, "/accounts/%FF/transactions", none(), 400),
        case("GET", t, "/accounts/nobody/transactions", none(), 404),
        case("POST", "/accounts", "/accounts", account(), 201),
        case("POST", "/accounts", "/accounts", malformed(), 400),
        case("POST", "/accounts", "/accounts", account(), 409),
        case("POST", "/accounts", "/accounts", CaseBody::OverLimit, 413),
        case("POST", "/accounts", "/accounts", plain(), 415),
        case(
            "POST",
            "/accounts",
            "/accounts",
            CaseBody::Json(json!({"account_id": "a b", "owner": "x"})),
            422,
        ),
        case("POST", d, "/accounts/bob/deposits", five(), 200),
        case("POST", d, "/accounts/%FF/deposits", five(), 400),
        case("POST", d, "/accounts/bob/deposits", malformed(), 400),
        case("POST", d, "/accounts/nobody/deposits", five(), 404),
        case(
            "POST",
            d,
            "/accounts/bob/deposits",
            CaseBody::OverLimit,
            413,
        ),
        case("POST", d, "/accounts/bob/deposits", plain(), 415),
        case(
            "POST",
            d,
            "/accounts/bob/deposits",
            CaseBody::Json(json!({"amount_cents": u64::MAX})),
            422,
        ),
        case(
            "POST",
            "/transfers",
            "/transfers",
            transfer("alice", "bob", 10),
            201,
        ),
        case("POST", "/transfers", "/transfers", malformed(), 400),
        case(
            "POST",
            "/transfers",
            "/transfers",
            transfer("alice", "bob", 150_000),
            403,
        ),
        case(
            "POST",
            "/transfers",
            "/transfers",
            transfer("alice", "nobody", 1),
            404,
        ),
        case(
            "POST",
            "/transfers",
            "/transfers",
            transfer("alice", "bob", 10),
            409,
        ),
        case("POST", "/transfers", "/transfers", CaseBody::OverLimit, 413),
        case("POST", "/transfers", "/transfers", plain(), 415),
        case(
            "POST",
            "/transfers",
            "/transfers",
            transfer("bob", "alice", 99_999),
            422,
        ),
        case(
            "POST",
            "/transfers",
            "/transfers",
            transfer("alice", "partner", 5),
            504,
        ),
        case(
            "GET",
            "/transfers/{id}",
            "/transfers/alice-bob-10",
            none(),
            200,
        ),
        case("GET", "/transfers/{id}", "/transfers/%FF", none(), 400),
        case("GET", "/transfers/{id}", "/transfers/nope", none(), 404),
    ]
}

#[tokio::test]
async fn every_path_in_openapi_document_is_served() {
    let server = serve(config(":memory:")).await;
    let doc = get(server.url("/openapi.json")).await.1;
    let cases = cases();
    let failures = testing::check_contract(&server, &doc, &cases).await;
    let figures =
        json!({"cases": cases.len(), "failures": failures.len(), "failure_examples": failures});
    testing::report(
        "banking-system",
        "every_path_in_openapi_document_is_served",
        figures,
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
