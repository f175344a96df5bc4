//! Reading a live 10p5 database (MySQL or MariaDB) with the pure-Rust `mysql` client, in one
//! read-only transaction (a consistent snapshot, nothing written), in UTC.

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, Value};

use crate::source::{Table, Tables, CLIENTS, PRICES, TRANSACTIONS, USERS};

/// What is read from each table. FLOAT columns are read as DOUBLE (`+ 0E0`): the full value
/// the column holds (15.800000190734863 for a FLOAT(7,2) 15.80), which the import rounds to
/// the cent it is within 0.001 of — or lists when it is not.
const QUERIES: [(&str, &str, &[&str]); 4] = [
    (
        CLIENTS,
        "SELECT idCarte, solde + 0E0, decouvert FROM Clients ORDER BY idCarte",
        &["idCarte", "solde", "decouvert"],
    ),
    (
        PRICES,
        "SELECT produit, prix + 0E0 FROM Prix",
        &["produit", "prix"],
    ),
    (
        TRANSACTIONS,
        "SELECT id, type, client, date, montant + 0E0, quantite, utilisateur, valide \
         FROM Transactions ORDER BY id",
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
    ),
    (
        USERS,
        "SELECT login, mdp, idCarte, droit FROM Utilisateurs ORDER BY login",
        &["login", "mdp", "idCarte", "droit"],
    ),
];

/// Reads the 10p5 tables from the database at `url` (`mysql://user:password@host:port/db`).
pub fn read(url: &str) -> Result<Tables, String> {
    let opts = Opts::from_url(url).map_err(|e| format!("invalid MySQL URL: {e}"))?;
    let mut conn = Conn::new(opts).map_err(|e| format!("cannot connect to MySQL: {e}"))?;
    // TIMESTAMP columns are shown in the session's time zone: read them in UTC.
    conn.query_drop("SET time_zone = '+00:00'")
        .and_then(|()| conn.query_drop("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT"))
        .map_err(|e| format!("cannot open a read-only transaction: {e}"))?;
    let mut tables = Tables::default();
    for (name, query, columns) in QUERIES {
        let mut table = Table::new(name, columns.iter().map(|c| (*c).to_owned()).collect());
        let result = conn
            .query_iter(query)
            .map_err(|e| format!("cannot read table {name}: {e}"))?;
        for row in result {
            let row = row.map_err(|e| format!("cannot read table {name}: {e}"))?;
            let cells = row
                .unwrap()
                .into_iter()
                .map(|v| text(v).map_err(|e| format!("table {name}: {e}")))
                .collect::<Result<Vec<_>, String>>()?;
            table.rows.push(cells);
        }
        match name {
            CLIENTS => tables.clients = table,
            PRICES => tables.prices = table,
            TRANSACTIONS => tables.transactions = table,
            _ => tables.users = table,
        }
    }
    conn.query_drop("ROLLBACK")
        .map_err(|e| format!("cannot close the read-only transaction: {e}"))?;
    Ok(tables)
}

/// A text-protocol value as text: every non-NULL value arrives as bytes.
fn text(value: Value) -> Result<Option<String>, String> {
    match value {
        Value::NULL => Ok(None),
        Value::Bytes(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| format!("a value is not UTF-8: {e}")),
        Value::Int(i) => Ok(Some(i.to_string())),
        Value::UInt(u) => Ok(Some(u.to_string())),
        Value::Float(f) => Ok(Some(f.to_string())),
        Value::Double(d) => Ok(Some(d.to_string())),
        other => Err(format!("unexpected value {other:?}")),
    }
}
