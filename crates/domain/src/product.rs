//! Products sold by quantity ("pay by quantity"), with optional bundle prices.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::DomainError;
use crate::money::Money;

/// A category of products (seed 004's categories of offers). A product belongs to at most one,
/// which it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Something the bar sells: a unit price and, optionally, explicit prices for some quantities
/// (the original bar priced bundles of 1 to 6 beers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub name: String,
    pub unit_price: Money,
    /// Explicit total prices by quantity, overriding `quantity × unit_price`.
    pub bundles: BTreeMap<u32, Money>,
    pub category: Option<String>,
}

impl Product {
    /// The price of `quantity` units, or `None` if it overflows.
    pub fn price_for(&self, quantity: u32) -> Option<Money> {
        match self.bundles.get(&quantity) {
            Some(price) => Some(*price),
            None => self.unit_price.checked_mul(quantity),
        }
    }

    /// Checks what the bar may sell, naming the field at fault: the name, prices not
    /// negative, bundles of at least one unit, the category's name.
    pub fn check(&self) -> Result<(), DomainError> {
        if !Product::valid_name(&self.name) {
            return Err(DomainError::malformed(
                "field `name` must be 1 to 64 printable characters without surrounding spaces",
            ));
        }
        if self.unit_price.cents() < 0 {
            return Err(DomainError::malformed(
                "field `unit_price` cannot be negative",
            ));
        }
        if self.bundles.contains_key(&0) {
            return Err(DomainError::malformed(
                "field `bundles`: a bundle needs a quantity of at least 1",
            ));
        }
        if self.bundles.values().any(|p| p.cents() < 0) {
            return Err(DomainError::malformed(
                "field `bundles`: a price cannot be negative",
            ));
        }
        if let Some(category) = &self.category {
            if !Product::valid_name(category) {
                return Err(DomainError::malformed(
                    "field `category` is not a category name",
                ));
            }
        }
        Ok(())
    }

    /// Validates a product's name: 1 to 64 printable characters, no surrounding spaces.
    pub fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.chars().count() <= 64
            && name.trim() == name
            && !name.chars().any(char::is_control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_and_bundle_prices() {
        let beer = Product {
            name: "biere".into(),
            unit_price: Money::from_cents(180),
            bundles: BTreeMap::from([(6, Money::from_cents(1000))]),
            category: None,
        };
        assert_eq!(beer.price_for(1), Some(Money::from_cents(180)));
        assert_eq!(beer.price_for(3), Some(Money::from_cents(540)));
        assert_eq!(beer.price_for(6), Some(Money::from_cents(1000)));
        assert_eq!(
            beer.price_for(u32::MAX).map(|m| m.cents()),
            Some(180 * u32::MAX as i64)
        );
    }

    #[test]
    fn names() {
        assert!(Product::valid_name("biere"));
        assert!(Product::valid_name("Coca 33cl"));
        assert!(!Product::valid_name(""));
        assert!(!Product::valid_name(" biere"));
        assert!(!Product::valid_name("a\nb"));
        assert!(!Product::valid_name(&"x".repeat(65)));
    }
}
