//! The products sold by quantity, with their bundle prices, and their categories.
//!
//! A product names its category (`products.category`); the database keeps that name pointing
//! at an existing category (a foreign key with `ON UPDATE CASCADE ON DELETE SET NULL` on
//! PostgreSQL, triggers with the same effect on SQLite), so a rename or a deletion racing with
//! a product's change can never leave a dangling category.

use ardoise_domain::ports::Catalog;
use ardoise_domain::{Category, DomainError, Product};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use diesel::sqlite::SqliteConnection;

use crate::db::with_conn;
use crate::error::Failure;
use crate::rows::{millis, time, BundleRow, ProductRow};
use crate::schema::{categories, products};
use crate::sql::{Dialect, Sql};
use crate::Store;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = categories)]
struct CategoryRow {
    id: i64,
    name: String,
    created_at: i64,
}

impl CategoryRow {
    fn into_category(self) -> Result<Category, Failure> {
        Ok(Category {
            id: self.id,
            name: self.name,
            created_at: time(self.created_at)?,
        })
    }
}

/// The statements of this file, identical on both backends.
trait CatalogSql: Dialect + Sized {
    fn insert_product(&mut self, row: &ProductRow) -> QueryResult<()>;
    fn update_product_row(&mut self, row: &ProductRow) -> QueryResult<usize>;
    fn delete_product_row(&mut self, name: &str) -> QueryResult<usize>;
    fn all_categories(&mut self) -> QueryResult<Vec<CategoryRow>>;
    fn find_category(&mut self, id: i64) -> QueryResult<Option<CategoryRow>>;
    fn category_named(&mut self, name: &str) -> QueryResult<Option<CategoryRow>>;
    fn insert_category(&mut self, name: &str, at_ms: i64) -> QueryResult<i64>;
    fn rename_category_row(&mut self, id: i64, name: &str) -> QueryResult<usize>;
    fn delete_category_row(&mut self, id: i64) -> QueryResult<usize>;
}

macro_rules! impl_catalog_sql {
    ($conn:ty) => {
        impl CatalogSql for $conn {
            fn insert_product(&mut self, row: &ProductRow) -> QueryResult<()> {
                diesel::insert_into(products::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn update_product_row(&mut self, row: &ProductRow) -> QueryResult<usize> {
                diesel::update(products::table.find(&row.name))
                    .set((
                        products::unit_price_cents.eq(row.unit_price_cents),
                        products::category.eq(&row.category),
                    ))
                    .execute(self)
            }

            fn delete_product_row(&mut self, name: &str) -> QueryResult<usize> {
                diesel::delete(products::table.find(name)).execute(self)
            }

            fn all_categories(&mut self) -> QueryResult<Vec<CategoryRow>> {
                categories::table
                    .order(categories::name)
                    .select(CategoryRow::as_select())
                    .load(self)
            }

            fn find_category(&mut self, id: i64) -> QueryResult<Option<CategoryRow>> {
                categories::table
                    .find(id)
                    .select(CategoryRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn category_named(&mut self, name: &str) -> QueryResult<Option<CategoryRow>> {
                categories::table
                    .filter(categories::name.eq(name))
                    .select(CategoryRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn insert_category(&mut self, name: &str, at_ms: i64) -> QueryResult<i64> {
                diesel::insert_into(categories::table)
                    .values((categories::name.eq(name), categories::created_at.eq(at_ms)))
                    .returning(categories::id)
                    .get_result(self)
            }

            fn rename_category_row(&mut self, id: i64, name: &str) -> QueryResult<usize> {
                diesel::update(categories::table.find(id))
                    .set(categories::name.eq(name))
                    .execute(self)
            }

            fn delete_category_row(&mut self, id: i64) -> QueryResult<usize> {
                diesel::delete(categories::table.find(id)).execute(self)
            }
        }
    };
}

impl_catalog_sql!(SqliteConnection);
impl_catalog_sql!(PgConnection);

/// What a constraint violation on the catalog means to the caller: a name taken by a racing
/// request, or a category deleted under a product's change.
fn catalog_conflict(e: DieselError, taken: DomainError) -> Failure {
    match &e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            Failure::Refused(taken)
        }
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
            Failure::Refused(DomainError::UnknownCategory)
        }
        DieselError::DatabaseError(_, info) if info.message().contains("products.category") => {
            Failure::Refused(DomainError::UnknownCategory)
        }
        _ => Failure::Db(e),
    }
}

/// `UnknownCategory` unless the product's category, if any, exists.
fn check_category<C: CatalogSql>(conn: &mut C, row: &ProductRow) -> Result<(), Failure> {
    if let Some(name) = &row.category {
        if conn.category_named(name)?.is_none() {
            return Err(Failure::Refused(DomainError::UnknownCategory));
        }
    }
    Ok(())
}

fn products(rows: Vec<ProductRow>, bundles: &[BundleRow]) -> Result<Vec<Product>, Failure> {
    rows.into_iter().map(|p| p.into_product(bundles)).collect()
}

#[async_trait]
impl Catalog for Store {
    async fn product(&self, name: &str) -> Result<Option<Product>, DomainError> {
        // A payment by quantity prices its product: from the cached list when it is fresh.
        if let Some(all) = self.catalog_cache().products(Instant::now()) {
            return Ok(all.iter().find(|p| p.name == name).cloned());
        }
        let name = name.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| match conn.find_product(&name)? {
                Some(row) => {
                    let bundles = conn.bundles(Some(&name))?;
                    row.into_product(&bundles).map(Some)
                }
                None => Ok(None),
            })
        })
        .await
    }

    async fn products(&self) -> Result<Vec<Product>, DomainError> {
        let cache = self.catalog_cache();
        let started = Instant::now();
        if let Some(all) = cache.products(started) {
            return Ok(all.as_ref().clone());
        }
        let seen = cache.generation();
        let all = self
            .blocking(|db| {
                with_conn!(db, |conn| {
                    let rows = conn.all_products()?;
                    let bundles = conn.bundles(None)?;
                    products(rows, &bundles)
                })
            })
            .await?;
        cache.put_products(Arc::new(all.clone()), started, seen);
        Ok(all)
    }

    async fn set_product(&self, product: Product) -> Result<(), DomainError> {
        let negative = product.unit_price.cents() < 0
            || product.bundles.values().any(|price| price.cents() < 0);
        if negative {
            return Err(DomainError::malformed("a price cannot be negative"));
        }
        if product.bundles.contains_key(&0) {
            return Err(DomainError::malformed(
                "a bundle needs a quantity of at least 1",
            ));
        }
        let (row, bundles) = ProductRow::from_product(&product);
        let written = self
            .blocking(move |db| {
                with_conn!(db, |conn| conn.write_transaction(|conn| {
                    check_category(conn, &row)?;
                    conn.upsert_product(&row)
                        .map_err(|e| catalog_conflict(e, DomainError::ProductExists))?;
                    conn.replace_bundles(&row.name, &bundles)?;
                    Ok::<_, Failure>(())
                }))
            })
            .await;
        self.catalog_cache().forget();
        written
    }

    async fn add_product(&self, product: Product) -> Result<(), DomainError> {
        let (row, bundles) = ProductRow::from_product(&product);
        let written = self
            .blocking(move |db| {
                with_conn!(db, |conn| conn.write_transaction(|conn| {
                    if conn.find_product(&row.name)?.is_some() {
                        return Err(Failure::Refused(DomainError::ProductExists));
                    }
                    check_category(conn, &row)?;
                    conn.insert_product(&row)
                        .map_err(|e| catalog_conflict(e, DomainError::ProductExists))?;
                    conn.replace_bundles(&row.name, &bundles)?;
                    Ok(())
                }))
            })
            .await;
        self.catalog_cache().forget();
        written
    }

    async fn update_product(&self, product: Product) -> Result<(), DomainError> {
        let (row, bundles) = ProductRow::from_product(&product);
        let written = self
            .blocking(move |db| {
                with_conn!(db, |conn| conn.write_transaction(|conn| {
                    check_category(conn, &row)?;
                    let rows = conn
                        .update_product_row(&row)
                        .map_err(|e| catalog_conflict(e, DomainError::ProductExists))?;
                    if rows == 0 {
                        return Err(Failure::Refused(DomainError::UnknownProduct));
                    }
                    conn.replace_bundles(&row.name, &bundles)?;
                    Ok(())
                }))
            })
            .await;
        self.catalog_cache().forget();
        written
    }

    async fn delete_product(&self, name: &str) -> Result<bool, DomainError> {
        let name = name.to_owned();
        let written = self
            .blocking(move |db| {
                with_conn!(db, |conn| conn.write_transaction(|conn| {
                    Ok::<_, Failure>(conn.delete_product_row(&name)? > 0)
                }))
            })
            .await;
        self.catalog_cache().forget();
        written
    }

    async fn categories(&self) -> Result<Vec<Category>, DomainError> {
        let cache = self.catalog_cache();
        let started = Instant::now();
        if let Some(all) = cache.categories(started) {
            return Ok(all.as_ref().clone());
        }
        let seen = cache.generation();
        let all: Vec<Category> = self
            .blocking(|db| {
                with_conn!(db, |conn| conn
                    .all_categories()?
                    .into_iter()
                    .map(CategoryRow::into_category)
                    .collect())
            })
            .await?;
        cache.put_categories(Arc::new(all.clone()), started, seen);
        Ok(all)
    }

    async fn category(&self, id: i64) -> Result<Option<Category>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_category(id)?
                .map(CategoryRow::into_category)
                .transpose())
        })
        .await
    }

    async fn add_category(&self, name: String, at: DateTime<Utc>) -> Result<Category, DomainError> {
        let at_ms = millis(at);
        let written = self
            .blocking(move |db| {
                with_conn!(db, |conn| conn.write_transaction(|conn| {
                    if conn.category_named(&name)?.is_some() {
                        return Err(Failure::Refused(DomainError::CategoryExists));
                    }
                    let id = conn
                        .insert_category(&name, at_ms)
                        .map_err(|e| catalog_conflict(e, DomainError::CategoryExists))?;
                    Ok(Category {
                        id,
                        name,
                        created_at: time(at_ms)?,
                    })
                }))
            })
            .await;
        self.catalog_cache().forget();
        written
    }

    async fn rename_category(&self, id: i64, name: String) -> Result<bool, DomainError> {
        let written = self
            .blocking(move |db| {
                with_conn!(db, |conn| conn.write_transaction(|conn| {
                    if conn.category_named(&name)?.is_some_and(|c| c.id != id) {
                        return Err(Failure::Refused(DomainError::CategoryExists));
                    }
                    let rows = conn
                        .rename_category_row(id, &name)
                        .map_err(|e| catalog_conflict(e, DomainError::CategoryExists))?;
                    Ok(rows > 0)
                }))
            })
            .await;
        self.catalog_cache().forget();
        written
    }

    async fn delete_category(&self, id: i64) -> Result<bool, DomainError> {
        let written = self
            .blocking(move |db| {
                with_conn!(db, |conn| conn.write_transaction(|conn| {
                    Ok::<_, Failure>(conn.delete_category_row(id)? > 0)
                }))
            })
            .await;
        self.catalog_cache().forget();
        written
    }
}
