//! A minimal HTTP/1.1 client: one keep-alive connection, one request in flight, no pipelining.
//!
//! The load generator shares two cores with the server, so it must cost as little as possible:
//! a request is one `write` of bytes prepared in a reused buffer, a response is parsed in place
//! with `httparse` and handed back as a slice of the connection's buffer (no allocation per
//! request).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request may take before it counts as an error (and the connection is reset).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One keep-alive connection to the server.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    out: Vec<u8>,
    buf: Vec<u8>,
    body: std::ops::Range<usize>,
}

/// A request: method, path, extra header lines (each ending with `\r\n`) and body.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a str,
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// `POST path` with a form body.
    pub fn form(path: &'a str, body: &'a [u8]) -> Request<'a> {
        Request {
            method: "POST",
            path,
            headers: "Content-Type: application/x-www-form-urlencoded\r\n",
            body,
        }
    }

    /// `POST path` of a form body with extra headers (each ending in `\r\n`, the
    /// `Content-Type` included).
    pub fn form_with(path: &'a str, headers: &'a str, body: &'a [u8]) -> Request<'a> {
        Request {
            method: "POST",
            path,
            headers,
            body,
        }
    }

    /// `GET path` with extra headers.
    pub fn get(path: &'a str, headers: &'a str) -> Request<'a> {
        Request {
            method: "GET",
            path,
            headers,
            body: b"",
        }
    }
}

impl Conn {
    /// A connection that dials `addr` lazily (and again after any error).
    pub fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            stream: None,
            out: Vec::with_capacity(512),
            buf: Vec::with_capacity(16 * 1024),
            body: 0..0,
        }
    }

    /// Opens the TCP connection now (so that the timed part of a run does not include it).
    pub async fn connect(&mut self) -> io::Result<()> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        Ok(())
    }

    /// Sends `request` and returns the HTTP status; the body is then in [`Conn::body`].
    /// Any error or a timeout drops the connection; the next request reconnects.
    pub async fn send(&mut self, request: &Request<'_>) -> io::Result<u16> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request)).await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(io::Error::new(io::ErrorKind::TimedOut, "request timed out"))
            }
        }
    }

    /// The body of the last response.
    pub fn body(&self) -> &[u8] {
        self.buf.get(self.body.clone()).unwrap_or_default()
    }

    async fn exchange(&mut self, request: &Request<'_>) -> io::Result<u16> {
        self.connect().await?;
        self.out.clear();
        self.out.extend_from_slice(request.method.as_bytes());
        self.out.push(b' ');
        self.out.extend_from_slice(request.path.as_bytes());
        self.out.extend_from_slice(b" HTTP/1.1\r\nHost: bench\r\n");
        self.out.extend_from_slice(request.headers.as_bytes());
        if !request.body.is_empty() || request.method != "GET" {
            self.out.extend_from_slice(b"Content-Length: ");
            self.out
                .extend_from_slice(request.body.len().to_string().as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(request.body);
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "not connected"));
        };
        stream.write_all(&self.out).await?;

        self.buf.clear();
        let (status, header_len, framing, close) = loop {
            read_more(stream, &mut self.buf).await?;
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = response.code.unwrap_or(0);
                    let mut framing = Framing::UntilClose;
                    let mut close = false;
                    for h in response.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let n = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .ok_or_else(|| invalid("bad Content-Length"))?;
                            framing = Framing::Length(n);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                            && h.value.eq_ignore_ascii_case(b"chunked")
                        {
                            framing = Framing::Chunked;
                        } else if h.name.eq_ignore_ascii_case("connection")
                            && h.value.eq_ignore_ascii_case(b"close")
                        {
                            close = true;
                        }
                    }
                    if status == 204 || status == 304 || (100..200).contains(&status) {
                        framing = Framing::Length(0);
                    }
                    break (status, len, framing, close);
                }
                Ok(httparse::Status::Partial) => continue,
                Err(e) => return Err(invalid(&format!("bad response: {e}"))),
            }
        };
        match framing {
            Framing::Length(n) => {
                while self.buf.len() < header_len + n {
                    read_more(stream, &mut self.buf).await?;
                }
                self.body = header_len..header_len + n;
            }
            Framing::Chunked => {
                let body = read_chunked(stream, &mut self.buf, header_len).await?;
                self.buf.truncate(header_len);
                self.buf.extend_from_slice(&body);
                self.body = header_len..self.buf.len();
            }
            Framing::UntilClose => {
                loop {
                    self.buf.reserve(8192);
                    if stream.read_buf(&mut self.buf).await? == 0 {
                        break;
                    }
                }
                self.body = header_len..self.buf.len();
                self.stream = None;
                return Ok(status);
            }
        }
        if close {
            self.stream = None;
        }
        Ok(status)
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    if buf.capacity() - buf.len() < 4096 {
        buf.reserve(buf.capacity().max(16 * 1024));
    }
    if stream.read_buf(buf).await? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    Ok(())
}

/// Decodes a chunked body that starts at `start` in `buf`, reading more as needed.
async fn read_chunked(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    start: usize,
) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut pos = start;
    loop {
        // A chunk-size line.
        let line_end = loop {
            if let Some(i) = find(&buf[pos..], b"\r\n") {
                break pos + i;
            }
            read_more(stream, buf).await?;
        };
        let size_text =
            std::str::from_utf8(&buf[pos..line_end]).map_err(|_| invalid("bad chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        pos = line_end + 2;
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                if let Some(i) = find(&buf[pos..], b"\r\n") {
                    if i == 0 {
                        return Ok(body);
                    }
                    pos += i + 2;
                    continue;
                }
                read_more(stream, buf).await?;
            }
        }
        while buf.len() < pos + size + 2 {
            read_more(stream, buf).await?;
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

/// The first position of `needle` in `haystack` (SIMD search: the till's answers are whole
/// pages of about 8 KB, searched twice each, and the generator's CPU is taken from the
/// server's two cores).
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Percent-encodes a form value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A form body from pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Standard base64 (for HTTP Basic credentials).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(form(&[("a", "1 2"), ("b", "x&y")]), "a=1%202&b=x%26y");
    }
}
