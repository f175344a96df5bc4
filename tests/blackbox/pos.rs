//! The POS dialect end to end: every endpoint and the statuses a client sees, on each backend.

use serde_json::Value;

use crate::harness::{assert_invariant, backends, Server};

/// Runs `scenario` once per backend on a fresh server.
macro_rules! on_each_backend {
    ($scenario:ident) => {
        for backend in backends() {
            let server = Server::start(backend);
            $scenario(&server).await;
        }
    };
}

fn status(v: &Value) -> &str {
    v["status"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn coucou_and_unknown_paths() {
    async fn scenario(s: &Server) {
        let get = s
            .client
            .get(format!("{}/api/coucou", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 200);
        assert!(get.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let v: Value = get.json().await.unwrap();
        assert_eq!(v, serde_json::json!({"status": "ok"}));
        assert_eq!(status(&s.api("coucou", &[]).await), "ok");
        let unknown = s
            .client
            .post(format!("{}/api/nimporte/quoi", s.base))
            .send()
            .await
            .unwrap();
        let v: Value = unknown.json().await.unwrap();
        assert_eq!(status(&v), "requete_inconnue");
    }
    on_each_backend!(scenario);
}

#[tokio::test]
async fn sessions_login_logout_and_tokens() {
    async fn scenario(s: &Server) {
        let v = s
            .api(
                "utilisateur/connexion",
                &[("login", "prez"), ("mdp", "secret-pw")],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        let token = v["jeton"].as_str().unwrap();
        assert_eq!(token.len(), 30);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(v["login"], "prez");
        assert!(v["droit"].is_i64());
        assert_eq!(v["droit"], 3);

        for (login, pw) in [("prez", "wrong"), ("nobody", "secret-pw")] {
            let v = s
                .api("utilisateur/connexion", &[("login", login), ("mdp", pw)])
                .await;
            assert_eq!(status(&v), "identifiants_invalides", "{v}");
        }
        let v = s
            .api("utilisateur/connexion", &[("idCarte", "DEADBEEF")])
            .await;
        assert_eq!(status(&v), "carte_inconnue", "{v}");
        // Both forms at once, or neither, is malformed.
        let v = s
            .api(
                "utilisateur/connexion",
                &[
                    ("login", "prez"),
                    ("mdp", "secret-pw"),
                    ("idCarte", "DEADBEEF"),
                ],
            )
            .await;
        assert_eq!(status(&v), "requete_malforme", "{v}");

        // The token works as a form field, a Bearer header and a `token` header.
        assert_eq!(
            status(&s.api("client/liste", &[("jeton", token)]).await),
            "ok"
        );
        let bearer: Value = s
            .client
            .post(format!("{}/api/client/liste", s.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status(&bearer), "ok");
        let header: Value = s
            .client
            .post(format!("{}/api/client/liste", s.base))
            .header("token", token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status(&header), "ok");

        for bad in ["", "x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            let v = s.api("client/liste", &[("jeton", bad)]).await;
            assert_eq!(status(&v), "jeton_invalide", "{bad:?}: {v}");
        }
        assert_eq!(status(&s.api("client/liste", &[]).await), "jeton_invalide");

        assert_eq!(
            status(&s.api("utilisateur/deconnexion", &[("jeton", token)]).await),
            "ok"
        );
        assert_eq!(
            status(&s.api("client/liste", &[("jeton", token)]).await),
            "jeton_invalide"
        );
    }
    on_each_backend!(scenario);
}

#[tokio::test]
async fn card_life_with_exact_money() {
    async fn scenario(s: &Server) {
        let prez = s.login("prez").await;
        let barman = s.login("barman").await;
        let bde = s.login("bde").await;

        let v = s
            .api(
                "client/ajouter",
                &[
                    ("jeton", &bde),
                    ("idCarte", "04a1b2c3d4"),
                    ("solde", "15.60"),
                ],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert!(v["idTransaction"].is_i64());
        assert_eq!(v["soldeNouveau"].to_string(), "15.6");
        let v = s
            .api(
                "client/ajouter",
                &[("jeton", &bde), ("idCarte", "04A1B2C3D4"), ("solde", "5")],
            )
            .await;
        assert_eq!(status(&v), "client_existant");
        let v = s
            .api(
                "client/ajouter",
                &[("jeton", &bde), ("idCarte", "CARDZERO"), ("solde", "0")],
            )
            .await;
        assert_eq!(status(&v), "solde_negatif");
        let v = s
            .api(
                "client/ajouter",
                &[
                    ("jeton", &bde),
                    ("idCarte", "CARDDEBT"),
                    ("solde", "5"),
                    ("decouvert", "true"),
                ],
            )
            .await;
        assert_eq!(status(&v), "droits_insuffisants");

        // Top-up 0.20 on 15.60 is 15.8, exactly.
        let v = s
            .api(
                "client/recharger",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("montant", "0.20"),
                ],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["soldeAncien"].to_string(), "15.6");
        assert_eq!(v["soldeNouveau"].to_string(), "15.8");
        let v = s
            .api(
                "client/recharger",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("montant", "10.0"),
                ],
            )
            .await;
        assert_eq!(v["soldeNouveau"].to_string(), "25.8", "{v}");
        let v = s
            .api(
                "client/recharger",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("montant", "-1"),
                ],
            )
            .await;
        assert_eq!(status(&v), "rechargement_negatif");
        let v = s
            .api(
                "client/recharger",
                &[("jeton", &bde), ("idCarte", "04A1B2C3D4"), ("montant", "1")],
            )
            .await;
        assert_eq!(status(&v), "droits_insuffisants");
        let v = s
            .api(
                "client/recharger",
                &[
                    ("jeton", &barman),
                    ("idCarte", "UNKNOWN1"),
                    ("montant", "1"),
                ],
            )
            .await;
        assert_eq!(status(&v), "client_inconnu");

        // Payments by amount and by quantity (the default product, biere at 1.80).
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("montant", "1.7"),
                ],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["montant"].to_string(), "1.7");
        assert_eq!(v["soldeNouveau"].to_string(), "24.1");
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("quantite", "3"),
                ],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["montant"].to_string(), "5.4");
        assert_eq!(v["soldeNouveau"].to_string(), "18.7");
        for form in [vec![("montant", "1"), ("quantite", "1")], vec![]] {
            let mut f = vec![("jeton", barman.as_str()), ("idCarte", "04A1B2C3D4")];
            f.extend(form);
            assert_eq!(status(&s.api("client/payer", &f).await), "requete_malforme");
        }
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("montant", "0"),
                ],
            )
            .await;
        assert_eq!(status(&v), "paiement_negatif");
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("quantite", "1"),
                    ("produit", "whisky"),
                ],
            )
            .await;
        assert_eq!(status(&v), "produit_inconnu");
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("montant", "20"),
                ],
            )
            .await;
        assert_eq!(status(&v), "solde_insuffisant", "{v}");
        assert_eq!(v["solde"].to_string(), "18.7");
        assert_eq!(v["manque"].to_string(), "1.3");

        // The sheet: oldest first, the exact shapes, overdraft only for rights 3.
        let v = s
            .api(
                "client/fiche",
                &[("jeton", &barman), ("idCarte", "04a1b2c3d4")],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["idCarte"], "04A1B2C3D4");
        assert_eq!(v["solde"].to_string(), "18.7");
        assert!(v.get("decouvert").is_none(), "{v}");
        let txs = v["transactions"].as_array().unwrap();
        assert_eq!(txs.len(), 5);
        let first = &txs[0];
        assert_eq!(first["type"], 1);
        assert_eq!(first["montant"].to_string(), "15.6");
        assert_eq!(first["qte"], 0);
        assert_eq!(first["valide"], true);
        assert_eq!(first["client"], "04A1B2C3D4");
        assert_eq!(first["utilisateur"], "bde");
        assert!(first["id"].is_i64() && first["date"].is_i64());
        assert_eq!(txs[4]["qte"], 3);
        assert_eq!(txs[4]["type"], 3);
        let v = s
            .api(
                "client/fiche",
                &[("jeton", &prez), ("idCarte", "04A1B2C3D4")],
            )
            .await;
        assert_eq!(v["decouvert"], false);
        let v = s
            .api(
                "client/fiche",
                &[("jeton", &bde), ("idCarte", "04A1B2C3D4")],
            )
            .await;
        assert_eq!(status(&v), "droits_insuffisants");
        let v = s
            .api(
                "client/fiche",
                &[("jeton", &barman), ("idCarte", "UNKNOWN1")],
            )
            .await;
        assert_eq!(status(&v), "client_inconnu");

        // Overdraft: rights 3 only; then the card may go down to -50.
        let v = s
            .api(
                "client/decouvert",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("decouvert", "true"),
                ],
            )
            .await;
        assert_eq!(status(&v), "droits_insuffisants");
        let v = s
            .api(
                "client/decouvert",
                &[
                    ("jeton", &prez),
                    ("idCarte", "04A1B2C3D4"),
                    ("decouvert", "true"),
                ],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        let v = s
            .api(
                "client/decouvert",
                &[
                    ("jeton", &prez),
                    ("idCarte", "UNKNOWN1"),
                    ("decouvert", "1"),
                ],
            )
            .await;
        assert_eq!(status(&v), "client_inconnu");
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "04A1B2C3D4"),
                    ("montant", "20"),
                ],
            )
            .await;
        assert_eq!(v["soldeNouveau"].to_string(), "-1.3", "{v}");
        let v = s
            .api(
                "client/vidange",
                &[("jeton", &barman), ("idCarte", "04A1B2C3D4")],
            )
            .await;
        assert_eq!(status(&v), "solde_negatif");

        // The list, with overdraft for rights 3 only.
        let v = s.api("client/liste", &[("jeton", &barman)]).await;
        let cards = v["clients"].as_array().unwrap();
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0]["idCarte"], "04A1B2C3D4");
        assert_eq!(cards[0]["solde"].to_string(), "-1.3");
        assert!(cards[0].get("decouvert").is_none());
        let v = s.api("client/liste", &[("jeton", &prez)]).await;
        assert_eq!(v["clients"][0]["decouvert"], true);
        assert_eq!(
            status(&s.api("client/liste", &[("jeton", &bde)]).await),
            "droits_insuffisants"
        );

        // Drain: the balance is handed back.
        s.api(
            "client/recharger",
            &[
                ("jeton", &barman),
                ("idCarte", "04A1B2C3D4"),
                ("montant", "11.3"),
            ],
        )
        .await;
        let v = s
            .api(
                "client/vidange",
                &[("jeton", &barman), ("idCarte", "04A1B2C3D4")],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["soldeAncien"].to_string(), "10");
        assert!(v["idTransaction"].is_i64());
        let v = s
            .api(
                "client/vidange",
                &[("jeton", &barman), ("idCarte", "UNKNOWN1")],
            )
            .await;
        assert_eq!(status(&v), "client_inconnu");

        // Card info.
        let v = s
            .api("carte/info", &[("jeton", &bde), ("idCarte", "04A1B2C3D4")])
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["client"], "04A1B2C3D4");
        assert_eq!(v["utilisateur"], false);
        let v = s
            .api("carte/info", &[("jeton", &bde), ("idCarte", "UNKNOWN1")])
            .await;
        assert_eq!(
            (v["client"].clone(), v["utilisateur"].clone()),
            (Value::Bool(false), Value::Bool(false))
        );
        let v = s
            .api(
                "carte/info",
                &[
                    ("jeton", &s.login("honeypot").await),
                    ("idCarte", "UNKNOWN1"),
                ],
            )
            .await;
        assert_eq!(status(&v), "droits_insuffisants");

        assert_invariant(s, &prez).await;
    }
    on_each_backend!(scenario);
}

#[tokio::test]
async fn cancel_and_redo() {
    async fn scenario(s: &Server) {
        let prez = s.login("prez").await;
        let barman = s.login("barman").await;
        s.api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "10")],
        )
        .await;
        let paid = s
            .api(
                "client/payer",
                &[
                    ("jeton", &barman),
                    ("idCarte", "AHS0DIEX"),
                    ("montant", "2.5"),
                ],
            )
            .await;
        let id = paid["idTransaction"].as_i64().unwrap().to_string();
        let v = s
            .api("annuler", &[("jeton", &barman), ("idTransaction", &id)])
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["client"], "AHS0DIEX");
        assert_eq!(v["soldeAncien"].to_string(), "7.5");
        assert_eq!(v["soldeNouveau"].to_string(), "10");
        assert_eq!(v["idTransaction"].as_i64().unwrap().to_string(), id);
        let v = s
            .api("annuler", &[("jeton", &barman), ("idTransaction", &id)])
            .await;
        assert_eq!(status(&v), "transactions_deja_annulee");
        let v = s
            .api("refaire", &[("jeton", &barman), ("idTransaction", &id)])
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["soldeNouveau"].to_string(), "7.5");
        let v = s
            .api("refaire", &[("jeton", &barman), ("idTransaction", &id)])
            .await;
        assert_eq!(status(&v), "transactions_deja_active");
        let v = s
            .api(
                "annuler",
                &[("jeton", &barman), ("idTransaction", "999999")],
            )
            .await;
        assert_eq!(status(&v), "transaction_inconnue");
        let v = s
            .api("annuler", &[("jeton", &barman), ("idTransaction", "abc")])
            .await;
        assert_eq!(status(&v), "requete_malforme");

        // Someone else's transaction: only the president may correct it.
        let mine = s
            .api(
                "client/payer",
                &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("montant", "1")],
            )
            .await;
        let mine = mine["idTransaction"].as_i64().unwrap().to_string();
        let v = s
            .api("annuler", &[("jeton", &barman), ("idTransaction", &mine)])
            .await;
        assert_eq!(status(&v), "transaction_autre");
        let v = s
            .api(
                "annuler",
                &[("jeton", &s.login("bde").await), ("idTransaction", &mine)],
            )
            .await;
        assert_eq!(status(&v), "droits_insuffisants");

        // A spent top-up cannot be cancelled below the floor.
        let top = s
            .api(
                "client/recharger",
                &[
                    ("jeton", &barman),
                    ("idCarte", "AHS0DIEX"),
                    ("montant", "5"),
                ],
            )
            .await;
        s.api(
            "client/payer",
            &[
                ("jeton", &barman),
                ("idCarte", "AHS0DIEX"),
                ("montant", "10"),
            ],
        )
        .await;
        let top = top["idTransaction"].as_i64().unwrap().to_string();
        let v = s
            .api("annuler", &[("jeton", &barman), ("idTransaction", &top)])
            .await;
        assert_eq!(status(&v), "solde_insuffisant", "{v}");
        assert_eq!(v["solde"].to_string(), "1.5");
        assert_eq!(v["manque"].to_string(), "3.5");

        // The whole ledger, for the president only, with the paging extension.
        let v = s.api("transactions", &[("jeton", &barman)]).await;
        assert_eq!(status(&v), "droits_insuffisants");
        let v = s.api("transactions", &[("jeton", &prez)]).await;
        assert_eq!(status(&v), "ok", "{v}");
        let all = v["transactions"].as_array().unwrap().clone();
        assert_eq!(all.len(), 5);
        assert_eq!(all[1]["valide"], true);
        let first_id = all[0]["id"].as_i64().unwrap().to_string();
        let v = s
            .api(
                "transactions",
                &[("jeton", &prez), ("depuis", &first_id), ("limite", "2")],
            )
            .await;
        let page = v["transactions"].as_array().unwrap();
        assert_eq!(page.len(), 2, "{v}");
        assert_eq!(page[0]["id"], all[1]["id"]);

        // Statistics: 1.5 on the card, 4 valid payments… of which 0 by quantity.
        let v = s.api("statistiques", &[("jeton", &barman)]).await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["recettes"].to_string(), "1.5");
        assert_eq!(v["dettes"].to_string(), "0");
        assert_eq!(v["clientsNb"], 1);
        assert_eq!(v["consommationsNb"], 0);
        assert_invariant(s, &prez).await;
    }
    on_each_backend!(scenario);
}

#[tokio::test]
async fn staff_accounts() {
    async fn scenario(s: &Server) {
        let prez = s.login("prez").await;
        let barman = s.login("barman").await;
        let v = s
            .api(
                "utilisateur/ajouter",
                &[
                    ("jeton", &prez),
                    ("login", "nouveau"),
                    ("mdp", "pw-123456"),
                    ("droit", "2"),
                    ("idCarte", "CAFE0001"),
                ],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        let v = s
            .api(
                "utilisateur/ajouter",
                &[
                    ("jeton", &prez),
                    ("login", "nouveau"),
                    ("mdp", "x-password"),
                    ("droit", "2"),
                ],
            )
            .await;
        assert_eq!(status(&v), "utilisateur_existant");
        let v = s
            .api(
                "utilisateur/ajouter",
                &[
                    ("jeton", &prez),
                    ("login", "autre"),
                    ("mdp", "x-password"),
                    ("droit", "7"),
                ],
            )
            .await;
        assert_eq!(status(&v), "requete_malforme");
        let v = s
            .api(
                "utilisateur/ajouter",
                &[
                    ("jeton", &barman),
                    ("login", "autre"),
                    ("mdp", "x-password"),
                    ("droit", "1"),
                ],
            )
            .await;
        assert_eq!(status(&v), "droits_insuffisants");

        // Card login, and card info naming the staff user.
        let v = s
            .api("utilisateur/connexion", &[("idCarte", "cafe0001")])
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["login"], "nouveau");
        assert_eq!(v["droit"], 2);
        let v = s
            .api("carte/info", &[("jeton", &prez), ("idCarte", "CAFE0001")])
            .await;
        assert_eq!(v["utilisateur"], "nouveau");

        let v = s.api("utilisateur/liste", &[("jeton", &prez)]).await;
        assert_eq!(status(&v), "ok", "{v}");
        let users = v["utilisateurs"].as_array().unwrap();
        assert!(users
            .iter()
            .any(|u| u["login"] == "nouveau" && u["droit"] == 2));
        assert_eq!(
            status(&s.api("utilisateur/liste", &[("jeton", &barman)]).await),
            "droits_insuffisants"
        );

        let v = s
            .api(
                "utilisateur/fiche",
                &[("jeton", &barman), ("login", "barman")],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["droit"], 2);
        assert!(v["transactions"].is_array());
        let v = s
            .api(
                "utilisateur/fiche",
                &[("jeton", &barman), ("login", "prez")],
            )
            .await;
        assert_eq!(status(&v), "droits_insuffisants");
        let v = s
            .api("utilisateur/fiche", &[("jeton", &prez), ("login", "ghost")])
            .await;
        assert_eq!(status(&v), "utilisateur_inconnu");

        // A card already used by another staff user is refused.
        let v = s
            .api(
                "utilisateur/carte",
                &[
                    ("jeton", &barman),
                    ("login", "barman"),
                    ("idCarte", "CAFE0001"),
                ],
            )
            .await;
        assert_eq!(status(&v), "requete_malforme", "{v}");
        let v = s
            .api(
                "utilisateur/carte",
                &[
                    ("jeton", &barman),
                    ("login", "barman"),
                    ("idCarte", "BEEF0002"),
                ],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");

        // Passwords: own, or anyone's for the president.
        let v = s
            .api(
                "utilisateur/mdp",
                &[("jeton", &barman), ("login", "barman"), ("mdp", "new-pw-1")],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        let v = s
            .api(
                "utilisateur/connexion",
                &[("login", "barman"), ("mdp", "new-pw-1")],
            )
            .await;
        assert_eq!(status(&v), "ok");
        let v = s
            .api(
                "utilisateur/mdp",
                &[("jeton", &barman), ("login", "prez"), ("mdp", "x-password")],
            )
            .await;
        assert_eq!(status(&v), "droits_insuffisants");
        let v = s
            .api(
                "utilisateur/mdp",
                &[("jeton", &prez), ("login", "ghost"), ("mdp", "x-password")],
            )
            .await;
        assert_eq!(status(&v), "utilisateur_inconnu");

        // Rights change, then deletion: the session ends, the history stays.
        let v = s
            .api(
                "utilisateur/droit",
                &[("jeton", &prez), ("login", "nouveau"), ("droit", "1")],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        let v = s
            .api(
                "utilisateur/droit",
                &[("jeton", &prez), ("login", "ghost"), ("droit", "1")],
            )
            .await;
        assert_eq!(status(&v), "utilisateur_inconnu");
        s.api(
            "client/ajouter",
            &[("jeton", &barman), ("idCarte", "AHS0DIEX"), ("solde", "3")],
        )
        .await;
        let v = s
            .api(
                "utilisateur/supprimer",
                &[("jeton", &prez), ("login", "barman")],
            )
            .await;
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(
            status(&s.api("client/liste", &[("jeton", &barman)]).await),
            "jeton_invalide"
        );
        let v = s
            .api(
                "utilisateur/connexion",
                &[("login", "barman"), ("mdp", "new-pw-1")],
            )
            .await;
        assert_eq!(status(&v), "identifiants_invalides");
        let v = s
            .api("client/fiche", &[("jeton", &prez), ("idCarte", "AHS0DIEX")])
            .await;
        assert_eq!(v["transactions"][0]["utilisateur"], "barman");
        let v = s
            .api(
                "utilisateur/supprimer",
                &[("jeton", &prez), ("login", "ghost")],
            )
            .await;
        assert_eq!(status(&v), "utilisateur_inconnu");
    }
    on_each_backend!(scenario);
}

#[tokio::test]
async fn malformed_input_changes_nothing() {
    async fn scenario(s: &Server) {
        let prez = s.login("prez").await;
        s.api(
            "client/ajouter",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "10")],
        )
        .await;
        let huge = "9".repeat(40);
        for amount in [
            "1,5",
            "abc",
            "1e3",
            "0.001",
            "",
            "1000.01",
            huge.as_str(),
            "-0",
            " 1",
        ] {
            for (path, field) in [("client/payer", "montant"), ("client/recharger", "montant")] {
                let v = s
                    .api(
                        path,
                        &[("jeton", &prez), ("idCarte", "AHS0DIEX"), (field, amount)],
                    )
                    .await;
                assert_eq!(status(&v), "requete_malforme", "{path} {amount:?}: {v}");
            }
            let v = s
                .api(
                    "client/ajouter",
                    &[("jeton", &prez), ("idCarte", "NEWCARD1"), ("solde", amount)],
                )
                .await;
            assert_eq!(status(&v), "requete_malforme", "ajouter {amount:?}: {v}");
        }
        for quantity in ["1.5", "abc", "", "1e2"] {
            let v = s
                .api(
                    "client/payer",
                    &[
                        ("jeton", &prez),
                        ("idCarte", "AHS0DIEX"),
                        ("quantite", quantity),
                    ],
                )
                .await;
            assert_eq!(status(&v), "requete_malforme", "quantite {quantity:?}");
        }
        for card in ["", "ab", "AB-CD", "carte 1", "é1234567"] {
            let v = s
                .api(
                    "client/recharger",
                    &[("jeton", &prez), ("idCarte", card), ("montant", "1")],
                )
                .await;
            assert_eq!(status(&v), "requete_malforme", "card {card:?}");
        }
        // A duplicated field is ambiguous: refused.
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", &prez),
                    ("idCarte", "AHS0DIEX"),
                    ("montant", "1"),
                    ("montant", "2"),
                ],
            )
            .await;
        assert_eq!(status(&v), "requete_malforme");
        let v = s
            .api("client/fiche", &[("jeton", &prez), ("idCarte", "AHS0DIEX")])
            .await;
        assert_eq!(v["solde"].to_string(), "10");
        assert_eq!(v["transactions"].as_array().unwrap().len(), 1);
        assert_eq!(
            status(&s.api("client/liste", &[("jeton", &prez)]).await),
            "ok"
        );
        let v = s.api("client/liste", &[("jeton", &prez)]).await;
        assert_eq!(v["clients"].as_array().unwrap().len(), 1);
    }
    on_each_backend!(scenario);
}

#[tokio::test]
async fn android_client_habits() {
    async fn scenario(s: &Server) {
        let prez = s.login("prez").await;
        // No Content-Type at all: parsed as a form.
        let v: Value = s
            .client
            .post(format!("{}/api/client/ajouter", s.base))
            .body(format!("jeton={prez}&idCarte=AHS0DIEX&solde=10.0"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["soldeNouveau"].to_string(), "10");
        // JSON bodies with numbers or strings.
        let v: Value = s
            .client
            .post(format!("{}/api/client/payer", s.base))
            .json(&serde_json::json!({"jeton": prez, "idCarte": "AHS0DIEX", "montant": 1.5}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status(&v), "ok", "{v}");
        assert_eq!(v["soldeNouveau"].to_string(), "8.5");
        let v: Value = s
            .client
            .post(format!("{}/api/client/payer", s.base))
            .json(&serde_json::json!({"jeton": prez, "idCarte": "AHS0DIEX", "quantite": "2"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["soldeNouveau"].to_string(), "4.9", "{v}");
    }
    on_each_backend!(scenario);
}
