//! Reading a `mysqldump` (or `mariadb-dump`) file with a real SQL parser (`sqlparser`, MySQL
//! dialect): the `CREATE TABLE` statements give each table's columns, the `INSERT` statements
//! its rows. Every other statement of a dump (`SET`, `LOCK TABLES`, `DROP TABLE`…) and the
//! version comments (`/*!40101 … */`) are skipped.

use sqlparser::ast::{Expr, ObjectName, SetExpr, Statement, TableObject, UnaryOperator, Value};
use sqlparser::dialect::MySqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::source::{Table, Tables, CLIENTS, PRICES, TRANSACTIONS, USERS};

/// Reads the 10p5 tables from the text of a dump.
pub fn read(text: &str) -> Result<Tables, String> {
    let dialect = MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| format!("the dump is not SQL: {e}"))?;
    let mut tables = Tables::default();
    let mut statement: Vec<TokenWithSpan> = Vec::new();
    for token in tokens {
        if token.token == Token::SemiColon {
            read_statement(&dialect, std::mem::take(&mut statement), &mut tables)?;
        } else if !matches!(token.token, Token::Whitespace(_)) || !statement.is_empty() {
            statement.push(token);
        }
    }
    read_statement(&dialect, statement, &mut tables)?;
    for (table, name) in [
        (&tables.clients, CLIENTS),
        (&tables.prices, PRICES),
        (&tables.transactions, TRANSACTIONS),
        (&tables.users, USERS),
    ] {
        if table.columns.is_empty() {
            return Err(format!(
                "the dump has no CREATE TABLE {name}: is it a dump of a 10p5 database?"
            ));
        }
    }
    Ok(tables)
}

/// The first keyword of a statement, skipping comments.
fn first_keyword(tokens: &[TokenWithSpan]) -> Option<Keyword> {
    tokens.iter().find_map(|t| match &t.token {
        Token::Whitespace(Whitespace::Space | Whitespace::Newline | Whitespace::Tab) => None,
        Token::Whitespace(_) => None,
        Token::Word(w) => Some(w.keyword),
        _ => Some(Keyword::NoKeyword),
    })
}

fn read_statement(
    dialect: &MySqlDialect,
    tokens: Vec<TokenWithSpan>,
    tables: &mut Tables,
) -> Result<(), String> {
    if !matches!(
        first_keyword(&tokens),
        Some(Keyword::CREATE | Keyword::INSERT)
    ) {
        return Ok(());
    }
    let line = tokens.first().map_or(0, |t| t.span.start.line);
    let statement = Parser::new(dialect)
        .with_tokens_with_locations(tokens)
        .parse_statement()
        .map_err(|e| format!("line {line} of the dump: {e}"))?;
    match statement {
        Statement::CreateTable(create) => {
            if let Some(table) = table_of(tables, &create.name) {
                let columns = create
                    .columns
                    .iter()
                    .map(|c| c.name.value.clone())
                    .collect();
                *table = Table::new(&table.name, columns);
            }
        }
        Statement::Insert(insert) => {
            let TableObject::TableName(name) = &insert.table else {
                return Ok(());
            };
            let Some(table) = table_of(tables, name) else {
                return Ok(());
            };
            if table.columns.is_empty() {
                return Err(format!(
                    "line {line} of the dump: INSERT INTO {} before its CREATE TABLE",
                    table.name
                ));
            }
            // An explicit column list (`mysqldump --complete-insert`) reorders the values.
            let order: Vec<usize> = if insert.columns.is_empty() {
                (0..table.columns.len()).collect()
            } else {
                let mut order = Vec::with_capacity(insert.columns.len());
                for column in &insert.columns {
                    let name = column.to_string().trim_matches('`').to_ascii_lowercase();
                    let i = table
                        .columns
                        .iter()
                        .position(|c| c.to_ascii_lowercase() == name)
                        .ok_or_else(|| {
                            format!("line {line}: table {} has no column {name}", table.name)
                        })?;
                    order.push(i);
                }
                order
            };
            let Some(SetExpr::Values(values)) = insert.source.as_ref().map(|q| q.body.as_ref())
            else {
                return Err(format!(
                    "line {line} of the dump: only INSERT … VALUES is understood"
                ));
            };
            for row in &values.rows {
                if row.content.len() != order.len() {
                    return Err(format!(
                        "line {line} of the dump: a row of {} has {} values for {} columns",
                        table.name,
                        row.content.len(),
                        order.len()
                    ));
                }
                let mut cells = vec![None; table.columns.len()];
                for (expr, i) in row.content.iter().zip(&order) {
                    cells[*i] = cell(expr).map_err(|e| format!("line {line}: {e}"))?;
                }
                table.rows.push(cells);
            }
        }
        _ => {}
    }
    Ok(())
}

/// The table of `tables` that `name` names (the last part, `db`.`table` included), if it
/// is one of 10p5's imported tables.
fn table_of<'t>(tables: &'t mut Tables, name: &ObjectName) -> Option<&'t mut Table> {
    let last = name.0.last()?.as_ident()?.value.clone();
    let found = [
        (CLIENTS, &mut tables.clients),
        (PRICES, &mut tables.prices),
        (TRANSACTIONS, &mut tables.transactions),
        (USERS, &mut tables.users),
    ]
    .into_iter()
    .find(|(n, _)| n.eq_ignore_ascii_case(&last))?;
    let (n, table) = found;
    if table.name.is_empty() {
        table.name = n.to_owned();
    }
    Some(table)
}

/// The text of a literal, as the database would give it; `None` for `NULL`.
fn cell(expr: &Expr) -> Result<Option<String>, String> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Null => Ok(None),
            Value::Number(n, _) => Ok(Some(n.to_string())),
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Ok(Some(s.clone())),
            Value::Boolean(b) => Ok(Some(if *b { "1" } else { "0" }.to_owned())),
            other => Err(format!("unexpected value {other} in the dump")),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match cell(expr)? {
            Some(n) if !n.starts_with('-') => Ok(Some(format!("-{n}"))),
            _ => Err(format!("unexpected value {expr} in the dump")),
        },
        other => Err(format!("unexpected value {other} in the dump")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"
-- MariaDB dump 10.19
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40103 SET TIME_ZONE='+00:00' */;
DROP TABLE IF EXISTS `Clients`;
CREATE TABLE `Clients` (
  `idCarte` char(8) NOT NULL,
  `solde` float(7,2) DEFAULT NULL,
  `decouvert` tinyint(1) DEFAULT 0,
  PRIMARY KEY (`idCarte`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;
LOCK TABLES `Clients` WRITE;
/*!40000 ALTER TABLE `Clients` DISABLE KEYS */;
INSERT INTO `Clients` VALUES ('AHS0DIEX',15.80,0),('CAFE0001',-2.50,1),('CAFE0002',NULL,NULL);
UNLOCK TABLES;
CREATE TABLE `Prix` (`produit` char(30) DEFAULT NULL, `prix` float(7,2) DEFAULT NULL);
INSERT INTO `Prix` (`prix`, `produit`) VALUES (1.80,'bi\'ère; pression');
CREATE TABLE `Transactions` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `type` char(15) DEFAULT NULL,
  `client` char(8) DEFAULT NULL,
  `date` timestamp NOT NULL DEFAULT current_timestamp(),
  `montant` float(7,2) DEFAULT NULL,
  `quantite` int(2) DEFAULT NULL,
  `utilisateur` char(30) DEFAULT NULL,
  `valide` tinyint(1) DEFAULT 1,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb3;
INSERT INTO `Transactions` VALUES (1,'1','AHS0DIEX','2016-04-11 10:00:00',20.00,0,'default',1);
CREATE TABLE `Utilisateurs` (`login` char(30) NOT NULL, `mdp` char(255), `idCarte` char(8), `droit` int(11) DEFAULT 0, PRIMARY KEY (`login`));
CREATE TABLE `Sessions` (`jeton` char(30) NOT NULL);
INSERT INTO `Sessions` VALUES ('x');
"#;

    #[test]
    fn reads_columns_and_rows_skipping_the_rest() {
        let t = read(DUMP).unwrap();
        assert_eq!(t.clients.columns, ["idCarte", "solde", "decouvert"]);
        assert_eq!(
            t.clients.rows,
            vec![
                vec![
                    Some("AHS0DIEX".into()),
                    Some("15.80".into()),
                    Some("0".into())
                ],
                vec![
                    Some("CAFE0001".into()),
                    Some("-2.50".into()),
                    Some("1".into())
                ],
                vec![Some("CAFE0002".into()), None, None],
            ]
        );
        // A column list reorders; backslash escapes and semicolons in strings are text.
        assert_eq!(
            t.prices.rows,
            vec![vec![Some("bi'ère; pression".into()), Some("1.80".into())]]
        );
        assert_eq!(
            t.transactions.rows[0][3].as_deref(),
            Some("2016-04-11 10:00:00")
        );
        assert!(t.users.rows.is_empty());
    }

    #[test]
    fn a_dump_of_something_else_is_refused() {
        let e = read("CREATE TABLE foo (a int); INSERT INTO foo VALUES (1);").unwrap_err();
        assert!(e.contains("no CREATE TABLE Clients"), "{e}");
        let e = read("INSERT INTO Clients VALUES ('A', 1, 0);").unwrap_err();
        assert!(e.contains("before its CREATE TABLE"), "{e}");
        let e =
            read("CREATE TABLE Clients (a int); INSERT INTO Clients VALUES (1, 2);").unwrap_err();
        assert!(e.contains("2 values for 1 columns"), "{e}");
    }
}
