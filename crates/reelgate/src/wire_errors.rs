//! hyper refuses a request head it cannot parse (two different `Content-Length` values, a
//! header that is not valid HTTP, a head or URI too long) by writing its own answer — a bare
//! status, empty body — before any of our code sees the request, and has no setting to change
//! it. This connection wrapper recognises that answer as it is written and writes the same
//! status with the JSON error envelope instead.
//!
//! Recognised: a write that is exactly one response head, of status 400, 414 or 431, with no
//! `Content-Type`. Every error our router answers carries one (the envelope middleware sees to
//! it), so only hyper's own answers match.

use axum::http::StatusCode;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http::ApiError;

/// hyper's own answers are a status line and three or four short headers.
const MAX_HEAD_BYTES: usize = 512;

/// A connection whose writes of hyper's own error answers are replaced by the envelope.
pub struct EnvelopedIo<T> {
    inner: T,
    /// The replacement being written, and how many bytes of hyper's answer it stands for.
    pending: Option<Replacement>,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    stands_for: usize,
}

impl<T> EnvelopedIo<T> {
    pub fn new(inner: T) -> Self {
        EnvelopedIo {
            inner,
            pending: None,
        }
    }
}

/// The answer to write instead of `head`, if `head` is one of hyper's own error answers.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    // Every write passes here (video bodies too): decide on a few bytes before reading any.
    let bare_error_head = head.len() <= MAX_HEAD_BYTES
        && (head.starts_with(b"HTTP/1.1 4") || head.starts_with(b"HTTP/1.0 4"))
        && head.ends_with(b"\r\n\r\n");
    if !bare_error_head {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let rest = text
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "))?;
    let status = StatusCode::from_bytes(rest.get(..3)?.as_bytes()).ok()?;
    if !matches!(status.as_u16(), 400 | 414 | 431) {
        return None;
    }
    let headers = text.strip_suffix("\r\n\r\n")?;
    let mut lines = headers.split("\r\n");
    let status_line = lines.next()?;
    let mut kept = Vec::new();
    for line in lines {
        let name = line.split(':').next()?.trim().to_ascii_lowercase();
        match name.as_str() {
            "content-type" => return None,
            "content-length" => {}
            _ => kept.push(line),
        }
    }
    let body = ApiError::for_status(status, None).envelope_bytes();
    let mut answer = format!("{status_line}\r\n");
    for line in kept {
        answer.push_str(line);
        answer.push_str("\r\n");
    }
    answer.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    ));
    let mut bytes = answer.into_bytes();
    bytes.extend_from_slice(&body);
    Some(bytes)
}

impl<T: AsyncWrite + Unpin> EnvelopedIo<T> {
    /// Takes the envelope in place of `head`, if `head` is one of hyper's own answers.
    fn intercept(&mut self, head: &[u8]) -> bool {
        let Some(bytes) = replacement(head) else {
            return false;
        };
        self.pending = Some(Replacement {
            bytes,
            written: 0,
            stands_for: head.len(),
        });
        true
    }

    /// Writes the pending replacement out; then reports hyper's bytes as written.
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(pending) = self.pending.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while pending.written < pending.bytes.len() {
            let n = ready!(
                Pin::new(&mut self.inner).poll_write(cx, &pending.bytes[pending.written..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            pending.written += n;
        }
        let stands_for = pending.stands_for;
        self.pending = None;
        Poll::Ready(Ok(stands_for))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for EnvelopedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for EnvelopedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.pending.is_none() && !self.intercept(buf) {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        self.drive(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.pending.is_none() {
            // hyper's own answer has no body: its head is the one buffer with bytes in it.
            let mut filled = bufs.iter().filter(|b| !b.is_empty());
            let only = match (filled.next(), filled.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            };
            if !only.is_some_and(|head| self.intercept(head)) {
                return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
            }
        }
        self.drive(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drive(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drive(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::replacement;

    #[test]
    fn only_hypers_own_bare_error_answers_are_replaced() {
        let hyper = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n";
        let answer = String::from_utf8(replacement(hyper).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let envelope: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(envelope["error"]["code"], "malformed_request");
        let too_large =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        let answer = String::from_utf8(replacement(too_large).unwrap()).unwrap();
        assert!(answer.contains("\"headers_too_large\""), "{answer}");
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"not http at all",
        ] {
            assert_eq!(replacement(other), None, "{}", String::from_utf8_lossy(other));
        }
    }
}
