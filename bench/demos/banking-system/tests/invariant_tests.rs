//! Money is conserved: concurrent random transfers (a quarter of whose clients disconnect at random
//! moments) and random deposits (u64::MAX, i64::MAX, negative and malformed amounts among them),
//! against the real server on an SQLite file; then the balances, the outcome of every transfer, and
//! the replay of the audit trail after a restart are checked.
mod common;
use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use demo_support::testing::{self, Rng};
use serde_json::{json, Value};

const TRANSFERS: usize = 240;
const DEPOSITS: usize = 60;
const ACCOUNTS: [&str; 7] = ["alice", "bob", "partner", "carol", "dave", "erin", "vault"];

async fn balances(base: &str) -> BTreeMap<String, i128> {
    let mut all = BTreeMap::new();
    for id in ACCOUNTS {
        all.insert(id.to_string(), i128::from(balance(base, id).await));
    }
    all
}

fn kind_of(events: &[Value], id: &str, kind: &str) -> usize {
    let this = |e: &&Value| e["transfer_id"] == json!(id) && e["type"] == json!(kind);
    events.iter().filter(this).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn money_is_conserved_under_concurrent_transfers_disconnects_and_deposits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.sqlite3");
    let db = db.to_str().unwrap().to_string();
    // The partner bank answers after 400 ms; the credit step gives up after 150 ms.
    let settings = banking_system::Config {
        partner_delay: Duration::from_millis(400),
        credit_timeout: Duration::from_millis(150),
        ..config(&db)
    };
    let server = serve(settings.clone()).await;
    let base = server.base.clone();
    for id in ["carol", "dave", "erin", "vault"] {
        let (status, _) = post(
            format!("{base}/accounts"),
            json!({"account_id": id, "owner": id}),
        )
        .await;
        assert_eq!(status, 201);
    }
    for id in ["carol", "dave", "erin"] {
        let fund = json!({"amount_cents": 250_000});
        assert_eq!(
            post(format!("{base}/accounts/{id}/deposits"), fund).await.0,
            200
        );
    }
    let initial: i128 = balances(&base).await.values().sum();
    // The vault holds i64::MAX: every transfer into it must fail on the credit and be reversed.
    let full = json!({ "amount_cents": i64::MAX });
    assert_eq!(
        post(format!("{base}/accounts/vault/deposits"), full)
            .await
            .0,
        200
    );
    let mut accepted_deposits = 1;
    let mut accepted_sum = i128::from(i64::MAX);

    let mut rng = Rng::new(20);
    let mut tasks = Vec::new();
    for i in 0..TRANSFERS {
        // The vault is never a source: it may hold i64::MAX (see the deposits below).
        let from = *rng.pick(&ACCOUNTS[..6]);
        let to = *rng.pick(&ACCOUNTS);
        // One in ten is over the fraud limit (100,000).
        let amount = match rng.chance(0.1) {
            true => 100_001 + rng.below(50_000),
            false => 1 + rng.below(40_000),
        };
        let body =
            json!({"from": from, "to": to, "amount_cents": amount, "transfer_id": format!("t{i}")});
        // A quarter of the clients give up after 1 to 200 ms, mid-saga or before it even starts.
        let patience = rng
            .chance(0.25)
            .then(|| Duration::from_millis(1 + rng.below(200)));
        let url = format!("{base}/transfers");
        tasks.push(tokio::spawn(async move {
            let mut client = reqwest::Client::builder();
            if let Some(patience) = patience {
                client = client.timeout(patience);
            }
            let sent = client.build().unwrap().post(url).json(&body).send().await;
            match sent {
                Ok(r) => Some((r.status().as_u16(), r.json::<Value>().await.unwrap())),
                Err(e) if patience.is_some() && e.is_timeout() => None,
                Err(e) => panic!("transfer {body} dropped: {e}"),
            }
        }));
    }
    let amounts = [
        "18446744073709551615", // u64::MAX: refused, never wrapped
        "9223372036854775807",  // i64::MAX: fits only an empty account
        "9223372036854775808",
        "-5",
        "-0",
        "0",
        "1e3",
        "\"100\"",
        "null",
    ];
    let mut deposits = Vec::new();
    for _ in 0..DEPOSITS {
        let to = *rng.pick(&ACCOUNTS);
        let amount = match rng.chance(0.5) {
            true => (1 + rng.below(50_000)).to_string(),
            false => rng.pick(&amounts).to_string(),
        };
        let url = format!("{base}/accounts/{to}/deposits");
        let body = format!("{{\"amount_cents\": {amount}}}");
        deposits.push(tokio::spawn(async move {
            let req = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json");
            let r = req.body(body).send().await.expect("a deposit is answered");
            let status = r.status().as_u16();
            let answer: Value = r.json().await.expect("JSON");
            (status, amount, answer)
        }));
    }

    let mut failures = Vec::new();
    for d in deposits {
        let (status, amount, answer) = d.await.unwrap();
        match status {
            200 => {
                accepted_deposits += 1;
                accepted_sum += amount.parse::<i128>().unwrap();
            }
            422 if demo_support::error::ErrorBody::matches(&answer) => {}
            _ => failures.push(format!("deposit {amount}: {status} {answer}")),
        }
    }
    let mut answered = BTreeMap::new();
    let mut disconnects = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Some(answer) => {
                answered.insert(format!("t{i}"), answer);
            }
            None => disconnects += 1,
        }
    }

    // Every transfer the server received gets exactly one outcome, whatever its client did.
    let mut events = Vec::new();
    for _ in 0..200 {
        events = get(format!("{base}/audit"))
            .await
            .1
            .as_array()
            .unwrap()
            .clone();
        let requested = events
            .iter()
            .filter(|e| e["type"] == json!("TransferRequested"))
            .count();
        let outcomes = events
            .iter()
            .filter(|e| {
                e["type"] == json!("TransferCompleted") || e["type"] == json!("TransferFailed")
            })
            .count();
        if requested == outcomes {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    let mut received = 0;
    for i in 0..TRANSFERS {
        let id = format!("t{i}");
        let requested = kind_of(&events, &id, "TransferRequested");
        if requested == 0 {
            if answered.contains_key(&id) {
                failures.push(format!("{id} was answered but never stored"));
            }
            continue; // its client gave up before the request arrived
        }
        received += 1;
        let completed = kind_of(&events, &id, "TransferCompleted");
        let failed = kind_of(&events, &id, "TransferFailed");
        let debited = kind_of(&events, &id, "Debited");
        let credited = kind_of(&events, &id, "Credited");
        let reversed = kind_of(&events, &id, "DebitReversed");
        let cause = match (completed, failed) {
            (1, 0) if (debited, credited, reversed) == (1, 1, 0) => "completed".to_string(),
            (0, 1) if credited == 0 && reversed == debited => {
                let outcome = events.iter().find(|e| {
                    e["transfer_id"] == json!(id) && e["type"] == json!("TransferFailed")
                });
                outcome.unwrap()["kind"].as_str().unwrap().to_string()
            }
            _ => {
                let counts = (requested, completed, failed, debited, credited, reversed);
                failures.push(format!(
                    "{id}: events (req, ok, failed, D, C, R) = {counts:?}"
                ));
                continue;
            }
        };
        if let Some((status, answer)) = answered.get(&id) {
            let code = answer["code"].as_str().unwrap_or("completed");
            if code != cause || (*status == 201) != (cause == "completed") {
                failures.push(format!("{id}: answered {status} {code}, stored {cause}"));
            }
        }
        *causes.entry(cause).or_default() += 1;
    }

    let final_balances = balances(&base).await;
    let final_sum: i128 = final_balances.values().sum();
    if final_sum != initial + accepted_sum {
        failures.push(format!(
            "sum {final_sum} != initial {initial} + deposits {accepted_sum}"
        ));
    }
    if final_balances.values().any(|b| *b < 0) {
        failures.push(format!("a negative balance: {final_balances:?}"));
    }

    // A restart on the same SQLite file replays the audit trail to the same balances.
    server.stop().await;
    let again = serve(settings).await;
    let replayed = balances(&again.base).await;
    let replayed_events = get(again.url("/audit")).await.1;
    if replayed != final_balances || replayed_events != json!(events) {
        failures.push(format!(
            "after the restart: {replayed:?} != {final_balances:?}"
        ));
    }

    let figures = json!({
        "cases": TRANSFERS + DEPOSITS,
        "failures": failures.len(),
        "transfers": TRANSFERS,
        "transfers_received": received,
        "disconnects": disconnects,
        "outcomes": causes,
        "deposits": DEPOSITS,
        "accepted_deposits": accepted_deposits,
        "accepted_deposit_cents": accepted_sum.to_string(),
        "initial_sum_cents": initial.to_string(),
        "final_sum_cents": final_sum.to_string(),
        "expected_sum_cents": (initial + accepted_sum).to_string(),
        "replayed_after_restart": replayed == final_balances,
        "failure_examples": failures.iter().take(20).collect::<Vec<_>>(),
    });
    println!("{figures:#}");
    let test = "money_is_conserved_under_concurrent_transfers_disconnects_and_deposits";
    testing::report("banking-system", test, figures);
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        disconnects > 0 && received > TRANSFERS / 2,
        "{disconnects} {received}"
    );
}
