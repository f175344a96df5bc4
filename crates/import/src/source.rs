//! The old system's tables as read, before any value is interpreted: every cell is the text
//! the database (or its dump) gives, or `None` for SQL `NULL`.

use std::collections::HashMap;

/// One table: its column names and its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    /// A table with these columns and no rows.
    pub fn new(name: &str, columns: Vec<String>) -> Table {
        Table {
            name: name.to_owned(),
            columns,
            rows: Vec::new(),
        }
    }

    /// Reads the cells of a row by column name (case-insensitive, as MySQL's column names).
    pub fn reader(&self, wanted: &[&str]) -> Result<ColumnReader, String> {
        let by_name: HashMap<String, usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_ascii_lowercase(), i))
            .collect();
        let mut index = HashMap::new();
        for name in wanted {
            let Some(i) = by_name.get(&name.to_ascii_lowercase()) else {
                return Err(format!(
                    "table {} has no column `{name}` (columns: {})",
                    self.name,
                    self.columns.join(", ")
                ));
            };
            index.insert((*name).to_owned(), *i);
        }
        Ok(ColumnReader { index })
    }
}

/// The position of each needed column in a table's rows.
#[derive(Debug, Clone)]
pub struct ColumnReader {
    index: HashMap<String, usize>,
}

impl ColumnReader {
    /// The cell of `column` in `row` (`None` for NULL or a short row).
    pub fn get<'r>(&self, row: &'r [Option<String>], column: &str) -> Option<&'r str> {
        self.index
            .get(column)
            .and_then(|i| row.get(*i))
            .and_then(|cell| cell.as_deref())
    }
}

/// The four tables of 10p5 that are imported (`Sessions` is not: sessions do not move).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tables {
    pub clients: Table,
    pub prices: Table,
    pub transactions: Table,
    pub users: Table,
}

/// The names of the tables, as 10p5 spells them.
pub const CLIENTS: &str = "Clients";
pub const PRICES: &str = "Prix";
pub const TRANSACTIONS: &str = "Transactions";
pub const USERS: &str = "Utilisateurs";
