//! A bar moved from 10p5 (its ledger written by the store's import, as `ardoise-import` does)
//! served by the real binary: an import adjustment through `/api`, `/v1` and the export, never
//! cancelled; an imported bcrypt password logs in over HTTP and is upgraded.

use ardoise_domain::ports::StaffUser;
use ardoise_domain::{
    CardId, ImportInput, ImportPlan, ImportedCard, Login, Money, Rights, Transaction,
    TransactionId, TransactionKind,
};
use ardoise_store::{Store, StoreSettings};
use chrono::{TimeZone, Utc};
use serde_json::Value;

use crate::harness::{ardoise, assert_invariant, backends, Database, Server};
use crate::v1_staff::get;

const OLD_PASSWORD: &str = "mot-de-passe-10p5";

fn plan() -> ImportPlan {
    let card = CardId::parse("AHS0DIEX").unwrap();
    let tx = |id: i64, kind, cents| Transaction {
        id: TransactionId(id),
        kind,
        card: card.clone(),
        amount: Money::from_cents(cents),
        quantity: 0,
        product: None,
        valid: true,
        author: "prez".into(),
        created_at: Utc.timestamp_opt(1_460_369_884, 0).unwrap(),
    };
    let hash = bcrypt::hash_with_result(OLD_PASSWORD, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY);
    let input = ImportInput {
        // 10p5 shows 15.80 on the card, its history explains 20.00 - 1.70 = 18.30.
        cards: vec![ImportedCard {
            id: card.clone(),
            balance: Money::from_cents(1580),
            overdraft_limit: Money::ZERO,
        }],
        transactions: vec![
            tx(5, TransactionKind::Creation, 2000),
            tx(6, TransactionKind::Payment, 170),
        ],
        users: vec![StaffUser {
            login: Login::parse("prez").unwrap(),
            rights: Rights::President,
            card: None,
            password_hash: hash,
            active: true,
        }],
        products: Vec::new(),
    };
    ImportPlan::new(input, Utc::now(), &Login::parse("ardoise-import").unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_ledger_is_served_with_its_adjustment() {
    for backend in backends() {
        let db = Database::fresh(backend);
        let (ok, _, err) = ardoise(&db, &["migrate"]);
        assert!(ok, "{err}");
        {
            let store = Store::connect(&StoreSettings::new(db.url.clone())).unwrap();
            store
                .import(&plan(), "10p5", Utc::now(), false, &mut |_, _| {})
                .unwrap();
        }
        let s = Server::serve(db, &[]);

        let v = s
            .api(
                "utilisateur/connexion",
                &[("login", "prez"), ("mdp", OLD_PASSWORD)],
            )
            .await;
        assert_eq!(v["status"], "ok", "the old 10p5 password logs in: {v}");
        let token = v["jeton"].as_str().unwrap().to_owned();

        let sheet = s
            .api(
                "client/fiche",
                &[("jeton", &token), ("idCarte", "AHS0DIEX")],
            )
            .await;
        assert_eq!(sheet["solde"].to_string(), "15.8", "{sheet}");
        let last = &sheet["transactions"][2];
        assert_eq!(
            (
                &last["id"],
                &last["type"],
                &last["montant"],
                &last["valide"]
            ),
            (
                &Value::from(7),
                &Value::from(7),
                &serde_json::json!(-2.5),
                &Value::Bool(true)
            ),
            "{sheet}"
        );
        assert_eq!(last["utilisateur"], "ardoise-import");
        assert_invariant(&s, &token).await;

        let v = s
            .api("annuler", &[("jeton", &token), ("idTransaction", "7")])
            .await;
        assert_eq!(v["status"], "transaction_non_corrigeable", "{v}");

        let (status, _, v) = get(&s, "/v1/cards/AHS0DIEX/transactions", &token).await;
        assert_eq!(status, 200, "{v}");
        let items = v["data"]["items"].as_array().unwrap();
        assert_eq!(items[2]["type"], "import_adjustment", "{v}");
        assert_eq!(items[2]["amount"], "-2.50");

        // The next movement is numbered after the imported history.
        let v = s
            .api(
                "client/recharger",
                &[("jeton", &token), ("idCarte", "AHS0DIEX"), ("montant", "1")],
            )
            .await;
        assert_eq!(v["idTransaction"], 8, "{v}");

        let db = s.stop();
        let (ok, out, err) = ardoise(&db, &["export", "transactions", "--format", "csv"]);
        assert!(ok, "{err}");
        let row = out.lines().find(|l| l.starts_with("7,")).unwrap();
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(
            (cells[2], cells[3], cells[4], cells[6], cells[7]),
            (
                "AHS0DIEX",
                "import_adjustment",
                "-2.50",
                "valid",
                "ardoise-import"
            )
        );
        // The first login replaced the bcrypt hash by an argon2id one: the password still
        // works after a restart.
        let s = Server::serve(db, &[]);
        let v = s
            .api(
                "utilisateur/connexion",
                &[("login", "prez"), ("mdp", OLD_PASSWORD)],
            )
            .await;
        assert_eq!(v["status"], "ok", "{v}");
        let store = Store::connect(&StoreSettings::new(s.db.url.clone())).unwrap();
        let prez =
            ardoise_domain::ports::StaffDirectory::user(&store, &Login::parse("prez").unwrap())
                .await
                .unwrap()
                .unwrap();
        assert!(
            prez.password_hash.starts_with("$argon2id$"),
            "{}",
            prez.password_hash
        );
    }
}
