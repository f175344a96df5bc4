//! The channel adapters against real local receivers started by each test: an SMTP server
//! speaking STARTTLS and TLS, and HTTP servers standing in for a webhook receiver, an SMS
//! gateway and FCM with its OAuth2 token endpoint.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod email;
mod push;
mod receivers;
mod sms;
mod webhook;

use ardoise_domain::{Channel, Delivery};
use chrono::{TimeZone, Utc};

/// A low-balance alert for `to` on `channel`, as the outbox would hand it over.
pub fn delivery(channel: Channel, to: &str) -> Delivery {
    Delivery {
        id: "ntf_7Hq2".to_owned(),
        channel,
        to: to.to_owned(),
        event: "low_balance".to_owned(),
        title: "Low balance".to_owned(),
        message: "Card 0042 has 3.50 left: top up at the bar & enjoy <3".to_owned(),
        link: Some("https://bar.example.org/me".to_owned()),
        picture: None,
        secret: None,
        created_at: Utc.with_ymd_and_hms(2026, 12, 6, 21, 30, 5).unwrap(),
        attempt: 1,
    }
}

#[test]
fn only_the_configured_channels_are_built() {
    use ardoise_notify::{senders, EmailConfig, NotifyConfig, SmsConfig};
    let channels = |config: &NotifyConfig| -> Vec<Channel> {
        senders(config)
            .unwrap()
            .iter()
            .map(|s| s.channel())
            .collect()
    };
    assert_eq!(channels(&NotifyConfig::default()), vec![Channel::Webhook]);
    let config = NotifyConfig {
        email: Some(EmailConfig {
            smtp_url: "smtps://mail.example.org".to_owned(),
            from: "bar@example.org".to_owned(),
            ..EmailConfig::default()
        }),
        sms: Some(SmsConfig {
            url: "https://sms.example.org/send".to_owned(),
            ..SmsConfig::default()
        }),
        ..NotifyConfig::default()
    };
    assert_eq!(
        channels(&config),
        vec![Channel::Webhook, Channel::Email, Channel::Sms]
    );
    let broken = NotifyConfig {
        sms: Some(SmsConfig::default()),
        ..NotifyConfig::default()
    };
    assert_eq!(senders(&broken).err().unwrap().setting, "notify.sms.url");
}
