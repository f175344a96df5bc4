//! Local receivers: an HTTP server that records every request and answers as scripted, and
//! an SMTP server (STARTTLS or TLS from the first byte) that records every message.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Answers a request, given how many requests to the same path came before it.
type Responder = dyn Fn(&Request, usize) -> (u16, String) + Send + Sync;

struct State {
    requests: Mutex<Vec<Request>>,
    scripted: Mutex<VecDeque<(u16, String)>>,
    responder: Box<Responder>,
}

/// An HTTP receiver on a port of its own.
pub struct HttpReceiver {
    pub base: String,
    state: Arc<State>,
    handle: ServerHandle,
}

async fn record(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let request = Request {
        method: req.method().to_string(),
        path: req.uri().to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: body.to_vec(),
    };
    let (status, answer) = {
        let mut requests = state.requests.lock().unwrap();
        let before = requests.iter().filter(|r| r.path == request.path).count();
        let scripted = state.scripted.lock().unwrap().pop_front();
        let answer = scripted.unwrap_or_else(|| (state.responder)(&request, before));
        requests.push(request);
        answer
    };
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .body(answer)
}

impl HttpReceiver {
    /// A receiver answering 200 `{}` unless scripted otherwise.
    pub async fn start() -> HttpReceiver {
        HttpReceiver::with(|_, _| (200, "{}".to_owned())).await
    }

    /// A receiver answering with `responder` unless scripted otherwise.
    pub async fn with(
        responder: impl Fn(&Request, usize) -> (u16, String) + Send + Sync + 'static,
    ) -> HttpReceiver {
        let state = web::Data::new(State {
            requests: Mutex::new(Vec::new()),
            scripted: Mutex::new(VecDeque::new()),
            responder: Box::new(responder),
        });
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let base = format!("http://127.0.0.1:{}", server.addrs()[0].port());
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        HttpReceiver {
            base,
            state: state.into_inner(),
            handle,
        }
    }

    /// The next requests get these answers, in order, before the responder's.
    pub fn script(&self, answers: &[(u16, &str)]) {
        let mut scripted = self.state.scripted.lock().unwrap();
        scripted.extend(answers.iter().map(|(s, b)| (*s, (*b).to_owned())));
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// A message as the SMTP server received it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// Whether the session was encrypted when the message came.
    pub tls: bool,
    /// `(user, password)` of `AUTH PLAIN`.
    pub login: Option<(String, String)>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
}

/// How the SMTP server offers TLS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SmtpTls {
    /// Plain at first, `STARTTLS` advertised (port 587 style).
    StartTls,
    /// TLS from the first byte (port 465 style).
    Wrapper,
}

struct SmtpState {
    mails: Mutex<Vec<Mail>>,
    /// Answers to give to the next `MAIL FROM` commands instead of 250.
    mail_from_answers: Mutex<VecDeque<String>>,
}

/// An SMTP server on a port of its own, with a self-signed certificate for `localhost`.
pub struct SmtpServer {
    pub port: u16,
    /// The certificate to trust (PEM).
    pub certificate: String,
    state: Arc<SmtpState>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl SmtpServer {
    pub async fn start(mode: SmtpTls) -> SmtpServer {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certified.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(SmtpState {
            mails: Mutex::new(Vec::new()),
            mail_from_answers: Mutex::new(VecDeque::new()),
        });
        let shared = state.clone();
        actix_web::rt::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let state = shared.clone();
                actix_web::rt::spawn(async move {
                    let _ = session(Box::new(stream), acceptor, mode, state).await;
                });
            }
        });
        SmtpServer {
            port,
            certificate: certified.cert.pem(),
            state,
        }
    }

    /// The next `MAIL FROM` commands are answered with these lines (e.g. `451 …`).
    pub fn refuse_next_mail_from(&self, answers: &[&str]) {
        let mut queue = self.state.mail_from_answers.lock().unwrap();
        queue.extend(answers.iter().map(|a| (*a).to_owned()));
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.state.mails.lock().unwrap().clone()
    }
}

/// One SMTP session: enough of RFC 5321 (with STARTTLS and AUTH PLAIN) for a real client.
async fn session(
    stream: Box<dyn Io>,
    acceptor: tokio_rustls::TlsAcceptor,
    mode: SmtpTls,
    state: Arc<SmtpState>,
) -> std::io::Result<()> {
    let mut tls = mode == SmtpTls::Wrapper;
    let stream: Box<dyn Io> = if tls {
        Box::new(acceptor.accept(stream).await?)
    } else {
        stream
    };
    let mut conn = BufReader::new(stream);
    conn.write_all(b"220 localhost ESMTP test\r\n").await?;
    let mut mail = Mail::default();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" if tls => "250-localhost\r\n250-AUTH PLAIN\r\n250 8BITMIME".to_owned(),
            "EHLO" => "250-localhost\r\n250-STARTTLS\r\n250 8BITMIME".to_owned(),
            "STARTTLS" if !tls => {
                conn.write_all(b"220 go ahead\r\n").await?;
                let plain = conn.into_inner();
                conn = BufReader::new(Box::new(acceptor.accept(plain).await?));
                tls = true;
                continue;
            }
            "AUTH" => {
                let encoded = command.split_whitespace().nth(2).unwrap_or("");
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap_or_default();
                let parts: Vec<String> = decoded
                    .split(|b| *b == 0)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                if tls && parts.len() == 3 {
                    mail.login = Some((parts[1].clone(), parts[2].clone()));
                    "235 2.7.0 authenticated".to_owned()
                } else {
                    "535 5.7.8 bad credentials".to_owned()
                }
            }
            "MAIL" => {
                let scripted = state.mail_from_answers.lock().unwrap().pop_front();
                match scripted {
                    Some(answer) => answer,
                    None => {
                        mail.mail_from = command[10..].to_owned();
                        "250 ok".to_owned()
                    }
                }
            }
            "RCPT" if command.contains("nobody@") => "550 5.1.1 no such mailbox".to_owned(),
            "RCPT" => {
                mail.rcpt_to.push(command[8..].to_owned());
                "250 ok".to_owned()
            }
            "DATA" => {
                conn.write_all(b"354 end with .\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut line = Vec::new();
                    if conn.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" {
                        break;
                    }
                    let line = line.strip_prefix(b".").unwrap_or(&line);
                    data.extend_from_slice(line);
                }
                let login = mail.login.clone();
                let mut received = std::mem::take(&mut mail);
                received.data = data;
                received.tls = tls;
                mail.login = login;
                state.mails.lock().unwrap().push(received);
                "250 2.0.0 queued".to_owned()
            }
            "RSET" => {
                mail.mail_from.clear();
                mail.rcpt_to.clear();
                "250 ok".to_owned()
            }
            "NOOP" => "250 ok".to_owned(),
            "QUIT" => {
                conn.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 command not implemented".to_owned(),
        };
        conn.write_all(format!("{answer}\r\n").as_bytes()).await?;
    }
}
