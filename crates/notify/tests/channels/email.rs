//! E-mail through a local SMTP server: STARTTLS on `smtp://`, TLS on `smtps://`, the
//! exact message, and how refusals are classified.

use std::io::Write as _;

use ardoise_domain::{Channel, DeliveryError, Sender};
use ardoise_notify::{EmailConfig, EmailSender};
use mail_parser::{MessageParser, MimeHeaders};

use crate::delivery;
use crate::receivers::{SmtpServer, SmtpTls};

struct Setup {
    server: SmtpServer,
    sender: EmailSender,
    _ca: tempfile::NamedTempFile,
}

async fn setup(mode: SmtpTls, scheme: &str) -> Setup {
    let server = SmtpServer::start(mode).await;
    let mut ca = tempfile::NamedTempFile::new().unwrap();
    ca.write_all(server.certificate.as_bytes()).unwrap();
    let sender = EmailSender::new(&EmailConfig {
        smtp_url: format!(
            "{scheme}://bar%40example.org:p%40ss%20word@localhost:{}",
            server.port
        ),
        from: "Le Bar <bar@example.org>".to_owned(),
        ca_file: Some(ca.path().to_owned()),
        preferences_url: Some("https://bar.example.org/me".to_owned()),
    })
    .unwrap();
    Setup {
        server,
        sender,
        _ca: ca,
    }
}

#[actix_web::test]
async fn an_email_goes_through_starttls_with_its_login_and_exact_content() {
    let Setup {
        server,
        sender,
        _ca,
    } = setup(SmtpTls::StartTls, "smtp").await;
    assert_eq!(sender.channel(), Channel::Email);
    let alert = delivery(Channel::Email, "Ana Lopez <ana@example.net>");
    sender.send(&alert).await.unwrap();

    let mails = server.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.tls, "the message must only travel after STARTTLS");
    // The URL's percent-encoded user and password, decoded.
    assert_eq!(
        mail.login,
        Some(("bar@example.org".to_owned(), "p@ss word".to_owned()))
    );
    assert_eq!(mail.mail_from, "<bar@example.org>");
    assert_eq!(mail.rcpt_to, vec!["<ana@example.net>".to_owned()]);

    let message = MessageParser::default().parse(&mail.data).unwrap();
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Le Bar"));
    assert_eq!(from.address(), Some("bar@example.org"));
    let to = message.to().unwrap().first().unwrap();
    assert_eq!(to.address(), Some("ana@example.net"));
    assert_eq!(message.subject(), Some("Low balance"));
    assert_eq!(message.message_id(), Some("ntf_7Hq2@example.org"));
    // SMTP carries lines ended by CRLF.
    let lines = |text: std::borrow::Cow<str>| text.replace("\r\n", "\n");
    assert_eq!(
        lines(message.body_text(0).unwrap()),
        "Card 0042 has 3.50 left: top up at the bar & enjoy <3\n\n\
         https://bar.example.org/me\n\n\
         -- \nChoose which messages you receive: https://bar.example.org/me\n"
    );
    assert_eq!(
        lines(message.body_html(0).unwrap()),
        "<!DOCTYPE html>\n<html><body>\n<h1>Low balance</h1>\n\
         <p>Card 0042 has 3.50 left: top up at the bar &amp; enjoy &lt;3</p>\n\
         <p><a href=\"https://bar.example.org/me\">https://bar.example.org/me</a></p>\n\
         <hr>\n<p><small>Choose which messages you receive: \
         <a href=\"https://bar.example.org/me\">https://bar.example.org/me</a></small></p>\n\
         </body></html>\n"
    );
    let content_type = message.content_type().unwrap();
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("multipart", Some("alternative"))
    );
}

#[actix_web::test]
async fn smtps_speaks_tls_from_the_first_byte_and_a_retry_keeps_the_message_id() {
    let Setup {
        server,
        sender,
        _ca,
    } = setup(SmtpTls::Wrapper, "smtps").await;
    let mut invitation = delivery(Channel::Email, "ana@example.net");
    invitation.event = "invitation".to_owned();
    sender.send(&invitation).await.unwrap();
    invitation.attempt = 2;
    sender.send(&invitation).await.unwrap();

    let mails = server.mails();
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        assert!(mail.tls);
        let message = MessageParser::default().parse(&mail.data).unwrap();
        assert_eq!(message.message_id(), Some("ntf_7Hq2@example.org"));
        // An invitation carries no preferences footer: the recipient has no account yet.
        assert!(!message
            .body_text(0)
            .unwrap()
            .contains("Choose which messages"));
    }
}

#[actix_web::test]
async fn a_4xx_is_retried_later_and_a_5xx_fails_the_message() {
    let Setup {
        server,
        sender,
        _ca,
    } = setup(SmtpTls::StartTls, "smtp").await;
    server.refuse_next_mail_from(&["451 4.3.0 try again later"]);
    let alert = delivery(Channel::Email, "ana@example.net");
    let first = sender.send(&alert).await;
    assert!(
        matches!(&first, Err(DeliveryError::Temporary(e)) if e.contains("try again later")),
        "{first:?}"
    );
    assert!(server.mails().is_empty());
    sender.send(&alert).await.unwrap();
    assert_eq!(server.mails().len(), 1);

    let unknown = delivery(Channel::Email, "nobody@example.net");
    let refused = sender.send(&unknown).await;
    assert!(
        matches!(&refused, Err(DeliveryError::Permanent(e)) if e.contains("no such mailbox")),
        "{refused:?}"
    );
    let malformed = delivery(Channel::Email, "not an address");
    assert!(matches!(
        sender.send(&malformed).await,
        Err(DeliveryError::Permanent(_))
    ));
    assert_eq!(server.mails().len(), 1);
}

#[actix_web::test]
async fn an_untrusted_certificate_or_no_server_is_a_temporary_failure() {
    let server = SmtpServer::start(SmtpTls::StartTls).await;
    // The public roots only: the test server's self-signed certificate is refused, and the
    // message never leaves in clear.
    let sender = EmailSender::new(&EmailConfig {
        smtp_url: format!("smtp://localhost:{}", server.port),
        from: "bar@example.org".to_owned(),
        ..EmailConfig::default()
    })
    .unwrap();
    let alert = delivery(Channel::Email, "ana@example.net");
    assert!(matches!(
        sender.send(&alert).await,
        Err(DeliveryError::Temporary(_))
    ));
    assert!(server.mails().is_empty());

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap().port();
    drop(listener);
    let nowhere = EmailSender::new(&EmailConfig {
        smtp_url: format!("smtps://localhost:{closed}"),
        from: "bar@example.org".to_owned(),
        ..EmailConfig::default()
    })
    .unwrap();
    assert!(matches!(
        nowhere.send(&alert).await,
        Err(DeliveryError::Temporary(_))
    ));
}

#[test]
fn a_bad_setting_is_named() {
    let config = |url: &str, from: &str| EmailConfig {
        smtp_url: url.to_owned(),
        from: from.to_owned(),
        ..EmailConfig::default()
    };
    let error = |c: EmailConfig| EmailSender::new(&c).err().unwrap();
    assert_eq!(
        error(config("http://mail.example.org", "bar@example.org")).setting,
        "notify.email.smtp_url"
    );
    assert_eq!(
        error(config("smtp://mail.example.org", "not an address")).setting,
        "notify.email.from"
    );
    let missing = EmailConfig {
        ca_file: Some("/nonexistent/ca.pem".into()),
        ..config("smtp://mail.example.org", "bar@example.org")
    };
    assert_eq!(error(missing).setting, "notify.email.ca_file");
    // The password never shows in the settings' debug output.
    let shown = format!(
        "{:?}",
        config("smtps://bar:s3cret@mail.example.org", "bar@example.org")
    );
    assert!(!shown.contains("s3cret"), "{shown}");
}
