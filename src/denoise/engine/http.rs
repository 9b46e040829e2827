//! A small HTTP/1.1 client over `std::net` for the model server engine.
//!
//! Only what a KServe v2 server needs: `GET` and `POST` with a body of known
//! length, answers with `Content-Length`, chunked encoding or read-to-close,
//! plain `http://` (no TLS), one kept-alive connection reused across requests
//! and a deadline per request covering connect, send and the whole answer.
//! Entry point: [`Client::request`]. Retrying is the caller's policy; a
//! request on a reused connection that the server had already closed is sent
//! again once on a fresh connection (a keep-alive race, not a failure).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Largest header block accepted from a server.
const MAX_HEAD: usize = 64 * 1024;
/// Largest body accepted from a server (a logits tensor is far smaller).
const MAX_BODY: usize = 4 << 30;

#[derive(Debug)]
pub enum HttpError {
    /// No TCP connection could be made (refused, unreachable, name not found,
    /// connect timeout).
    Connect(String),
    /// The connection broke or timed out while sending or receiving.
    Io(String),
    /// The server answered something that is not HTTP/1.x.
    Protocol(String),
    /// The server closed the connection before answering (on a kept-alive
    /// connection: it had timed the connection out; the request is sent again
    /// on a fresh one).
    Closed(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Connect(m) => write!(f, "cannot connect: {m}"),
            HttpError::Io(m) => write!(f, "{m}"),
            HttpError::Protocol(m) => write!(f, "not an HTTP answer: {m}"),
            HttpError::Closed(m) => write!(f, "{m}"),
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    #[cfg(test)]
    pub fn for_tests(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Conn {
    stream: TcpStream,
    /// Bytes read past the previous answer (none for a well-behaved server).
    buf: Vec<u8>,
}

pub struct Client {
    host: String,
    port: u16,
    timeout: Duration,
    conn: Mutex<Option<Conn>>,
}

impl Client {
    pub fn new(host: &str, port: u16, timeout: Duration) -> Client {
        Client {
            host: host.to_string(),
            port,
            timeout,
            conn: Mutex::new(None),
        }
    }

    /// The deadline of one request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one request and reads the whole answer within the timeout.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Response, HttpError> {
        let deadline = Instant::now() + self.timeout;
        let mut slot = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(mut conn) = slot.take() {
            match exchange(
                &mut conn,
                &self.host_header(),
                method,
                path,
                headers,
                body,
                deadline,
            ) {
                Ok((resp, keep)) => {
                    if keep {
                        *slot = Some(conn);
                    }
                    return Ok(resp);
                }
                // The server may close an idle kept-alive connection at any
                // time: one fresh connection, within the same deadline.
                Err(HttpError::Closed(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut conn = self.connect(deadline)?;
        let (resp, keep) = exchange(
            &mut conn,
            &self.host_header(),
            method,
            path,
            headers,
            body,
            deadline,
        )?;
        if keep {
            *slot = Some(conn);
        }
        Ok(resp)
    }

    fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn connect(&self, deadline: Instant) -> Result<Conn, HttpError> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| HttpError::Connect(format!("cannot resolve `{}`: {e}", self.host)))?
            .collect();
        let mut last = format!("`{}` resolves to no address", self.host);
        for addr in addrs {
            let left = remaining(deadline)
                .map_err(|_| HttpError::Connect(format!("timed out after {:?}", self.timeout)))?;
            match TcpStream::connect_timeout(&addr, left) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(Conn {
                        stream,
                        buf: Vec::new(),
                    });
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(HttpError::Connect(last))
    }
}

fn remaining(deadline: Instant) -> Result<Duration, HttpError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(HttpError::Io("timed out".into()));
    }
    Ok(left)
}

fn io_err(what: &str, e: std::io::Error) -> HttpError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            HttpError::Io(format!("timed out while {what}"))
        }
        _ => HttpError::Io(format!("{what}: {e}")),
    }
}

/// One request/answer on `conn`; returns the answer and whether the
/// connection may be reused.
fn exchange(
    conn: &mut Conn,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
    deadline: Instant,
) -> Result<(Response, bool), HttpError> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: refactor/{}\r\nAccept: */*\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if method != "GET" || !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.stream
        .set_write_timeout(Some(remaining(deadline)?))
        .map_err(|e| io_err("sending", e))?;
    conn.stream
        .write_all(head.as_bytes())
        .and_then(|_| conn.stream.write_all(body))
        .and_then(|_| conn.stream.flush())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted => {
                HttpError::Closed(format!("the server closed the connection: {e}"))
            }
            _ => io_err("sending the request", e),
        })?;

    // Status line and headers.
    let head_end = loop {
        if let Some(i) = find(&conn.buf, b"\r\n\r\n") {
            break i;
        }
        if conn.buf.len() > MAX_HEAD {
            return Err(HttpError::Protocol("header block too large".into()));
        }
        if fill(conn, deadline, "waiting for the answer")? == 0 {
            return Err(HttpError::Closed(
                "the server closed the connection without answering".into(),
            ));
        }
    };
    let head_text = String::from_utf8_lossy(&conn.buf[..head_end]).into_owned();
    conn.buf.drain(..head_end + 4);
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Protocol(format!("status line `{status_line}`")));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| HttpError::Protocol(format!("status line `{status_line}`")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let close = resp
        .header("Connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        || version == "HTTP/1.0";
    let chunked = resp
        .header("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let no_body = status / 100 == 1 || status == 204 || status == 304;
    if no_body {
        return Ok((resp, !close));
    }
    if chunked {
        resp.body = read_chunked(conn, deadline)?;
        return Ok((resp, !close));
    }
    if let Some(len) = resp.header("Content-Length") {
        let len: usize = len
            .parse()
            .map_err(|_| HttpError::Protocol(format!("Content-Length `{len}`")))?;
        if len > MAX_BODY {
            return Err(HttpError::Protocol(format!("a {len}-byte answer")));
        }
        resp.body = take(conn, len, deadline)?;
        return Ok((resp, !close));
    }
    // No length: the body runs to the end of the connection.
    while fill(conn, deadline, "reading the answer")? > 0 {
        if conn.buf.len() > MAX_BODY {
            return Err(HttpError::Protocol("answer too large".into()));
        }
    }
    resp.body = std::mem::take(&mut conn.buf);
    Ok((resp, false))
}

/// Reads more bytes into `conn.buf`; returns how many (0 at end of stream).
fn fill(conn: &mut Conn, deadline: Instant, what: &str) -> Result<usize, HttpError> {
    conn.stream
        .set_read_timeout(Some(remaining(deadline)?))
        .map_err(|e| io_err(what, e))?;
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match conn.stream.read(&mut chunk) {
            Ok(n) => {
                conn.buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                return Err(HttpError::Closed(format!("{what}: {e}")))
            }
            Err(e) => return Err(io_err(what, e)),
        }
    }
}

/// Exactly `n` bytes from the connection.
fn take(conn: &mut Conn, n: usize, deadline: Instant) -> Result<Vec<u8>, HttpError> {
    conn.buf.reserve(n.saturating_sub(conn.buf.len()));
    while conn.buf.len() < n {
        if fill(conn, deadline, "reading the answer")? == 0 {
            return Err(HttpError::Io(format!(
                "the server closed the connection after {} of {n} bytes",
                conn.buf.len()
            )));
        }
    }
    let rest = conn.buf.split_off(n);
    Ok(std::mem::replace(&mut conn.buf, rest))
}

fn read_line(conn: &mut Conn, deadline: Instant) -> Result<String, HttpError> {
    loop {
        if let Some(i) = find(&conn.buf, b"\r\n") {
            let line = String::from_utf8_lossy(&conn.buf[..i]).into_owned();
            conn.buf.drain(..i + 2);
            return Ok(line);
        }
        if conn.buf.len() > MAX_HEAD {
            return Err(HttpError::Protocol("chunk header too long".into()));
        }
        if fill(conn, deadline, "reading the answer")? == 0 {
            return Err(HttpError::Io(
                "the server closed a chunked answer early".into(),
            ));
        }
    }
}

fn read_chunked(conn: &mut Conn, deadline: Instant) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(conn, deadline)?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| HttpError::Protocol(format!("chunk size `{line}`")))?;
        if size == 0 {
            // Trailers, then the empty line.
            while !read_line(conn, deadline)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(HttpError::Protocol("answer too large".into()));
        }
        body.extend_from_slice(&take(conn, size, deadline)?);
        if !read_line(conn, deadline)?.is_empty() {
            return Err(HttpError::Protocol("chunk without its line end".into()));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}
