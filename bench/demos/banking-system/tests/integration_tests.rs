//! banking-system through real HTTP: one test per PRD feature of scenario 4, compensation proven from the
//! events stored in AllFrame's SQLite event store.
mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn health_endpoint_answers_ok() {
    let base = start().await;
    assert_eq!(
        get(format!("{base}/health")).await,
        (200, json!({"status": "ok"}))
    );
}

#[tokio::test]
async fn accounts_are_opened_and_funded_through_command_bus() {
    let base = start().await;
    let (status, acc) = post(
        format!("{base}/accounts"),
        json!({"account_id": "carol", "owner": "Carol"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        acc,
        json!({"account_id": "carol", "owner": "Carol", "external": false, "balance_cents": 0})
    );
    let (status, acc) = post(
        format!("{base}/accounts/carol/deposits"),
        json!({"amount_cents": 2500}),
    )
    .await;
    assert_eq!((status, &acc["balance_cents"]), (200, &json!(2500)));
    assert_eq!(
        post(
            format!("{base}/accounts"),
            json!({"account_id": "carol", "owner": "C"})
        )
        .await
        .0,
        409
    );
    assert_eq!(
        post(
            format!("{base}/accounts/dave/deposits"),
            json!({"amount_cents": 1})
        )
        .await
        .0,
        404
    );
    assert_eq!(get(format!("{base}/accounts/dave")).await.0, 404);
    assert_eq!(
        balance(&base, "alice").await,
        500_000,
        "seeded demo account"
    );
}

#[tokio::test]
async fn transfer_saga_debits_checks_fraud_and_credits() {
    let base = start().await;
    let (status, body) = post(
        format!("{base}/transfers"),
        json!({"from": "alice", "to": "bob", "amount_cents": 12_345}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        types(&body["events"]),
        [
            "TransferRequested",
            "Debited",
            "FraudCheckPassed",
            "Credited",
            "TransferCompleted"
        ]
    );
    assert_eq!(
        (balance(&base, "alice").await, balance(&base, "bob").await),
        (500_000 - 12_345, 10_000 + 12_345)
    );
    let id = body["transfer_id"].as_str().unwrap();
    let (status, audit) = get(format!("{base}/transfers/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        types(&audit),
        ["TransferRequested", "FraudCheckPassed", "TransferCompleted"]
    );
}

#[tokio::test]
async fn insufficient_funds_stops_transfer_at_debit_step_and_moves_nothing() {
    let base = start().await;
    let (status, body) = post(
        format!("{base}/transfers"),
        json!({"from": "bob", "to": "alice", "amount_cents": 10_001}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("insufficient funds"),
        "{body}"
    );
    let id = body["transfer_id"].as_str().unwrap();
    let audit = get(format!("{base}/transfers/{id}")).await.1;
    assert_eq!(types(&audit), ["TransferRequested", "TransferFailed"]);
    assert_eq!(
        (&audit[1]["step"], &audit[1]["kind"]),
        (&json!("debit-source"), &json!("insufficient_funds"))
    );
    // The stored account streams show no money movement for this transfer at all.
    for account in ["alice", "bob"] {
        let history = get(format!("{base}/accounts/{account}/transactions"))
            .await
            .1;
        assert!(history
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["transfer_id"] != json!(id)));
    }
    assert_eq!(
        (balance(&base, "alice").await, balance(&base, "bob").await),
        (500_000, 10_000)
    );
}

#[tokio::test]
async fn fraud_check_stop_compensates_the_debit() {
    let base = start().await;
    let (status, body) = post(
        format!("{base}/transfers"),
        json!({"from": "alice", "to": "bob", "amount_cents": 150_000}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("fraud suspected"),
        "{body}"
    );
    let id = body["transfer_id"].as_str().unwrap();
    // Proven from the stored events: debited, then reversed by AllFrame's compensation, for this transfer.
    let history = get(format!("{base}/accounts/alice/transactions")).await.1;
    let this: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["transfer_id"] == json!(id))
        .collect();
    assert_eq!(this.len(), 2);
    assert_eq!(
        (this[0]["type"].as_str(), this[1]["type"].as_str()),
        (Some("Debited"), Some("DebitReversed"))
    );
    assert_eq!(
        (&this[0]["amount_cents"], &this[1]["amount_cents"]),
        (&json!(150_000), &json!(150_000))
    );
    let audit = get(format!("{base}/transfers/{id}")).await.1;
    assert_eq!(
        types(&audit),
        ["TransferRequested", "FraudRejected", "TransferFailed"]
    );
    assert_eq!(audit[2]["kind"], json!("fraud"));
    assert_eq!(
        (balance(&base, "alice").await, balance(&base, "bob").await),
        (500_000, 10_000)
    );
}

#[tokio::test]
async fn timed_out_credit_step_is_cut_short_and_compensated() {
    let base = start().await;
    let started = std::time::Instant::now();
    let (status, body) = post(
        format!("{base}/transfers"),
        json!({"from": "alice", "to": "partner", "amount_cents": 5_000}),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(status, 504, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("timed out"),
        "{body}"
    );
    // AllFrame's per-step timeout (300 ms) ended the step before the partner bank's 1.5 s answer.
    assert!(
        took < std::time::Duration::from_millis(1200),
        "took {took:?}"
    );
    let id = body["transfer_id"].as_str().unwrap();
    let audit = get(format!("{base}/transfers/{id}")).await.1;
    assert_eq!(
        types(&audit),
        ["TransferRequested", "FraudCheckPassed", "TransferFailed"]
    );
    assert_eq!(
        (&audit[2]["step"], &audit[2]["kind"]),
        (&json!("credit-destination"), &json!("timeout"))
    );
    let history = get(format!("{base}/accounts/alice/transactions")).await.1;
    let this: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["transfer_id"] == json!(id))
        .collect();
    assert_eq!(types(&json!(this)), ["Debited", "DebitReversed"]);
    assert_eq!(
        get(format!("{base}/accounts/partner/transactions"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1,
        "never credited"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    assert_eq!(
        balance(&base, "partner").await,
        0,
        "the cancelled credit never lands later"
    );
    assert_eq!(balance(&base, "alice").await, 500_000);
}

#[tokio::test]
async fn transaction_history_lists_every_movement_of_an_account() {
    let base = start().await;
    post(
        format!("{base}/transfers"),
        json!({"from": "alice", "to": "bob", "amount_cents": 100}),
    )
    .await;
    post(
        format!("{base}/transfers"),
        json!({"from": "bob", "to": "alice", "amount_cents": 40}),
    )
    .await;
    post(
        format!("{base}/accounts/bob/deposits"),
        json!({"amount_cents": 5}),
    )
    .await;
    let (status, history) = get(format!("{base}/accounts/bob/transactions")).await;
    assert_eq!(status, 200);
    assert_eq!(
        types(&history),
        [
            "AccountOpened",
            "Deposited",
            "Credited",
            "Debited",
            "Deposited"
        ]
    );
    let amounts: Vec<_> = history.as_array().unwrap()[1..]
        .iter()
        .map(|e| e["amount_cents"].as_u64().unwrap())
        .collect();
    assert_eq!(amounts, [10_000, 100, 40, 5]);
    assert_eq!(balance(&base, "bob").await, 10_000 + 100 - 40 + 5);
}

#[tokio::test]
async fn audit_trail_persists_in_sqlite_event_store_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.sqlite3");
    let db = db.to_str().unwrap();
    let base = start_with(config(db)).await;
    post(
        format!("{base}/transfers"),
        json!({"from": "alice", "to": "bob", "amount_cents": 700}),
    )
    .await;
    post(
        format!("{base}/transfers"),
        json!({"from": "alice", "to": "bob", "amount_cents": 150_000}),
    )
    .await; // fraud
    let audit = get(format!("{base}/audit")).await.1;
    // A second process on the same file: same state, rebuilt from the stored events, seeds not repeated.
    let again = start_with(config(db)).await;
    assert_eq!(get(format!("{again}/audit")).await.1, audit);
    assert_eq!(
        (balance(&again, "alice").await, balance(&again, "bob").await),
        (500_000 - 700, 10_000 + 700)
    );
    assert!(
        std::fs::metadata(db).unwrap().len() > 0,
        "the events are in the SQLite file"
    );
    assert!(types(&audit).contains(&"DebitReversed"));
}

#[tokio::test]
async fn openapi_document_is_generated_by_allframe() {
    let base = start().await;
    let (status, doc) = get(format!("{base}/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&doc["openapi"], &doc["info"]["title"]),
        (&json!("3.1.0"), &json!("AllFrame banking demo"))
    );
    assert_eq!(doc["paths"].as_object().unwrap().len(), 9);
    let body =
        &doc["paths"]["/transfers"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], json!(["from", "to", "amount_cents"]));
}

#[tokio::test]
async fn malformed_input_gets_4xx_json_error_never_a_panic() {
    let base = start().await;
    let client = reqwest::Client::new();
    let send = |req: reqwest::RequestBuilder| async move {
        let r = req
            .send()
            .await
            .expect("the connection is answered, not dropped");
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.expect("a JSON error body");
        assert!(demo_support::error::ErrorBody::matches(&body), "{body}");
        assert_eq!(body["status"], json!(status), "{body}");
        (status, body["code"].as_str().unwrap().to_string())
    };
    let transfers = format!("{base}/transfers");
    let raw = |b: &'static str| {
        let req = client.post(&transfers);
        req.header("content-type", "application/json").body(b)
    };
    let code = |status: u16, code: &str| (status, code.to_string());
    assert_eq!(
        send(raw("{\"from\": \"alice\",")).await,
        code(400, "malformed_json")
    );
    let missing_amount = r#"{"from": "alice", "to": "bob"}"#;
    assert_eq!(send(raw(missing_amount)).await, code(422, "invalid_body"));
    let negative = r#"{"from": "alice", "to": "bob", "amount_cents": -5}"#;
    assert_eq!(send(raw(negative)).await, code(422, "invalid_body"));
    let text = r#"{"from": "alice", "to": "bob", "amount_cents": "ten"}"#;
    assert_eq!(send(raw(text)).await, code(422, "invalid_body"));
    let zero = r#"{"from": "alice", "to": "bob", "amount_cents": 0}"#;
    assert_eq!(send(raw(zero)).await, code(422, "invalid_body"));
    let unknown = r#"{"from": "alice", "to": "nobody", "amount_cents": 5}"#;
    assert_eq!(send(raw(unknown)).await, code(404, "account_not_found"));
    let extra = r#"{"from": "alice", "to": "bob", "amount_cents": 5, "memo": "x"}"#;
    assert_eq!(send(raw(extra)).await, code(422, "invalid_body"));
    assert_eq!(
        send(client.post(&transfers).body("{}")).await,
        code(415, "unsupported_media_type")
    );
    // u64::MAX cents: refused as the JSON is read, never wrapped into a negative i64.
    let deposits = format!("{base}/accounts/bob/deposits");
    let max = client
        .post(&deposits)
        .header("content-type", "application/json");
    let max = max.body(r#"{"amount_cents": 18446744073709551615}"#);
    assert_eq!(send(max).await, code(422, "invalid_body"));
    let largest = json!({ "amount_cents": i64::MAX });
    let overflow = client.post(&deposits).json(&largest);
    assert_eq!(send(overflow).await, code(422, "balance_overflow"));
    assert_eq!(balance(&base, "bob").await, 10_000, "nothing wrapped");
    let accounts = format!("{base}/accounts");
    let bad_id = json!({"account_id": "a b/c", "owner": "x"});
    assert_eq!(
        send(client.post(&accounts).json(&bad_id)).await,
        code(422, "invalid_account_id")
    );
    assert_eq!(
        send(client.delete(&accounts)).await,
        code(405, "method_not_allowed")
    );
    let invalid_utf8 = client.get(format!("{base}/accounts/%FF"));
    assert_eq!(send(invalid_utf8).await, code(400, "invalid_path"));
    let nope = client.get(format!("{base}/transfers/nope"));
    assert_eq!(send(nope).await, code(404, "transfer_not_found"));
    let nowhere = client.get(format!("{base}/no/such/route"));
    assert_eq!(send(nowhere).await, code(404, "no_such_route"));
    assert_eq!(get(format!("{base}/health")).await.0, 200, "still serving");
}

#[tokio::test]
async fn transfer_saga_finishes_when_the_client_disconnects() {
    let base = start().await;
    let body =
        json!({"from": "alice", "to": "partner", "amount_cents": 500, "transfer_id": "gone-1"});
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(100))
        .build()
        .unwrap();
    let gave_up = impatient
        .post(format!("{base}/transfers"))
        .json(&body)
        .send()
        .await;
    assert!(
        gave_up.unwrap_err().is_timeout(),
        "the client went away first"
    );
    let audit = outcome(&base, "gone-1").await;
    assert_eq!(
        types(&audit),
        ["TransferRequested", "FraudCheckPassed", "TransferFailed"]
    );
    assert_eq!(audit[2]["kind"], json!("timeout"));
    let history = get(format!("{base}/accounts/alice/transactions")).await.1;
    assert_eq!(&types(&history)[2..], ["Debited", "DebitReversed"]);
    assert_eq!(
        balance(&base, "alice").await,
        500_000,
        "the debit was reversed"
    );
}

/// The transfer's audit trail once it has its outcome.
async fn outcome(base: &str, id: &str) -> serde_json::Value {
    for _ in 0..100 {
        let (status, audit) = get(format!("{base}/transfers/{id}")).await;
        let last = audit
            .as_array()
            .and_then(|a| a.last())
            .map(|e| e["type"].clone());
        let outcomes = [json!("TransferCompleted"), json!("TransferFailed")];
        if status == 200 && last.is_some_and(|t| outcomes.contains(&t)) {
            return audit;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("transfer {id} never got an outcome");
}

#[tokio::test]
async fn failed_transfers_are_labelled_by_their_cause() {
    let base = start().await;
    let fill = json!({ "amount_cents": i64::MAX - 10_000 });
    assert_eq!(
        post(format!("{base}/accounts/bob/deposits"), fill).await.0,
        200
    );
    let body = json!({"from": "alice", "to": "bob", "amount_cents": 1});
    let (status, answer) = post(format!("{base}/transfers"), body).await;
    assert_eq!(
        (status, &answer["code"]),
        (422, &json!("balance_overflow")),
        "{answer}"
    );
    let audit = outcome(&base, answer["transfer_id"].as_str().unwrap()).await;
    assert_eq!(audit[2]["step"], json!("credit-destination"));
    assert_eq!(balance(&base, "alice").await, 500_000);
    assert_eq!(balance(&base, "bob").await, i64::MAX);
    let poor = json!({"from": "partner", "to": "alice", "amount_cents": 1});
    let (status, answer) = post(format!("{base}/transfers"), poor).await;
    assert_eq!(
        (status, &answer["code"]),
        (422, &json!("insufficient_funds"))
    );
    let again = json!({"from": "alice", "to": "bob", "amount_cents": 1, "transfer_id": "t1"});
    assert_eq!(
        post(format!("{base}/transfers"), again.clone()).await.0,
        422
    );
    let (status, answer) = post(format!("{base}/transfers"), again).await;
    assert_eq!(
        (status, &answer["code"]),
        (409, &json!("already_exists")),
        "one outcome per id"
    );
}

#[tokio::test]
async fn concurrent_open_account_requests_open_it_once() {
    let base = start().await;
    let open = |_| {
        post(
            format!("{base}/accounts"),
            json!({"account_id": "dup", "owner": "D"}),
        )
    };
    let answers = futures_util::future::join_all((0..20).map(open)).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    statuses.sort();
    assert_eq!(statuses, [[201].as_slice(), &[409; 19]].concat());
    let history = get(format!("{base}/accounts/dup/transactions")).await.1;
    assert_eq!(types(&history), ["AccountOpened"]);
}

#[tokio::test]
async fn interrupted_transfer_is_reversed_at_restart() {
    use banking_system::domain::{BankEvent, Movement, Store, TransferRequest};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.sqlite3");
    let db = db.to_str().unwrap();
    let base = start_with(config(db)).await;
    // A crash between the debit and the credit, as the SQLite file would hold it.
    let backend = allframe_core::cqrs::SqliteEventStoreBackend::new(db)
        .await
        .unwrap();
    let store = Store::with_backend(backend);
    let request = TransferRequest {
        transfer_id: "crashed".into(),
        from: "alice".into(),
        to: "bob".into(),
        amount_cents: demo_support::money::Cents(700),
    };
    let requested = BankEvent::TransferRequested(request);
    store
        .append("transfer-crashed", vec![requested])
        .await
        .unwrap();
    let debit = Movement {
        account_id: "alice".into(),
        transfer_id: "crashed".into(),
        amount_cents: 700,
    };
    let debited = BankEvent::Debited(debit);
    store.append("account-alice", vec![debited]).await.unwrap();
    assert_eq!(balance(&base, "alice").await, 500_000 - 700);
    let again = start_with(config(db)).await;
    let audit = get(format!("{again}/transfers/crashed")).await.1;
    assert_eq!(types(&audit), ["TransferRequested", "TransferFailed"]);
    assert_eq!(audit[1]["kind"], json!("interrupted"));
    assert_eq!(
        balance(&again, "alice").await,
        500_000,
        "the debit was reversed"
    );
    assert_eq!(balance(&again, "bob").await, 10_000);
}
