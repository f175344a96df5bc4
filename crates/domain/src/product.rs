//! Products sold by quantity ("pay by quantity"), with optional bundle prices.

use std::collections::BTreeMap;

use crate::money::Money;

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
