use super::*;
use crate::parse::{Aux, Fields};

fn entry<'a>(sev: Severity, msg: &'a str, aux: &'a [Aux<'a>]) -> LogEntry<'a, 'a> {
    LogEntry {
        offset: 0,
        line: 1,
        fields: Fields::default(),
        severity: sev,
        message: msg.as_bytes(),
        aux,
    }
}

fn log(msg: &str) -> Signal<'_> {
    classify_signal(&entry(Severity::Log, msg, &[]))
}

#[test]
fn lock_waits_of_every_object() {
    let w = lock_wait(
        b"process 24933 still waiting for ShareLock on transaction 7019 after 103.330 ms",
    )
    .unwrap();
    assert_eq!(w.phase, WaitPhase::Waiting);
    assert_eq!(
        (w.mode, w.object, w.relation_oid, w.us),
        (&b"ShareLock"[..], &b"transaction"[..], None, 103_330)
    );
    let w = lock_wait(b"process 1 acquired RowExclusiveLock on relation 16428 of database 16419 after 2000.5 ms at character 8").unwrap();
    assert_eq!(w.phase, WaitPhase::Acquired);
    assert_eq!(
        (w.object, w.relation_oid, w.us),
        (&b"relation"[..], Some(&b"16428"[..]), 2_000_500)
    );
    let w = lock_wait(b"process 2 detected deadlock while waiting for ExclusiveLock on tuple (2941,198) of relation 16428 of database 16419 after 100.239 ms").unwrap();
    assert_eq!(
        (w.phase, w.object, w.relation_oid),
        (WaitPhase::Deadlock, &b"tuple"[..], Some(&b"16428"[..]))
    );
    let w = lock_wait(b"process 3 avoided deadlock for AccessExclusiveLock on extension of relation 5 of database 1 by rearranging queue order after 1.0 ms").unwrap();
    assert_eq!(
        (w.phase, w.object),
        (WaitPhase::Avoided, &b"extension of relation"[..])
    );
    assert!(lock_wait(b"process 3 did something").is_none());
}

#[test]
fn holders_context_and_deadlock_queries() {
    let aux = [
        Aux {
            severity: Severity::Detail,
            text: b"Processes holding the lock: 31886, 31887. Wait queue: 1, 2.",
        },
        Aux {
            severity: Severity::Context,
            text: b"while updating tuple (2966,26) in relation \"orders\"",
        },
    ];
    let e = entry(Severity::Log, "x", &aux);
    assert_eq!(first_holder(&e), Some(31886));
    assert_eq!(context_relation(&e), Some(&b"orders"[..]));
    let d = b"Process 1 waits for ShareLock on transaction 5; blocked by process 2.\n\tProcess 2 waits for ShareLock on transaction 6; blocked by process 1.\n\tProcess 1: UPDATE t SET a = 1\n\t  WHERE id = $1;\n\tProcess 2: UPDATE t SET a = 2 WHERE id = $1;";
    let q: Vec<(u32, &[u8])> = deadlock_queries(d).collect();
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(q[0], (1, &b"UPDATE t SET a = 1\n\t  WHERE id = $1;"[..]));
    assert_eq!(q[1], (2, &b"UPDATE t SET a = 2 WHERE id = $1;"[..]));
}

#[test]
fn checkpoints_of_pg15_and_pg17() {
    assert_eq!(
        log("checkpoint starting: immediate force wait"),
        Signal::CheckpointStart {
            reason: b"immediate force wait"
        }
    );
    let pg15 = "checkpoint complete: wrote 3301 buffers (20.1%); 0 WAL file(s) added, 0 removed, 2 recycled; write=1.941 s, sync=0.988 s, total=2.976 s; sync files=384, longest=0.012 s, average=0.003 s; distance=29718 kB, estimate=29718 kB";
    let want = CheckpointDone {
        buffers: 3301,
        write_us: 1_941_000,
        sync_us: 988_000,
        total_us: 2_976_000,
        distance_kb: 29718,
    };
    assert_eq!(log(pg15), Signal::CheckpointDone(want));
    let pg17 = "checkpoint complete: wrote 3301 buffers (20.1%), wrote 4 SLRU buffers; 0 WAL file(s) added, 0 removed, 2 recycled; write=1.941 s, sync=0.988 s, total=2.976 s; sync files=384, longest=0.012 s, average=0.003 s; distance=29718 kB, estimate=29718 kB; lsn=0/3000060, redo lsn=0/3000028";
    assert_eq!(log(pg17), Signal::CheckpointDone(want));
    assert_eq!(
        log("checkpoints are occurring too frequently (1 second apart)"),
        Signal::CheckpointWarning
    );
    assert_eq!(
        log("restartpoint starting: time"),
        Signal::CheckpointStart { reason: b"time" }
    );
}

#[test]
fn autovacuum_connections_and_server() {
    let v = "automatic vacuum of table \"shop.public.orders\": index scans: 1\n\tpages: 3 removed, 2998 remain, 2998 scanned (100.00% of total)\n\ttuples: 149 removed, 202520 remain, 18 are dead but not yet removable\n\tsystem usage: CPU: user: 0.03 s, system: 0.02 s, elapsed: 0.83 s";
    assert_eq!(
        log(v),
        Signal::Maintenance(Maintenance {
            analyze: false,
            table: b"shop.public.orders",
            elapsed_us: 830_000,
            tuples_removed: 149,
            pages_removed: 3
        })
    );
    let a = "automatic analyze of table \"shop.public.orders\"\n\tsystem usage: CPU: user: 0.15 s, system: 0.00 s, elapsed: 0.24 s";
    assert!(matches!(
        log(a),
        Signal::Maintenance(Maintenance {
            analyze: true,
            elapsed_us: 240_000,
            ..
        })
    ));
    assert!(matches!(
        log("automatic aggressive vacuum to prevent wraparound of table \"a.b.c\": index scans: 0"),
        Signal::Maintenance(Maintenance {
            analyze: false,
            table: b"a.b.c",
            ..
        })
    ));
    assert_eq!(
        log("connection authorized: user=orders_app database=shop application_name=orders-api"),
        Signal::ConnectionAuthorized {
            user: b"orders_app",
            db: b"shop",
            app: b"orders-api"
        }
    );
    assert_eq!(
        log("disconnection: session time: 1:02:03.500 user=u database=d host=127.0.0.1 port=5"),
        Signal::Disconnection {
            session_us: 3_723_500_000,
            user: b"u",
            db: b"d",
            host: b"127.0.0.1"
        }
    );
    assert_eq!(
        log("temporary file: path \"base/pgsql_tmp/pgsql_tmp1.0\", size 164236"),
        Signal::TempFile { bytes: 164236 }
    );
    assert_eq!(
        log("received fast shutdown request"),
        Signal::Server(ServerEvent::ShutdownRequest)
    );
    assert_eq!(log("duration: 1 ms"), Signal::None);
}

#[test]
fn errors_that_are_signals() {
    let err = |sev, m| classify_signal(&entry(sev, m, &[]));
    assert_eq!(
        err(
            Severity::Error,
            "canceling statement due to statement timeout"
        ),
        Signal::Cancel(CancelKind::StatementTimeout)
    );
    assert_eq!(
        err(Severity::Error, "canceling statement due to lock timeout"),
        Signal::Cancel(CancelKind::LockTimeout)
    );
    assert_eq!(
        err(
            Severity::Fatal,
            "terminating connection due to idle-in-transaction timeout"
        ),
        Signal::Cancel(CancelKind::IdleInTransactionTimeout)
    );
    assert_eq!(
        err(
            Severity::Fatal,
            "remaining connection slots are reserved for non-replication superuser connections"
        ),
        Signal::ConnectionLimit
    );
    assert_eq!(
        err(
            Severity::Fatal,
            "password authentication failed for user \"x\""
        ),
        Signal::AuthFailure
    );
    assert_eq!(
        err(Severity::Error, "deadlock detected"),
        Signal::Deadlock { detail: b"" }
    );
    assert_eq!(
        err(Severity::Error, "syntax error at or near \"LIMT\""),
        Signal::None
    );
}

#[test]
fn csv_style_texts_without_tabs() {
    // csvlog and jsonlog keep multi-line messages and details with bare newlines, and
    // the `at character N` of a lock wait goes to its own column.
    let d = b"Process 1 waits for ShareLock on transaction 5; blocked by process 2.\nProcess 2 waits for ShareLock on transaction 6; blocked by process 1.\nProcess 1: UPDATE t SET a = 1\n  WHERE id = $1;\nProcess 2: SELECT 1";
    let q: Vec<(u32, &[u8])> = deadlock_queries(d).collect();
    assert_eq!(
        q,
        vec![
            (1, &b"UPDATE t SET a = 1\n  WHERE id = $1;"[..]),
            (2, &b"SELECT 1"[..])
        ]
    );
    let v = "automatic vacuum of table \"shop.public.orders\": index scans: 1\npages: 0 removed, 2998 remain, 2998 scanned (100.00% of total)\ntuples: 149 removed, 202520 remain, 18 are dead but not yet removable\nsystem usage: CPU: user: 0.03 s, system: 0.02 s, elapsed: 0.83 s";
    assert!(matches!(
        log(v),
        Signal::Maintenance(Maintenance {
            tuples_removed: 149,
            elapsed_us: 830_000,
            ..
        })
    ));
    let w = lock_wait(b"process 24932 still waiting for RowExclusiveLock on relation 16428 of database 16419 after 100.208 ms").unwrap();
    assert_eq!((w.us, w.relation_oid), (100_208, Some(&b"16428"[..])));
}
