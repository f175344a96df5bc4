//! Issue 14, defect 12: the POS dialect's optional idempotency key `cle` (an ardoise
//! extension): a till that lost an answer retries with the same `cle` and gets the first answer;
//! the key with another request is refused; old clients, without `cle`, are unaffected.

use std::sync::Arc;

use serde_json::Value;

use crate::harness::{backends, Server};

async fn solde(s: &Server, token: &str, card: &str) -> String {
    let v = s
        .api("client/fiche", &[("jeton", token), ("idCarte", card)])
        .await;
    v["solde"].to_string()
}

#[tokio::test]
async fn a_retried_pos_movement_with_cle_is_applied_once() {
    for backend in backends() {
        let s = Arc::new(Server::start(backend));
        let t = s.login("prez").await;
        let open = [
            ("jeton", t.as_str()),
            ("idCarte", "CAFE0001"),
            ("solde", "20"),
        ];
        let mut keyed = open.to_vec();
        keyed.push(("cle", "open-CAFE0001"));
        let first = s.api("client/ajouter", &keyed).await;
        assert_eq!(first["status"], "ok", "{first}");
        assert_eq!(s.api("client/ajouter", &keyed).await, first, "replayed");

        // 8 concurrent retries of one payment: one debit, the same answer for all.
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                let t = t.clone();
                tokio::spawn(async move {
                    s.api(
                        "client/payer",
                        &[
                            ("jeton", &t),
                            ("idCarte", "CAFE0001"),
                            ("montant", "2.50"),
                            ("cle", "till-1_payment-0001"),
                        ],
                    )
                    .await
                })
            })
            .collect();
        let mut answers: Vec<Value> = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        for a in &answers {
            assert_eq!(a["status"], "ok", "{backend:?}: {a}");
            assert_eq!(a, &answers[0], "{backend:?}");
        }
        assert_eq!(solde(&s, &t, "CAFE0001").await, "17.5");

        // The same key for another request: refused, nothing moves.
        let other = s
            .api(
                "client/payer",
                &[
                    ("jeton", &t),
                    ("idCarte", "CAFE0001"),
                    ("montant", "3"),
                    ("cle", "till-1_payment-0001"),
                ],
            )
            .await;
        assert_eq!(other["status"], "cle_idempotence_reutilisee", "{other}");
        assert_eq!(solde(&s, &t, "CAFE0001").await, "17.5");

        // Top-up, cancel, redo and drain replay too.
        for (path, fields) in [
            ("client/recharger", vec![("montant", "5")]),
            ("annuler", vec![]),
            ("refaire", vec![]),
            ("client/vidange", vec![]),
        ] {
            let id = answers[0]["idTransaction"].to_string();
            let key = format!("key-{}", path.replace('/', "-"));
            let mut form = vec![("jeton", t.as_str()), ("cle", key.as_str())];
            match path {
                "annuler" | "refaire" => form.push(("idTransaction", &id)),
                _ => form.push(("idCarte", "CAFE0001")),
            }
            form.extend(fields);
            let first = s.api(path, &form).await;
            assert_eq!(first["status"], "ok", "{path}: {first}");
            assert_eq!(s.api(path, &form).await, first, "{path} replayed");
        }
        // 20 - 2.50 + 5, cancel +2.50, redo -2.50, drain → 0.
        assert_eq!(solde(&s, &t, "CAFE0001").await, "0");

        // Old clients, without `cle`: each request is applied.
        s.api(
            "client/recharger",
            &[("jeton", &t), ("idCarte", "CAFE0001"), ("montant", "4")],
        )
        .await;
        for _ in 0..2 {
            let v = s
                .api(
                    "client/payer",
                    &[("jeton", &t), ("idCarte", "CAFE0001"), ("montant", "1")],
                )
                .await;
            assert_eq!(v["status"], "ok", "{v}");
        }
        assert_eq!(solde(&s, &t, "CAFE0001").await, "2");

        // A malformed key: 8 to 64 of [A-Za-z0-9_-].
        let long = "k".repeat(65);
        for bad in ["short", "with space-1234", "é-accentué-1234", long.as_str()] {
            let v = s
                .api(
                    "client/payer",
                    &[
                        ("jeton", &t),
                        ("idCarte", "CAFE0001"),
                        ("montant", "1"),
                        ("cle", bad),
                    ],
                )
                .await;
            assert_eq!(v["status"], "requete_malforme", "{bad}: {v}");
        }
        assert_eq!(solde(&s, &t, "CAFE0001").await, "2");
    }
}
