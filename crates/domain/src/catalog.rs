//! The bar's products and their categories (seed 004's categories of offers) as use cases:
//! reading needs rights ≥ 1 (`ReadCatalog`), changing them rights 3 (`ManageProducts`).

use std::collections::BTreeMap;

use crate::bar::Bar;
use crate::error::DomainError;
use crate::money::Money;
use crate::paging::{Page, Paged};
use crate::product::{Category, Product};
use crate::rights::{Actor, Operation};

/// Changes to a product; `None` keeps a value. `category: Some(None)` takes it out of its
/// category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductChanges {
    pub unit_price: Option<Money>,
    pub bundles: Option<BTreeMap<u32, Money>>,
    pub category: Option<Option<String>>,
}

impl ProductChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self == &ProductChanges::default()
    }
}

/// A category's name: the rules of a product's name.
fn check_category_name(name: &str) -> Result<(), DomainError> {
    if Product::valid_name(name) {
        Ok(())
    } else {
        Err(DomainError::malformed(
            "field `name` must be 1 to 64 printable characters without surrounding spaces",
        ))
    }
}

impl Bar {
    /// One page of the products by name, of one category (by id) or of all.
    pub async fn product_page(
        &self,
        actor: &Actor,
        category: Option<i64>,
        page: Page,
    ) -> Result<Paged<Product>, DomainError> {
        actor.check(Operation::ReadCatalog)?;
        let mut all = self.catalog.products().await?;
        if let Some(id) = category {
            let category = self
                .catalog
                .category(id)
                .await?
                .ok_or(DomainError::UnknownCategory)?;
            all.retain(|p| p.category.as_ref() == Some(&category.name));
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(page.slice(all))
    }

    /// One product.
    pub async fn product(&self, actor: &Actor, name: &str) -> Result<Product, DomainError> {
        actor.check(Operation::ReadCatalog)?;
        self.catalog
            .product(name)
            .await?
            .ok_or(DomainError::UnknownProduct)
    }

    /// Creates a product (rights 3): `ProductExists`, `UnknownCategory`.
    pub async fn add_product(&self, actor: &Actor, product: Product) -> Result<(), DomainError> {
        actor.check(Operation::ManageProducts)?;
        product.check()?;
        self.catalog.add_product(product).await
    }

    /// Changes a product's price, bundles or category (rights 3); the product as it is now.
    pub async fn update_product(
        &self,
        actor: &Actor,
        name: &str,
        changes: ProductChanges,
    ) -> Result<Product, DomainError> {
        actor.check(Operation::ManageProducts)?;
        if changes.is_empty() {
            return Err(DomainError::malformed(
                "nothing to change: give at least one of `unit_price`, `bundles`, `category`",
            ));
        }
        let mut product = self
            .catalog
            .product(name)
            .await?
            .ok_or(DomainError::UnknownProduct)?;
        if let Some(price) = changes.unit_price {
            product.unit_price = price;
        }
        if let Some(bundles) = changes.bundles {
            product.bundles = bundles;
        }
        if let Some(category) = changes.category {
            product.category = category;
        }
        product.check()?;
        self.catalog.update_product(product.clone()).await?;
        Ok(product)
    }

    /// Deletes a product (rights 3); the transactions that sold it keep its name. The
    /// product a payment by quantity counts by default cannot be deleted.
    pub async fn delete_product(&self, actor: &Actor, name: &str) -> Result<(), DomainError> {
        actor.check(Operation::ManageProducts)?;
        if name == self.policy.default_product {
            return Err(DomainError::malformed(format!(
                "`{name}` is the default product of payments by quantity (money.default_product)"
            )));
        }
        if self.catalog.delete_product(name).await? {
            Ok(())
        } else {
            Err(DomainError::UnknownProduct)
        }
    }

    /// One page of the categories, by name.
    pub async fn category_page(
        &self,
        actor: &Actor,
        page: Page,
    ) -> Result<Paged<Category>, DomainError> {
        actor.check(Operation::ReadCatalog)?;
        Ok(page.slice(self.catalog.categories().await?))
    }

    /// One category.
    pub async fn category(&self, actor: &Actor, id: i64) -> Result<Category, DomainError> {
        actor.check(Operation::ReadCatalog)?;
        self.catalog
            .category(id)
            .await?
            .ok_or(DomainError::UnknownCategory)
    }

    /// Creates a category (rights 3): `CategoryExists`.
    pub async fn add_category(&self, actor: &Actor, name: &str) -> Result<Category, DomainError> {
        actor.check(Operation::ManageProducts)?;
        check_category_name(name)?;
        self.catalog
            .add_category(name.to_owned(), self.clock.now())
            .await
    }

    /// Renames a category (rights 3); its products follow.
    pub async fn rename_category(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
    ) -> Result<Category, DomainError> {
        actor.check(Operation::ManageProducts)?;
        check_category_name(name)?;
        if !self.catalog.rename_category(id, name.to_owned()).await? {
            return Err(DomainError::UnknownCategory);
        }
        self.category(actor, id).await
    }

    /// Deletes a category (rights 3); its products are left without one.
    pub async fn delete_category(&self, actor: &Actor, id: i64) -> Result<(), DomainError> {
        actor.check(Operation::ManageProducts)?;
        if self.catalog.delete_category(id).await? {
            Ok(())
        } else {
            Err(DomainError::UnknownCategory)
        }
    }
}
