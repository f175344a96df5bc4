//! The command-line contract: migrate, user add, product set, serve, configuration errors.

use crate::harness::{ardoise, ardoise_env, backends, Database, Server};

#[test]
fn migrate_is_idempotent() {
    for backend in backends() {
        let db = Database::fresh(backend);
        let (ok, out, err) = ardoise(&db, &["migrate"]);
        assert!(ok, "{err}");
        assert!(out.contains("migration"), "{out}");
        let (ok, out, _) = ardoise(&db, &["migrate"]);
        assert!(ok);
        assert!(out.starts_with("0 migration"), "{out}");
    }
}

#[test]
fn user_add_refuses_bad_input_naming_it() {
    let db = Database::fresh(crate::harness::Backend::Sqlite);
    let (ok, _, err) = ardoise(
        &db,
        &[
            "user",
            "add",
            "--login",
            "a b",
            "--password",
            "p-password",
            "--rights",
            "1",
        ],
    );
    assert!(!ok);
    assert!(err.contains("--login"), "{err}");
    let (ok, _, err) = ardoise(
        &db,
        &[
            "user",
            "add",
            "--login",
            "ab",
            "--password",
            "p-password",
            "--rights",
            "4",
        ],
    );
    assert!(!ok);
    assert!(err.contains("--rights"), "{err}");
    let (ok, _, err) = ardoise(
        &db,
        &[
            "user",
            "add",
            "--login",
            "ab",
            "--password",
            "p-password",
            "--rights",
            "1",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = ardoise(
        &db,
        &[
            "user",
            "add",
            "--login",
            "ab",
            "--password",
            "p-password",
            "--rights",
            "1",
        ],
    );
    assert!(!ok, "a second `ab` must be refused");
    assert!(err.contains("ab"), "{err}");
}

#[test]
fn bad_configuration_stops_the_start_naming_the_key() {
    let db = Database::fresh(crate::harness::Backend::Sqlite);
    let (ok, _, err) = ardoise_env(
        &db,
        &["migrate"],
        &[("ARDOISE__MONEY__MAX_OPERATION", "lots")],
    );
    assert!(!ok);
    assert!(err.contains("money.max_operation"), "{err}");
    let (ok, _, err) = ardoise_env(
        &db,
        &["migrate"],
        &[("ARDOISE__DATABASE__SYNCHRONOUS", "fast")],
    );
    assert!(!ok);
    assert!(err.contains("synchronous"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[pos]\ncancel_window = 3\n").unwrap();
    let (ok, _, err) = ardoise(&db, &["--config", file.to_str().unwrap(), "migrate"]);
    assert!(!ok);
    assert!(err.contains("cancel_window"), "{err}");
}

#[tokio::test]
async fn first_start_creates_an_admin_and_product_set_prices_payments() {
    for backend in backends() {
        let db = Database::fresh(backend);
        let (ok, _, err) = ardoise(
            &db,
            &[
                "product",
                "set",
                "--name",
                "pinte",
                "--price",
                "3.50",
                "--category",
                "biere",
            ],
        );
        assert!(ok, "{err}");
        let (ok, _, err) = ardoise(
            &db,
            &["product", "set", "--name", "pinte", "--price", "3,50"],
        );
        assert!(!ok);
        assert!(err.contains("--price"), "{err}");
        let s = Server::serve(db, &[]);
        let password = s
            .admin_password
            .clone()
            .expect("the first start prints a password");
        let v = s
            .api(
                "utilisateur/connexion",
                &[("login", "admin"), ("mdp", &password)],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(v["droit"], 3);
        let token = v["jeton"].as_str().unwrap();
        s.api(
            "client/ajouter",
            &[("jeton", token), ("idCarte", "AHS0DIEX"), ("solde", "10")],
        )
        .await;
        let v = s
            .api(
                "client/payer",
                &[
                    ("jeton", token),
                    ("idCarte", "AHS0DIEX"),
                    ("quantite", "2"),
                    ("produit", "pinte"),
                ],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(v["montant"].to_string(), "7");
        // A second start prints no new password.
        let db = s.stop();
        let s = Server::serve(db, &[]);
        assert_eq!(s.admin_password, None);
    }
}

#[tokio::test]
async fn environment_overrides_settings() {
    let s = Server::start_with(
        crate::harness::Backend::Sqlite,
        &[
            ("ARDOISE__POS__DEFAULT_PRODUCT", "pinte"),
            ("ARDOISE__MONEY__MAX_OPERATION", "20"),
        ],
    );
    let prez = s.login("prez").await;
    let v = s
        .api(
            "client/ajouter",
            &[
                ("jeton", &prez),
                ("idCarte", "AHS0DIEX"),
                ("solde", "20.01"),
            ],
        )
        .await;
    assert_eq!(v["status"], "requete_malforme", "{v}");
    s.api(
        "client/ajouter",
        &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("solde", "20")],
    )
    .await;
    // `pinte` does not exist: the configured default product is what quantities count.
    let v = s
        .api(
            "client/payer",
            &[("jeton", &prez), ("idCarte", "AHS0DIEX"), ("quantite", "1")],
        )
        .await;
    assert_eq!(v["status"], "produit_inconnu", "{v}");
}
