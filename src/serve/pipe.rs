//! How an upload reaches the analysis while it arrives: each file of the request
//! is a [`Pipe`], a bounded channel read as a [`std::io::Read`] by the CLI's stream
//! path on a blocking thread. The request's task waits when the channel is full, so a
//! slow analysis slows the upload and the server holds at most [`PIECES`] pieces of it.
//!
//! A [`Tracker`] counts the bytes received and the bytes the analysis has taken;
//! `GET /progress/<id>` shows them for an upload sent as `POST /upload?progress=<id>`,
//! the id being 128 random bits chosen by the page.

use super::store::Id;
use super::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;

/// Pieces of a file (as the client's packets bring them, a few kB to a few hundred
/// kB each) waiting for the analysis at most.
pub(crate) const PIECES: usize = 16;

/// What the request's task sends down a pipe.
pub(crate) enum Msg {
    /// The next bytes of the file.
    Data(Bytes),
    /// The file is whole. A pipe closed without it was cut off.
    End,
}

/// The reading end of a file's channel: the bytes in order, then the end of the
/// file, or an error when the upload was cut off before it.
pub(crate) struct Pipe {
    rx: mpsc::Receiver<Msg>,
    piece: Bytes,
    ended: bool,
    tracker: Arc<Tracker>,
}

/// A new pipe: the sending end for the request's task, the reading end for the
/// analysis.
pub(crate) fn pipe(tracker: Arc<Tracker>) -> (mpsc::Sender<Msg>, Pipe) {
    let (tx, rx) = mpsc::channel(PIECES);
    let p = Pipe {
        rx,
        piece: Bytes::new(),
        ended: false,
        tracker,
    };
    (tx, p)
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.piece.is_empty() {
            if self.ended {
                return Ok(0);
            }
            // Called on the analysis' threads (a blocking task, rayon's), never on
            // the runtime's.
            match self.rx.blocking_recv() {
                Some(Msg::Data(b)) => self.piece = b,
                Some(Msg::End) => self.ended = true,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the upload was cut off",
                    ))
                }
            }
        }
        let n = buf.len().min(self.piece.len());
        buf[..n].copy_from_slice(&self.piece.split_to(n));
        self.tracker.analysed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// The request is arriving (and being analysed as it does).
    Receiving = 0,
    /// The request is in; the analysis is reading what it has not taken yet.
    Analysing = 1,
    /// The report is being built and written.
    Reporting = 2,
}

/// The progress of one upload.
pub(crate) struct Tracker {
    started: Instant,
    /// The request's declared length, when it has one (chunked: none).
    pub total: Option<u64>,
    /// Bytes of files received.
    pub received: AtomicU64,
    /// Bytes of files the analysis has taken.
    pub analysed: AtomicU64,
    /// Files begun.
    pub files: AtomicU64,
    phase: AtomicU8,
}

impl Tracker {
    pub(crate) fn new(total: Option<u64>) -> Tracker {
        Tracker {
            started: Instant::now(),
            total,
            received: AtomicU64::new(0),
            analysed: AtomicU64::new(0),
            files: AtomicU64::new(0),
            phase: AtomicU8::new(Phase::Receiving as u8),
        }
    }

    pub(crate) fn set(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Relaxed);
    }

    fn json(&self) -> serde_json::Value {
        let phase = match self.phase.load(Ordering::Relaxed) {
            0 => "receiving",
            1 => "analysing",
            _ => "reporting",
        };
        let ms = self.started.elapsed().as_millis() as u64;
        let analysed = self.analysed.load(Ordering::Relaxed);
        serde_json::json!({
            "phase": phase,
            "total": self.total,
            "received": self.received.load(Ordering::Relaxed),
            "analysed": analysed,
            "files": self.files.load(Ordering::Relaxed),
            "elapsed_ms": ms,
            "mb_per_s": analysed as f64 / 1e6 / (ms.max(1) as f64 / 1e3),
        })
    }
}

/// The uploads whose progress is asked for, by the id the page chose.
#[derive(Default)]
pub(crate) struct Board(Mutex<HashMap<String, Arc<Tracker>>>);

/// An upload's place on the [`Board`], left when dropped (when the request ends,
/// however it ends).
pub(crate) struct Listed<'a> {
    board: &'a Board,
    id: String,
}

impl Board {
    /// Shows `tracker` under `id`, unless another upload has that id.
    pub(crate) fn list(&self, id: &Id, tracker: &Arc<Tracker>) -> Option<Listed<'_>> {
        let mut map = self.0.lock().ok()?;
        if map.contains_key(id.as_str()) {
            return None;
        }
        map.insert(id.as_str().to_string(), tracker.clone());
        Some(Listed {
            board: self,
            id: id.as_str().to_string(),
        })
    }

    fn get(&self, id: &str) -> Option<Arc<Tracker>> {
        self.0.lock().ok()?.get(id).cloned()
    }
}

impl Drop for Listed<'_> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.board.0.lock() {
            map.remove(&self.id);
        }
    }
}

/// `GET /progress/<id>`: the upload's phase and bytes as JSON; 404 once it is over
/// (its answer says how it went) or when no upload has that id.
pub(crate) async fn progress(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match Id::parse(&id).and_then(|id| st.board.get(id.as_str())) {
        Some(t) => axum::Json(t.json()).into_response(),
        None => super::pages::fail(
            StatusCode::NOT_FOUND,
            true,
            "no upload in progress has that id",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_gives_its_bytes_then_the_end_or_an_error_when_cut_off() {
        let t = Arc::new(Tracker::new(None));
        let (tx, mut p) = pipe(t.clone());
        let feeder = std::thread::spawn(move || {
            tx.blocking_send(Msg::Data(Bytes::from_static(b"hello ")))
                .unwrap();
            tx.blocking_send(Msg::Data(Bytes::from_static(b"world")))
                .unwrap();
            tx.blocking_send(Msg::End).unwrap();
        });
        let mut got = String::new();
        p.read_to_string(&mut got).unwrap();
        feeder.join().unwrap();
        assert_eq!(got, "hello world");
        assert_eq!(t.analysed.load(Ordering::Relaxed), 11);

        let (tx, mut p) = pipe(t);
        tx.blocking_send(Msg::Data(Bytes::from_static(b"half")))
            .unwrap();
        drop(tx);
        let mut got = Vec::new();
        let e = p.read_to_end(&mut got).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(got, b"half");
    }
}
