//! Fan-out spread over several servers (the cluster section's runs), on
//! real servers: a spread whose servers do not share updates is reported
//! as lost, never timed.

use std::time::Duration;

use tandem_loadgen::fanout::{self, FanoutSpec};
use tandem_loadgen::target::{ServerKind, Target};
use tandem_testkit::TestServer;

fn target(server: &TestServer) -> Target {
    Target {
        kind: ServerKind::Tandem,
        addr: server.addr,
    }
}

fn spec() -> FanoutSpec {
    FanoutSpec {
        clients: 6,
        writers: 2,
        rate: 20.0,
        duration: Duration::from_millis(500),
        settle: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn a_spread_over_one_server_delivers_everything() {
    let (server, _store) = TestServer::memory().await;
    let result = fanout::run(&[target(&server)], "spread-one", &spec(), &[])
        .await
        .expect("the run completes");
    assert!(result.sent > 0);
    assert!(result.complete(), "{:?}", result.problems);
    assert_eq!(result.expected, result.sent * 5);
}

#[tokio::test]
async fn servers_that_share_nothing_are_reported_as_lost() {
    // Two servers without a bus between them: what a writer on one sends
    // never reaches the readers on the other.
    let (a, _sa) = TestServer::memory().await;
    let (b, _sb) = TestServer::memory().await;
    let result = fanout::run(&[target(&a), target(&b)], "spread-two", &spec(), &[])
        .await
        .expect("the run completes");
    assert!(!result.complete());
    assert!(!result.converged);
    assert!(result.lost() > 0, "{:?}", result.problems);
    assert!(
        result
            .problems
            .iter()
            .any(|p| p.contains("a fresh client's copy on node 2 differs")),
        "{:?}",
        result.problems
    );
}
