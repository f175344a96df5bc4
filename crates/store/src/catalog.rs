//! The products sold by quantity, with their bundle prices.

use ardoise_domain::ports::Catalog;
use ardoise_domain::{DomainError, Product};
use async_trait::async_trait;

use crate::db::with_conn;
use crate::error::Failure;
use crate::rows::{BundleRow, ProductRow};
use crate::sql::{Dialect, Sql};
use crate::Store;

fn products(rows: Vec<ProductRow>, bundles: &[BundleRow]) -> Result<Vec<Product>, Failure> {
    rows.into_iter().map(|p| p.into_product(bundles)).collect()
}

#[async_trait]
impl Catalog for Store {
    async fn product(&self, name: &str) -> Result<Option<Product>, DomainError> {
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
        self.blocking(|db| {
            with_conn!(db, |conn| {
                let rows = conn.all_products()?;
                let bundles = conn.bundles(None)?;
                products(rows, &bundles)
            })
        })
        .await
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
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                conn.upsert_product(&row)?;
                conn.replace_bundles(&row.name, &bundles)?;
                Ok::<_, Failure>(())
            }))
        })
        .await
    }
}
