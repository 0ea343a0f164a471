//! Local fake providers over real protocols: an HTTP server that records every request and
//! answers from a script, and an SMTP server that records every message and can refuse
//! mailboxes with 550.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// What the fake answers: scripted replies first, then the default.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// Wait this long before answering (to keep a sender mid-dispatch).
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct HttpInner {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
    default: Option<Reply>,
    /// Hang (never answer) the first request carrying each of these header values.
    hang_first_by: Option<String>,
    seen: HashSet<String>,
}

#[derive(Clone)]
pub struct FakeHttp {
    pub url: String,
    inner: Arc<Mutex<HttpInner>>,
}

async fn handle(
    State(inner): State<Arc<Mutex<HttpInner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let (reply, hang) = {
        let mut g = inner.lock().unwrap();
        g.requests.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_string(),
            headers: headers.clone(),
            body: body.to_vec(),
        });
        let hang = match &g.hang_first_by {
            Some(h) => {
                let key = headers
                    .get(h.as_str())
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                g.seen.insert(key)
            }
            None => false,
        };
        let reply = g
            .script
            .pop_front()
            .or_else(|| g.default.clone())
            .unwrap_or_else(|| Reply::status(200, r#"{"ok":true}"#));
        (reply, hang)
    };
    if hang {
        std::future::pending::<()>().await;
    }
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    (
        StatusCode::from_u16(reply.status).unwrap(),
        [("content-type", "application/json")],
        reply.body,
    )
        .into_response()
}

impl FakeHttp {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(HttpInner::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, inner }
    }

    /// Answers the next requests with these, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    pub fn default_reply(&self, reply: Reply) {
        self.inner.lock().unwrap().default = Some(reply);
    }

    /// Never answers the first request carrying each distinct value of `header`.
    pub fn hang_first_by(&self, header: &str) {
        self.inner.lock().unwrap().hang_first_by = Some(header.to_string());
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Waits until at least `n` requests arrived (or fails after `secs`).
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Recorded> {
        let until = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "expected {n} requests at the fake, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ----- SMTP -----------------------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Default)]
struct SmtpInner {
    mails: Vec<Mail>,
    reject: HashSet<String>,
}

#[derive(Clone)]
pub struct FakeSmtp {
    pub port: u16,
    inner: Arc<Mutex<SmtpInner>>,
}

fn angle(arg: &str) -> String {
    arg.split_once(':')
        .map(|(_, a)| a)
        .unwrap_or(arg)
        .trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

async fn smtp_session(stream: tokio::net::TcpStream, inner: Arc<Mutex<SmtpInner>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 fake.smtp ESMTP ready\r\n").await;
    let mut mail = Mail::default();
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            "250-fake.smtp\r\n250 8BITMIME\r\n".into()
        } else if upper.starts_with("MAIL FROM") {
            mail = Mail {
                from: angle(&line),
                ..Default::default()
            };
            "250 OK\r\n".into()
        } else if upper.starts_with("RCPT TO") {
            let to = angle(&line);
            if inner.lock().unwrap().reject.contains(&to) {
                "550 5.1.1 mailbox unknown\r\n".into()
            } else {
                mail.to.push(to);
                "250 OK\r\n".into()
            }
        } else if upper.starts_with("DATA") {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push_str(&l);
                data.push('\n');
            }
            mail.data = data;
            inner.lock().unwrap().mails.push(std::mem::take(&mut mail));
            "250 OK queued\r\n".into()
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
            "250 OK\r\n".into()
        } else {
            "502 not implemented\r\n".into()
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

impl FakeSmtp {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(SmtpInner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_session(stream, shared.clone()));
            }
        });
        Self { port, inner }
    }

    /// Answers RCPT TO for this address with 550.
    pub fn reject(&self, address: &str) {
        self.inner
            .lock()
            .unwrap()
            .reject
            .insert(address.to_ascii_lowercase());
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.inner.lock().unwrap().mails.clone()
    }

    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Mail> {
        let until = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.mails();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "expected {n} mails at the fake SMTP server, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ----- a TCP proxy that can be cut ------------------------------------------------------------

/// A TCP proxy in front of a server (PostgreSQL, say) that a test can cut: every open
/// connection is dropped and new ones are refused until it is restored — a database that goes
/// away, as the product meets it over the network.
#[derive(Clone)]
pub struct CutProxy {
    pub port: u16,
    cut: Arc<std::sync::atomic::AtomicBool>,
    open: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl CutProxy {
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (c, o) = (cut.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if c.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut open = o.lock().unwrap();
                open.retain(|t| !t.is_finished());
                open.push(task.abort_handle());
            }
        });
        Self { port, cut, open }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.open.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}
