//! `/readyz` tells the truth fast: when the database stops answering, it
//! answers 503 at once (well inside a load balancer's check time-out)
//! instead of hanging, and ready again when the database is back.
//! Runs on PostgreSQL, reached through a TCP relay the test can freeze.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::spawn_with_config;

/// A TCP relay to PostgreSQL; while frozen it forwards nothing (a database
/// host that stopped answering, not one that refuses connections).
struct Relay {
    port: u16,
    frozen: Arc<AtomicBool>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen = Arc::new(AtomicBool::new(false));
        let flag = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (flag, target) = (flag.clone(), target.clone());
                tokio::spawn(async move {
                    while flag.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::spawn(pump(client_read, server_write, flag.clone()));
                    pump(server_read, client_write, flag).await;
                });
            }
        });
        Relay { port, frozen }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn readyz_fails_fast_while_the_database_does_not_answer() {
    let Some(admin) = backline_store::testing::postgres_url("readiness") else {
        return;
    };
    let url = backline_store::testing::fresh_postgres_database(&admin)
        .await
        .unwrap();
    let parsed = reqwest::Url::parse(&url).unwrap();
    let target = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5432)
    );
    let relay = Relay::start(target).await;
    let mut through_relay = parsed.clone();
    through_relay.set_host(Some("127.0.0.1")).unwrap();
    through_relay.set_port(Some(relay.port)).unwrap();
    let mut config = backline_server::config::Config::default();
    config.server.bind = "127.0.0.1:0".into();
    config.database.url = through_relay.to_string();
    let app = spawn_with_config(config, None).await;
    let readyz = || async {
        let started = Instant::now();
        let status = app
            .http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        (status, started.elapsed())
    };
    assert_eq!(readyz().await.0, 200);

    relay.frozen.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        let (status, took) = readyz().await;
        assert_eq!(status, 503, "not ready while the database is silent");
        assert!(
            took < Duration::from_millis(1_000),
            "a load balancer's check must not hang: /readyz took {took:?}"
        );
    }
    let (status, _) = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 200, "liveness does not depend on the database");

    relay.frozen.store(false, Ordering::SeqCst);
    let mut ready = false;
    for _ in 0..100 {
        if readyz().await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once the database answers");
}
