//! The program's stdout and stderr: in-memory buffers that refuse to grow past their cap.
//!
//! The cap is enforced on every write, so a program printing a gigabyte costs the host at
//! most the cap, and the write that crosses it traps the program at once.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// How much a program may hand over in one write; WASI's own pipes use the same.
const WRITE_PERMIT: usize = 64 * 1024;

/// The trap raised by the write that crosses a cap.
#[derive(Debug)]
pub(crate) struct CapExceeded;

impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("output cap exceeded")
    }
}

impl std::error::Error for CapExceeded {}

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    overflowed: bool,
}

/// A capped, shareable byte sink; clones write to the same buffer.
#[derive(Clone)]
pub(crate) struct CappedPipe {
    cap: usize,
    buffer: Arc<Mutex<Buffer>>,
}

impl CappedPipe {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            buffer: Arc::default(),
        }
    }

    pub(crate) fn overflowed(&self) -> bool {
        self.lock().overflowed
    }

    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.lock().bytes)
    }

    fn lock(&self) -> MutexGuard<'_, Buffer> {
        // A panic while holding this lock cannot leave the buffer half-written in a way
        // that matters: the run is lost either way.
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `bytes` if they fit; otherwise marks the pipe overflowed and keeps nothing
    /// of them.
    fn append(&self, bytes: &[u8]) -> bool {
        let mut buffer = self.lock();
        if buffer.overflowed || buffer.bytes.len() + bytes.len() > self.cap {
            buffer.overflowed = true;
            return false;
        }
        buffer.bytes.extend_from_slice(bytes);
        true
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if self.append(&bytes) {
            Ok(())
        } else {
            Err(StreamError::Trap(wasmtime::Error::new(CapExceeded)))
        }
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        if self.overflowed() {
            return Err(StreamError::Trap(wasmtime::Error::new(CapExceeded)));
        }
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.append(buf) {
            Poll::Ready(Ok(buf.len()))
        } else {
            Poll::Ready(Err(io::Error::other(CapExceeded)))
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Splits what a program wrote to stderr into log lines.
pub(crate) fn log_lines(bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_crosses_the_cap_is_refused_whole() {
        let mut pipe = CappedPipe::new(10);
        assert!(pipe.write(Bytes::from_static(b"12345")).is_ok());
        assert!(pipe.write(Bytes::from_static(b"678901")).is_err());
        assert!(pipe.overflowed());
        assert_eq!(pipe.take(), b"12345");
    }

    #[test]
    fn log_lines_split_on_newlines_and_drop_the_last_empty_one() {
        assert_eq!(log_lines(b"a\nb\r\n"), ["a", "b"]);
        assert!(log_lines(b"").is_empty());
        assert_eq!(log_lines(b"\n"), [""]);
    }
}
