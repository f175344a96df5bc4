//! What 10p5's rows mean in ardoise: every cell goes through the domain's parsers (card ids,
//! logins, money, rights, product names) and the 10p5 conventions are applied here, once.
//!
//! 10p5 (seed 001's PHP server) keeps money in FLOAT columns, transaction types `'1'`..`'4'`
//! (creation, top-up, payment, drain) with positive amounts, an overdraft *flag* per card,
//! bcrypt password hashes (`$2y$`), and ships a `default` user with the card `OHCEE7UH` and
//! rights 3 whose password is public.

use std::collections::BTreeMap;
use std::str::FromStr;

use ardoise_domain::ports::StaffUser;
use ardoise_domain::{
    CardId, ImportInput, ImportedCard, Login, Money, MoneyError, Policy, Product, Rights,
    Transaction, TransactionId, TransactionKind,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use crate::source::{ColumnReader, Table, Tables};

/// The login of 10p5's seeded account, and its card.
pub const SEEDED_LOGIN: &str = "default";
pub const SEEDED_CARD: &str = "OHCEE7UH";

/// The author recorded on a transaction whose `utilisateur` is NULL.
pub const UNKNOWN_AUTHOR: &str = "10p5";

/// The password hash of a user who cannot log in with a password (none, or not a hash).
const NO_PASSWORD: &str = "!";

/// The rows, parsed, and what the operator must know.
#[derive(Debug, Clone, Default)]
pub struct Converted {
    pub input: ImportInput,
    /// Amounts further than 0.001 from a whole cent, each with the cent it was rounded to.
    pub roundings: Vec<String>,
    pub warnings: Vec<String>,
}

/// Parses 10p5's tables. Every problem is listed at once; an amount off the cent is one only
/// without `accept_rounding` (with it, it is rounded to the nearest cent and listed in
/// `roundings`).
pub fn convert(
    tables: &Tables,
    policy: &Policy,
    accept_rounding: bool,
) -> Result<Converted, Vec<String>> {
    let mut c = Conversion {
        out: Converted::default(),
        problems: Vec::new(),
    };
    c.clients(&tables.clients, policy);
    let products = c.prices(&tables.prices);
    c.transactions(&tables.transactions, &products);
    c.users(&tables.users);
    if !accept_rounding && !c.out.roundings.is_empty() {
        c.problems.extend(
            c.out.roundings.iter().map(|r| {
                format!("{r} (run again with --accept-rounding to import it at that cent)")
            }),
        );
    }
    if c.problems.is_empty() {
        Ok(c.out)
    } else {
        Err(c.problems)
    }
}

struct Conversion {
    out: Converted,
    problems: Vec<String>,
}

impl Conversion {
    fn reader(&mut self, table: &Table, columns: &[&str]) -> Option<ColumnReader> {
        table
            .reader(columns)
            .map_err(|e| self.problems.push(e))
            .ok()
    }

    /// A FLOAT amount: the cent it is within 0.001 of, or the nearest cent recorded as a
    /// rounding. `None` (and a problem) for text that is no number at all.
    fn amount(&mut self, text: &str, at: &str) -> Option<Money> {
        let value = match Decimal::from_str(text).or_else(|_| Decimal::from_scientific(text)) {
            Ok(v) => v,
            Err(_) => {
                self.problems
                    .push(format!("{at}: `{text}` is not an amount"));
                return None;
            }
        };
        match Money::from_legacy_float(value) {
            Ok(m) => Some(m),
            Err(MoneyError::NotACent(_)) => match Money::nearest_cent(value) {
                Ok(m) => {
                    self.out.roundings.push(format!(
                        "{at}: {text} is not within 0.001 of a whole cent (nearest: {m})"
                    ));
                    Some(m)
                }
                Err(e) => {
                    self.problems.push(format!("{at}: {e}"));
                    None
                }
            },
            Err(e) => {
                self.problems.push(format!("{at}: {e}"));
                None
            }
        }
    }

    fn clients(&mut self, table: &Table, policy: &Policy) {
        let Some(r) = self.reader(table, &["idCarte", "solde", "decouvert"]) else {
            return;
        };
        for row in &table.rows {
            let raw_id = r.get(row, "idCarte").unwrap_or_default();
            let at = format!("Clients `{raw_id}`");
            let id = match CardId::parse(raw_id) {
                Ok(id) => id,
                Err(e) => {
                    self.problems.push(format!("{at}: {e}"));
                    continue;
                }
            };
            let balance = match r.get(row, "solde") {
                Some(text) => self.amount(text, &format!("{at} solde")),
                None => {
                    self.out
                        .warnings
                        .push(format!("{at}: no balance (NULL), imported at 0"));
                    Some(Money::ZERO)
                }
            };
            let overdraft = match flag(r.get(row, "decouvert")) {
                Ok(f) => f,
                Err(e) => {
                    self.problems.push(format!("{at} decouvert: {e}"));
                    continue;
                }
            };
            if let Some(balance) = balance {
                self.out.input.cards.push(ImportedCard {
                    id,
                    balance,
                    overdraft_limit: policy.overdraft_limit(overdraft),
                });
            }
        }
    }

    fn prices(&mut self, table: &Table) -> Vec<String> {
        let Some(r) = self.reader(table, &["produit", "prix"]) else {
            return Vec::new();
        };
        let mut names = Vec::new();
        for row in &table.rows {
            let Some(name) = r.get(row, "produit") else {
                self.problems
                    .push("Prix: a product without a name (NULL)".into());
                continue;
            };
            let at = format!("Prix `{name}`");
            if !Product::valid_name(name) {
                self.problems.push(format!(
                    "{at}: a product name is 1 to 64 printable characters"
                ));
                continue;
            }
            let Some(text) = r.get(row, "prix") else {
                self.problems.push(format!("{at}: no price (NULL)"));
                continue;
            };
            let Some(price) = self.amount(text, &format!("{at} prix")) else {
                continue;
            };
            names.push(name.to_owned());
            self.out.input.products.push(Product {
                name: name.to_owned(),
                unit_price: price,
                bundles: BTreeMap::new(),
                category: None,
            });
        }
        names
    }

    fn transactions(&mut self, table: &Table, products: &[String]) {
        let columns = [
            "id",
            "type",
            "client",
            "date",
            "montant",
            "quantite",
            "utilisateur",
            "valide",
        ];
        let Some(r) = self.reader(table, &columns) else {
            return;
        };
        // 10p5 priced a payment by quantity with its (only) product: name it when there is
        // exactly one.
        let product = match products {
            [one] => Some(one.clone()),
            _ => None,
        };
        for row in &table.rows {
            let raw_id = r.get(row, "id").unwrap_or_default();
            let at = format!("Transactions {raw_id}");
            let Some(id) = raw_id.parse::<i64>().ok().filter(|i| *i > 0) else {
                self.problems
                    .push(format!("{at}: `{raw_id}` is not a transaction id"));
                continue;
            };
            let raw_kind = r.get(row, "type").unwrap_or_default().trim();
            let kind = match raw_kind {
                "1" | "2" | "3" | "4" => raw_kind
                    .parse::<i64>()
                    .ok()
                    .and_then(TransactionKind::from_code),
                _ => None,
            };
            let Some(kind) = kind else {
                self.problems.push(format!(
                    "{at}: type `{raw_kind}` is none of 10p5's 1 (creation), 2 (top-up), \
                     3 (payment), 4 (drain)"
                ));
                continue;
            };
            let card = match CardId::parse(r.get(row, "client").unwrap_or_default()) {
                Ok(card) => card,
                Err(e) => {
                    self.problems.push(format!("{at} client: {e}"));
                    continue;
                }
            };
            let created_at = match date(r.get(row, "date")) {
                Ok(d) => d,
                Err(e) => {
                    self.problems.push(format!("{at} date: {e}"));
                    continue;
                }
            };
            let Some(text) = r.get(row, "montant") else {
                self.problems.push(format!("{at}: no amount (NULL)"));
                continue;
            };
            let Some(amount) = self.amount(text, &format!("{at} montant")) else {
                continue;
            };
            let quantity = match r.get(row, "quantite") {
                None => 0,
                Some(q) => match q.parse::<u32>() {
                    Ok(q) => q,
                    Err(_) => {
                        self.problems
                            .push(format!("{at}: quantity `{q}` is not a whole number ≥ 0"));
                        continue;
                    }
                },
            };
            let author = match r.get(row, "utilisateur") {
                None => UNKNOWN_AUTHOR.to_owned(),
                Some(login) => match Login::parse(login) {
                    Ok(l) => l.to_string(),
                    Err(e) => {
                        self.problems.push(format!("{at} utilisateur: {e}"));
                        continue;
                    }
                },
            };
            let valid = match flag(r.get(row, "valide").or(Some("1"))) {
                Ok(v) => v,
                Err(e) => {
                    self.problems.push(format!("{at} valide: {e}"));
                    continue;
                }
            };
            self.out.input.transactions.push(Transaction {
                id: TransactionId(id),
                kind,
                card,
                amount,
                quantity,
                product: (kind == TransactionKind::Payment && quantity > 0)
                    .then(|| product.clone())
                    .flatten(),
                valid,
                author,
                created_at,
            });
        }
    }

    fn users(&mut self, table: &Table) {
        let Some(r) = self.reader(table, &["login", "mdp", "idCarte", "droit"]) else {
            return;
        };
        for row in &table.rows {
            let raw_login = r.get(row, "login").unwrap_or_default();
            let at = format!("Utilisateurs `{raw_login}`");
            let login = match Login::parse(raw_login) {
                Ok(l) => l,
                Err(e) => {
                    self.problems.push(format!("{at}: {e}"));
                    continue;
                }
            };
            let card = match r.get(row, "idCarte").filter(|c| !c.is_empty()) {
                None => None,
                Some(c) => match CardId::parse(c) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        self.problems.push(format!("{at} idCarte: {e}"));
                        continue;
                    }
                },
            };
            let level = r.get(row, "droit").unwrap_or("0");
            let Some(rights) = level.parse::<i64>().ok().and_then(Rights::from_level) else {
                self.problems
                    .push(format!("{at}: rights `{level}` are not 0 to 3"));
                continue;
            };
            let password_hash = match r.get(row, "mdp") {
                Some(h) if ardoise_auth::password::is_legacy_hash(h) && h.len() == 60 => {
                    h.to_owned()
                }
                Some(h) if !h.is_empty() => {
                    self.out.warnings.push(format!(
                        "{at}: the password is not a bcrypt hash and is not imported: \
                         the user logs in by staff card only until a password is set"
                    ));
                    NO_PASSWORD.to_owned()
                }
                _ => {
                    self.out.warnings.push(format!(
                        "{at}: no password: the user logs in by staff card only until one \
                         is set"
                    ));
                    NO_PASSWORD.to_owned()
                }
            };
            let seeded = login.as_str() == SEEDED_LOGIN
                || card.as_ref().is_some_and(|c| c.as_str() == SEEDED_CARD);
            if seeded {
                self.out.warnings.push(format!(
                    "{at}: 10p5's seeded account (login `{SEEDED_LOGIN}`, card {SEEDED_CARD}, \
                     a public password) is a known way in: imported DISABLED; give its rights \
                     to a named person instead"
                ));
            }
            self.out.input.users.push(StaffUser {
                login,
                rights,
                card,
                password_hash,
                active: !seeded,
            });
        }
    }
}

/// A tinyint(1) flag: `0` false, any other integer true, NULL false.
fn flag(text: Option<&str>) -> Result<bool, String> {
    match text {
        None => Ok(false),
        Some(t) => t
            .trim()
            .parse::<i64>()
            .map(|n| n != 0)
            .map_err(|_| format!("`{t}` is not 0 or 1")),
    }
}

/// A TIMESTAMP as read in UTC (`2016-04-11 10:00:00`, fractions allowed).
fn date(text: Option<&str>) -> Result<DateTime<Utc>, String> {
    let text = text.ok_or("no date (NULL)")?;
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .map(|d| d.and_utc())
        .map_err(|_| format!("`{text}` is not a date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, columns: &[&str], rows: &[&[Option<&str>]]) -> Table {
        Table {
            name: name.into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| c.map(str::to_owned)).collect())
                .collect(),
        }
    }

    fn tables(clients: &[&[Option<&str>]], transactions: &[&[Option<&str>]]) -> Tables {
        Tables {
            clients: table("Clients", &["idCarte", "solde", "decouvert"], clients),
            prices: table(
                "Prix",
                &["produit", "prix"],
                &[&[Some("biere"), Some("1.8")]],
            ),
            transactions: table(
                "Transactions",
                &[
                    "id",
                    "type",
                    "client",
                    "date",
                    "montant",
                    "quantite",
                    "utilisateur",
                    "valide",
                ],
                transactions,
            ),
            users: table(
                "Utilisateurs",
                &["login", "mdp", "idCarte", "droit"],
                &[
                    &[
                        Some("default"),
                        Some("$2y$10$rc6Cht/F2DM4grcOcRAGBOtd.BD56kJgkC/IiGcnV6Oqa8hjRCxSW"),
                        Some("OHCEE7UH"),
                        Some("3"),
                    ],
                    &[Some("bde"), Some("plaintext"), None, Some("1")],
                ],
            ),
        }
    }

    #[test]
    fn converts_through_the_domain_parsers() {
        let t = tables(
            &[
                &[Some("ahs0diex"), Some("15.800000190734863"), Some("0")],
                &[Some("deadbeef"), Some("-2.5"), Some("1")],
            ],
            &[
                &[
                    Some("2"),
                    Some("3"),
                    Some("ahs0diex"),
                    Some("2016-04-11 10:01:00"),
                    Some("3.5999999046325684"),
                    Some("2"),
                    Some("default"),
                    Some("0"),
                ],
                &[
                    Some("1"),
                    Some("1 "),
                    Some("ahs0diex"),
                    Some("2016-04-11 10:00:00"),
                    Some("20"),
                    None,
                    None,
                    None,
                ],
            ],
        );
        let c = convert(&t, &Policy::default(), false).unwrap();
        let cards = &c.input.cards;
        assert_eq!(
            cards[0].id.as_str(),
            "ahs0diex",
            "printed ids keep their case"
        );
        assert_eq!(cards[0].balance, Money::from_cents(1580));
        assert_eq!(cards[0].overdraft_limit, Money::ZERO);
        assert_eq!(cards[1].id.as_str(), "DEADBEEF", "NFC UIDs are upper-cased");
        assert_eq!(cards[1].overdraft_limit, Money::from_cents(5000));
        let pay = &c.input.transactions[0];
        assert_eq!(pay.kind, TransactionKind::Payment);
        assert_eq!((pay.amount, pay.quantity), (Money::from_cents(360), 2));
        assert_eq!(pay.product.as_deref(), Some("biere"));
        assert!(!pay.valid);
        let open = &c.input.transactions[1];
        assert_eq!(open.kind, TransactionKind::Creation);
        assert_eq!((open.author.as_str(), open.valid), (UNKNOWN_AUTHOR, true));
        assert_eq!(open.created_at.timestamp(), 1_460_368_800);
        let users = &c.input.users;
        assert!(!users[0].active, "the seeded account is disabled");
        assert_eq!(users[0].rights, Rights::President);
        assert!(users[0].password_hash.starts_with("$2y$10$"));
        assert_eq!(
            users[1].password_hash, NO_PASSWORD,
            "never a plain password"
        );
        assert!(c.warnings.iter().any(|w| w.contains("imported DISABLED")));
        assert!(c.roundings.is_empty());
    }

    #[test]
    fn off_cent_amounts_stop_unless_accepted_and_every_problem_is_listed() {
        let t = tables(
            &[
                &[Some("CAFE0001"), Some("2.3450000286102295"), Some("0")],
                &[Some("bad id!"), Some("1"), Some("0")],
                &[Some("CAFE0002"), Some("abc"), Some("2x")],
            ],
            &[&[
                Some("1"),
                Some("9"),
                Some("CAFE0001"),
                Some("0000-00-00 00:00:00"),
                Some("1"),
                Some("-1"),
                Some("x y"),
                Some("1"),
            ]],
        );
        let problems = convert(&t, &Policy::default(), false).unwrap_err();
        let all = problems.join("\n");
        for expected in [
            "Clients `CAFE0001` solde: 2.3450000286102295 is not within 0.001 of a whole cent \
             (nearest: 2.35)",
            "--accept-rounding",
            "Clients `bad id!`",
            "Clients `CAFE0002` solde: `abc` is not an amount",
            "Clients `CAFE0002` decouvert: `2x` is not 0 or 1",
            "Transactions 1: type `9` is none of 10p5's",
        ] {
            assert!(all.contains(expected), "{expected} not in\n{all}");
        }
        let mut fixed = t.clone();
        fixed.clients.rows.truncate(1);
        fixed.transactions.rows.clear();
        let c = convert(&fixed, &Policy::default(), true).unwrap();
        assert_eq!(c.input.cards[0].balance, Money::from_cents(235));
        assert_eq!(c.roundings.len(), 1);
    }
}
