//! E-mail over SMTP, through lettre. The host is resolved under the network policy and the
//! connection goes to the vetted address (the certificate is still checked against the host
//! name). The delivery's id is the message's `Message-ID`, so a repeat is recognisable.

use super::{Channels, Failure, SendError, SendFuture, Sent, Transport};
use crate::domain::channels::ChannelSettings;
use crate::domain::delivery::Delivery;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub struct Smtp {
    channels: Channels,
    host: String,
    port: u16,
    tls: String,
    from: String,
    username: Option<String>,
    password: Option<String>,
}

impl Smtp {
    pub fn new(channels: &Channels, s: &ChannelSettings) -> Self {
        let tls = s
            .config
            .get("tls")
            .cloned()
            .unwrap_or_else(|| "starttls".into());
        let default_port = match tls.as_str() {
            "tls" => 465,
            "none" => 25,
            _ => 587,
        };
        Self {
            channels: channels.clone(),
            host: s.config.get("host").cloned().unwrap_or_default(),
            port: s
                .config
                .get("port")
                .and_then(|p| p.parse().ok())
                .unwrap_or(default_port),
            tls,
            from: s.config.get("from").cloned().unwrap_or_default(),
            username: s.config.get("username").cloned(),
            password: s.secrets.get("password").cloned(),
        }
    }

    fn message(&self, d: &Delivery, to: &str) -> Result<Message, SendError> {
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| SendError::permanent(format!("the From address is not valid: {e}")))?;
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::hard(format!("'{to}' is not an e-mail address: {e}")))?;
        let domain = self.from.rsplit_once('@').map_or("concierge", |(_, d)| d);
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(d.subject.clone().unwrap_or_else(|| "A message".into()))
            .message_id(Some(format!("<{}@{domain}>", d.id)))
            .header(ContentType::TEXT_PLAIN);
        if let Some(unsubscribe) = d.metadata.get("unsubscribe_url").and_then(|v| v.as_str()) {
            builder = builder
                .header(ListUnsubscribe(format!("<{unsubscribe}>")))
                .header(ListUnsubscribePost);
        }
        builder
            .body(d.body.clone())
            .map_err(|e| SendError::permanent(format!("could not build the message: {e}")))
    }
}

/// Classifies an SMTP error: 550/551/553 mean the mailbox does not exist (a hard bounce),
/// other 5xx fail at once, 4xx and connection trouble are retried.
fn smtp_failure(err: lettre::transport::smtp::Error) -> SendError {
    let code = err.status().and_then(|c| c.to_string().parse::<u16>().ok());
    let message = match code {
        Some(c) => format!("SMTP {c} — {err}"),
        None => format!("SMTP — {err}"),
    };
    match code {
        Some(550 | 551 | 553) => SendError::hard(message),
        _ if err.is_permanent() => SendError::permanent(message),
        _ => SendError {
            failure: Failure::Transient { retry_after: None },
            message,
        },
    }
}

impl Transport for Smtp {
    fn name(&self) -> &'static str {
        "email"
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            let to = d
                .address
                .as_deref()
                .ok_or_else(|| SendError::hard("no e-mail address to send to"))?;
            let message = self.message(d, to)?;
            let addr = self
                .channels
                .policy
                .resolve(&self.host, self.port)
                .await
                .map_err(|e| {
                    if e.contains("CONCIERGE_ALLOW") {
                        SendError::permanent(format!("refused by the network policy: {e}"))
                    } else {
                        SendError::transient(e)
                    }
                })?[0];
            let tls = match self.tls.as_str() {
                "none" => Tls::None,
                mode => {
                    let params = TlsParameters::new(self.host.clone()).map_err(|e| {
                        SendError::permanent(format!("TLS for {} cannot be set up: {e}", self.host))
                    })?;
                    if mode == "tls" {
                        Tls::Wrapper(params)
                    } else {
                        Tls::Required(params)
                    }
                }
            };
            let mut builder =
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
                    .port(addr.port())
                    .tls(tls)
                    .timeout(Some(self.channels.timeout));
            if let (Some(user), Some(pass)) = (&self.username, &self.password) {
                builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
            }
            let mailer = builder.build();
            let message_id = format!("{}", d.id);
            mailer.send(message).await.map_err(smtp_failure)?;
            Ok(Sent {
                provider_message_id: Some(message_id),
            })
        })
    }
}

/// `List-Unsubscribe: <url>` (RFC 2369), for engagement mail.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl lettre::message::header::Header for ListUnsubscribePost {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(
            Self::name(),
            "List-Unsubscribe=One-Click".to_string(),
        )
    }
}
