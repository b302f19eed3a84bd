//! SQLite's WAL under a steady load: the writer never pauses long enough
//! for the checkpointer to copy every frame on its own, yet the WAL must
//! start again from its beginning instead of growing by every commit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backline_store::{events, Store, StoreOptions};

use crate::add_user;

/// Bytes of WAL written in all: six times the size past which the WAL is
/// to restart (16 MiB), so that a WAL that never restarts shows.
const WRITTEN: usize = 96 << 20;
/// Each write's payload: a few overflow pages.
const PAYLOAD: usize = 16 << 10;
/// Writers that keep the queue full.
const WRITERS: usize = 8;

#[tokio::test]
async fn the_wal_restarts_under_a_steady_load_instead_of_growing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("steady.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let user = add_user(&store, "steady").await;
    let wal = dir.path().join("steady.db-wal");

    // The WAL file's largest size, sampled while the writers run.
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (wal, done) = (wal.clone(), done.clone());
        tokio::spawn(async move {
            let mut largest = 0u64;
            while !done.load(Ordering::Relaxed) {
                if let Ok(meta) = std::fs::metadata(&wal) {
                    largest = largest.max(meta.len());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            largest
        })
    };
    let per_writer = WRITTEN / PAYLOAD / WRITERS;
    let payload = format!("{{\"filler\":\"{}\"}}", "x".repeat(PAYLOAD));
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (store, user, payload) = (store.clone(), user.clone(), payload.clone());
        writers.push(tokio::spawn(async move {
            for _ in 0..per_writer {
                let (user, payload) = (user.clone(), payload.clone());
                store
                    .write(Box::new(move |conn| {
                        Box::pin(async move { events::append(conn, &user, 1, &payload).await })
                    }))
                    .await
                    .expect("a write");
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let largest = sampler.await.unwrap();

    let head = events::head(store.reader(), &user).await.unwrap();
    assert_eq!(head as usize, per_writer * WRITERS, "every write is stored");
    assert!(
        largest < (48 << 20),
        "the WAL grew to {} MiB for {} MiB written",
        largest >> 20,
        WRITTEN >> 20
    );
    assert!(
        store.writer_stats().wal_checkpoints > 0,
        "the writer finished a checkpoint"
    );
    store.close().await;
}
