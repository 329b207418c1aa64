//! Issue 11: transactions per flow, counted by `vdc bench` on the server's Postgres database
//! (never time: speed is measured by `vdc bench` and criterion, not in tests).
//!
//! A test binary of its own, with one test: `txid_current()` counts the writing transactions
//! of the whole Postgres cluster, so nothing else may write while it counts (cargo runs test
//! binaries one after another).

// Tests fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use vdc_testkit::{ADMIN_KEY, Backend, TestServer};

fn probe(server: &TestServer) -> vdc::bench::ProbeTargets {
    vdc::bench::ProbeTargets {
        db_url: Some(server.database_url.clone()),
        server_pid: Some(std::process::id()),
    }
}

/// What the server's background loop commits (read-only: the webhook subscription check, the
/// dispatch claim, the expiry sweep) per second, measured while nothing else runs.
async fn background_rate(server: &TestServer) -> f64 {
    let idle = Duration::from_secs(3);
    let cost = vdc::bench::idle_cost(&probe(server), idle).await.unwrap();
    let all = cost.transactions.expect("counted").all as f64;
    all / (idle.as_secs_f64() + cost.settle_secs)
}

/// The background loop's share of a run's count: its rate over the run and the probe's wait
/// for Postgres to publish its statistics, with one second to spare.
fn background_slack(rate: f64, report: &vdc::bench::IssuanceReport) -> f64 {
    rate * (report.elapsed.as_secs_f64() + report.server.settle_secs + 1.0)
}

/// Issue 11 goal, on Postgres: at most 3 writing transactions per issuance flow (offer,
/// token, credential) and at most 6 in all; at most 3 writing per presentation (request,
/// response; the result read's audit entry shares a batched commit) and at most 6 in all.
/// The old code made 7.0 and 13.3 per issuance flow, 4.0 and 13.9 per presentation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_commit_at_most_three_writing_and_six_transactions_on_postgres() {
    let server = TestServer::start(Backend::Postgres).await;
    let rate = background_rate(&server).await;
    let flows = 300;
    let report = vdc::bench::issuance(vdc::bench::IssuanceBench {
        url: server.base.clone(),
        admin_key: ADMIN_KEY.into(),
        issuer: "demo".into(),
        configuration: "EmployeeBadge".into(),
        claims: json!({"given_name": "Ada", "family_name": "Lovelace", "employee_id": "E-1"}),
        holders: 4,
        flows,
        duration: None,
        request_timeout: Duration::from_secs(30),
        retry_for: Duration::ZERO,
        record: None,
        probe: probe(&server),
    })
    .await
    .unwrap();
    assert_eq!((report.completed, report.failed), (flows, 0), "{report}");
    let names: Vec<_> = report.steps.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "offer",
            "offer_by_reference",
            "token",
            "nonce",
            "credential"
        ]
    );
    assert!(report.server.cpu_secs.is_some_and(|c| c > 0.0), "{report}");
    let tx = report.server.transactions.expect("counted");
    let f = flows as f64;
    // A few for autovacuum's ANALYZE of the fresh tables, which takes transaction ids.
    assert!(tx.writing as f64 <= 3.0 * f + 5.0, "{report}");
    assert!(
        tx.all as f64 <= 6.0 * f + background_slack(rate, &report),
        "{report}\nbackground {rate:.1}/s, settle {:.1} s",
        report.server.settle_secs
    );

    let presentations = 300;
    let report = vdc::bench::presentation(vdc::bench::PresentationBench {
        url: server.base.clone(),
        admin_key: ADMIN_KEY.into(),
        issuer: "demo".into(),
        verifier: "demo".into(),
        response_mode: "direct_post".into(),
        holders: 4,
        presentations,
        probe: probe(&server),
    })
    .await
    .unwrap();
    assert_eq!(
        (report.completed, report.failed),
        (presentations, 0),
        "{report}"
    );
    let names: Vec<_> = report.steps.iter().map(|s| s.name).collect();
    assert_eq!(names, ["request", "present", "result"]);
    let tx = report.server.transactions.expect("counted");
    let f = presentations as f64;
    assert!(tx.writing as f64 <= 3.0 * f + 5.0, "{report}");
    assert!(
        tx.all as f64 <= 6.0 * f + background_slack(rate, &report),
        "{report}\nbackground {rate:.1}/s, settle {:.1} s",
        report.server.settle_secs
    );
    server.stop().await;
}
