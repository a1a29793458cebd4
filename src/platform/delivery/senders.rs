//! The channel adapters behind one small trait each (NTF-1): a development
//! sender that only records (the outbox row is the record, read at
//! `GET /sandbox/outbox`), email over SMTP, SMS through Tencent Cloud, push
//! through JPush. Chosen by settings at start.

use std::time::Duration;

/// One message to send, as the outbox holds it.
#[derive(Debug, Clone)]
pub struct Message {
    pub outbox_id: i64,
    /// Unique per notice (or code) and channel; providers that take a
    /// caller reference get it, so a resend after a crash is recognisable.
    pub dedupe_key: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

impl Message {
    /// A code's digits (the first run of six), for providers whose code
    /// template takes only the code.
    pub fn code(&self) -> Option<&str> {
        let bytes = self.body.as_bytes();
        (0..bytes.len().saturating_sub(5)).find_map(|i| {
            let run = &bytes[i..i + 6];
            let before = i.checked_sub(1).map(|j| bytes[j].is_ascii_digit());
            let after = bytes.get(i + 6).map(u8::is_ascii_digit);
            (run.iter().all(u8::is_ascii_digit) && before != Some(true) && after != Some(true))
                .then(|| &self.body[i..i + 6])
        })
    }

    /// Whether this is a one-time code rather than a notice.
    pub fn is_code(&self) -> bool {
        self.kind.starts_with("code.")
    }
}

/// Why a send failed. The text is kept on the outbox row for staff: it never
/// holds the message or a credential.
#[derive(Debug)]
pub struct SendError(pub String);

impl SendError {
    pub fn new(what: impl Into<String>) -> Self {
        let mut text: String = what.into();
        text.truncate(300);
        SendError(text)
    }
}

/// One channel's way out.
pub trait Sender: Send + Sync {
    /// The provider's name, kept on the row (`development`, `smtp`, …).
    fn provider(&self) -> &'static str;
    /// Sends; the provider's own reference for the message.
    fn send(&self, msg: &Message) -> Result<String, SendError>;
}

/// Records only: the outbox row it leaves `sent` is what
/// `GET /sandbox/outbox` shows.
pub struct Development;

impl Sender for Development {
    fn provider(&self) -> &'static str {
        "development"
    }
    fn send(&self, msg: &Message) -> Result<String, SendError> {
        Ok(format!("dev-{}", msg.outbox_id))
    }
}

/// Email over SMTP (`SMTP_URL`, via lettre): `smtp://host:port` (plain, for
/// a local relay), `smtp://…?tls=required` (STARTTLS) or `smtps://` (TLS).
pub struct Smtp {
    transport: lettre::SmtpTransport,
    from: lettre::message::Mailbox,
    /// The host part of Message-IDs.
    domain: String,
}

impl Smtp {
    pub fn new(url: &str, from: &str) -> Result<Smtp, String> {
        let transport = lettre::SmtpTransport::from_url(url)
            .map_err(|_| "SMTP_URL is not a valid SMTP URL".to_string())?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from: lettre::message::Mailbox = from
            .parse()
            .map_err(|_| "MAIL_FROM is not a mailbox".to_string())?;
        let domain = from.email.domain().to_string();
        Ok(Smtp {
            transport,
            from,
            domain,
        })
    }
}

impl Sender for Smtp {
    fn provider(&self) -> &'static str {
        "smtp"
    }
    fn send(&self, msg: &Message) -> Result<String, SendError> {
        use lettre::Transport;
        let to: lettre::message::Mailbox = msg
            .recipient
            .parse()
            .map_err(|_| SendError::new("recipient is not an email address"))?;
        // One Message-ID per outbox row: a resend after a crash carries the
        // same id, which mail systems use to drop the copy.
        let message_id = format!("<outbox-{}@{}>", msg.outbox_id, self.domain);
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&msg.subject)
            .message_id(Some(message_id.clone()))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(msg.body.clone())
            .map_err(|e| SendError::new(format!("email not built: {e}")))?;
        self.transport
            .send(&email)
            .map_err(|e| SendError::new(format!("SMTP: {}", smtp_reason(&e))))?;
        Ok(message_id)
    }
}

/// An SMTP error's kind and code, without the server's text (which may
/// quote the recipient).
fn smtp_reason(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("server answered {code}"),
        None if e.is_timeout() => "timeout".into(),
        None if e.is_transient() => "transient error".into(),
        None => "connection or protocol error".into(),
    }
}

/// A blocking HTTP agent for the providers' APIs, with timeouts.
pub fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

#[cfg(test)]
mod tests {
    use crate::platform::delivery::senders::Message;

    fn msg(body: &str) -> Message {
        Message {
            outbox_id: 1,
            dedupe_key: "code:1:sms".into(),
            kind: "code.register".into(),
            recipient: "+8613900000000".into(),
            subject: "验证码".into(),
            body: body.into(),
        }
    }

    #[test]
    fn the_code_is_the_run_of_six_digits() {
        assert_eq!(msg("验证码 042917，五分钟内有效").code(), Some("042917"));
        assert_eq!(msg("1234567 不是").code(), None);
        assert_eq!(msg("无").code(), None);
    }
}
