//! What ardoise tells a member by itself (services.md), against the real binary on each
//! backend with an e-mail channel configured: the invitation and password-reset links, a
//! low-balance alert once per crossing, a receipt of a top-up, a card declared lost — each a
//! row of the outbox, read here in the database the server writes. The SMTP relay is a
//! closed port, so the messages stay queued (delivery itself is tested in `ardoise-notify`
//! against a real SMTP server).

use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde_json::{json, Value};

use crate::harness::{backends, Database, Server};
use crate::v1_me::{activate, login, member_with_card};
use crate::v1_staff::{call, post, session};

const ENV: [(&str, &str); 3] = [
    ("ARDOISE__NOTIFY__EMAIL__SMTP_URL", "smtps://127.0.0.1:9"),
    ("ARDOISE__NOTIFY__EMAIL__FROM", "Le Bar <bar@example.org>"),
    ("ARDOISE__HTTP__PUBLIC_URL", "https://bar.example.org"),
];

#[derive(Debug, QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    channel: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    recipient: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    message: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    link: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    sender: String,
}

/// The outbox's rows of `event`, as the server wrote them.
fn outbox(db: &Database, event: &str) -> Vec<Row> {
    let sql = format!(
        "SELECT channel, recipient, message, link, sender FROM outbox \
         WHERE event = '{event}' ORDER BY created_at"
    );
    match db.url.strip_prefix("sqlite://") {
        Some(path) => {
            let mut c = diesel::SqliteConnection::establish(path).unwrap();
            diesel::sql_query(sql).load(&mut c).unwrap()
        }
        None => {
            let mut c = diesel::PgConnection::establish(&db.url).unwrap();
            diesel::sql_query(sql).load(&mut c).unwrap()
        }
    }
}

#[tokio::test]
async fn a_member_is_told_of_their_links_alerts_receipts_and_lost_card_through_the_outbox() {
    for backend in backends() {
        let s = Server::start_with(backend, &ENV);
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let id =
            member_with_card(&s, &bde, "Lopez", "ana@example.org", "04A1B2C3D4", "20.00").await;

        // The invitation's link, shown to staff once and e-mailed to the member.
        let link = activate(&s, &bde, id, "ana-password-1").await;
        assert!(
            link.starts_with("https://bar.example.org/me/welcome/"),
            "{link}"
        );
        let invitations = outbox(&s.db, "invitation");
        assert_eq!(invitations.len(), 1, "{backend:?}");
        let mail = &invitations[0];
        assert_eq!(
            (
                mail.channel.as_str(),
                mail.recipient.as_str(),
                mail.sender.as_str()
            ),
            ("email", "ana@example.org", "ardoise")
        );
        assert_eq!(mail.link.as_deref(), Some(link.as_str()));

        // A reset asked for an unknown address queues nothing; for the member, a link.
        for email in ["nobody@example.org", "ana@example.org"] {
            let (status, _, v) = call(
                &s,
                reqwest::Method::POST,
                "/v1/member-passwords/reset",
                None,
                Some(json!({ "email": email })),
                &[],
            )
            .await;
            assert_eq!(status, 202, "{v}");
        }
        let resets = outbox(&s.db, "password_reset");
        assert_eq!(resets.len(), 1);
        let reset = resets[0].link.as_deref().unwrap();
        assert!(
            reset.starts_with("https://bar.example.org/me/welcome/"),
            "{reset}"
        );
        assert_ne!(reset, link);

        // An alert below 15.00 and receipts, by e-mail.
        let me = login(&s, "ana@example.org", "ana-password-1").await;
        let prefs = json!({"channels": {"email": true, "sms": false, "push": false},
                           "low_balance": "15.00", "receipts": true, "advertisements": false});
        let (status, _, v) = call(
            &s,
            reqwest::Method::PUT,
            "/v1/me/preferences",
            Some(&me),
            Some(prefs),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let pay = |amount: &'static str| {
            let (s, barman) = (&s, &barman);
            async move {
                let (status, _, v) = post(
                    s,
                    "/v1/cards/04A1B2C3D4/payments",
                    barman,
                    json!({ "amount": amount }),
                )
                .await;
                assert_eq!(status, 201, "{v}");
            }
        };
        pay("4.00").await; // 16.00: above
        pay("2.00").await; // 14.00: crosses
        pay("1.00").await; // 13.00: still below
        let alerts = outbox(&s.db, "low_balance");
        assert_eq!(alerts.len(), 1, "{backend:?}");
        assert_eq!(alerts[0].recipient, "ana@example.org");
        assert_eq!(
            alerts[0].message,
            "Card 04A1B2C3D4: the balance is 14.00, below your alert level. Top up at the bar."
        );
        let (status, _, v) = post(
            &s,
            "/v1/cards/04A1B2C3D4/topups",
            &barman,
            json!({"amount": "7.00"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let receipts = outbox(&s.db, "receipt");
        assert_eq!(receipts.len(), 1);
        assert_eq!(
            receipts[0].message,
            "Card 04A1B2C3D4: 7.00 added, the balance is now 20.00."
        );

        // Declared lost by the member: told at once (a warning if it was not them).
        let (status, _, v) = post(&s, "/v1/me/cards/04A1B2C3D4/lost", &me, Value::Null).await;
        assert_eq!(status, 200, "{v}");
        let lost = outbox(&s.db, "card_lost");
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].recipient, "ana@example.org");
    }
}
