//! Concurrent POS clients over HTTP: no lost update, no double cancel.

use std::sync::Arc;

use serde_json::Value;

use crate::harness::{assert_invariant, backends, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_simultaneous_cancels_one_ok() {
    for backend in backends() {
        let s = Arc::new(Server::start(backend));
        let prez = s.login("prez").await;
        s.api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "10")],
        )
        .await;
        for round in 0..5 {
            let paid = s
                .api(
                    "client/payer",
                    &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("montant", "1")],
                )
                .await;
            let id = paid["idTransaction"].as_i64().unwrap().to_string();
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let (s, prez, id) = (s.clone(), prez.clone(), id.clone());
                    tokio::spawn(async move {
                        s.api("annuler", &[("jeton", &prez), ("idTransaction", &id)])
                            .await
                    })
                })
                .collect();
            let mut statuses = Vec::new();
            for t in tasks {
                let v: Value = t.await.unwrap();
                statuses.push(v["status"].as_str().unwrap().to_owned());
            }
            let ok = statuses.iter().filter(|s| *s == "ok").count();
            assert_eq!(ok, 1, "{backend:?} round {round}: {statuses:?}");
            assert!(statuses
                .iter()
                .all(|s| s == "ok" || s == "transactions_deja_annulee"));
        }
        let v = s
            .api("client/fiche", &[("jeton", &prez), ("idCarte", "AHS0DIEX")])
            .await;
        assert_eq!(v["solde"].to_string(), "10", "{backend:?}: {v}");
        assert_invariant(&s, &prez).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_paying_lose_nothing() {
    for backend in backends() {
        let s = Arc::new(Server::start(backend));
        let prez = s.login("prez").await;
        // 30.00 on the card, 16 clients × 25 payments of 0.10 = 40.00 asked: 300 must pass.
        s.api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "30")],
        )
        .await;
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    let token = s.login("barman").await;
                    let mut accepted = 0;
                    for _ in 0..25 {
                        let v = s
                            .api(
                                "client/payer",
                                &[
                                    ("jeton", &token),
                                    ("idCarte", "AHS0DIEX"),
                                    ("montant", "0.10"),
                                ],
                            )
                            .await;
                        match v["status"].as_str().unwrap() {
                            "ok" => accepted += 1,
                            "solde_insuffisant" => {}
                            other => panic!("unexpected {other}: {v}"),
                        }
                    }
                    accepted
                })
            })
            .collect();
        let mut accepted = 0;
        for t in tasks {
            accepted += t.await.unwrap();
        }
        assert_eq!(accepted, 300, "{backend:?}");
        let v = s
            .api("client/fiche", &[("jeton", &prez), ("idCarte", "AHS0DIEX")])
            .await;
        assert_eq!(v["solde"].to_string(), "0", "{backend:?}: {v}");
        assert_eq!(v["transactions"].as_array().unwrap().len(), 301);
        assert_invariant(&s, &prez).await;
    }
}
