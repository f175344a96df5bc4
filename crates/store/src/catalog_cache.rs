//! The catalog (products with their bundles, categories) kept in memory: the till shows it on
//! every page and prices orders with it, and it changes a few times a season.
//!
//! Freshness, as for the card snapshots ([`crate::snapshots`]):
//! - Every catalog write of this process calls [`CatalogCache::forget`] after its commit and
//!   before it answers, which drops the lists and bumps a generation number; a read that
//!   started before that write cannot store its answer afterwards. So a product added in the
//!   office is on the till's next page.
//! - Another process on the same database (the CLI, a second server) cannot reach this
//!   memory: a list is trusted for at most the TTL after it was read. A zero TTL keeps nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ardoise_domain::{Category, Product};

struct Lists {
    products: Option<(Arc<Vec<Product>>, Instant)>,
    categories: Option<(Arc<Vec<Category>>, Instant)>,
}

/// See the module's documentation.
pub(crate) struct CatalogCache {
    ttl: Duration,
    generation: AtomicU64,
    lists: Mutex<Lists>,
}

/// The generation a database read started in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generation(u64);

impl CatalogCache {
    /// Lists trusted for `ttl`; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> CatalogCache {
        CatalogCache {
            ttl,
            generation: AtomicU64::new(0),
            lists: Mutex::new(Lists {
                products: None,
                categories: None,
            }),
        }
    }

    fn lists(&self) -> MutexGuard<'_, Lists> {
        // A panic while holding the lock leaves plain lists behind: still usable.
        self.lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// To be read before the database read whose answer will be stored.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    fn fresh<T>(&self, entry: &Option<(Arc<T>, Instant)>, now: Instant) -> Option<Arc<T>> {
        let (list, fetched_at) = entry.as_ref()?;
        (now.saturating_duration_since(*fetched_at) < self.ttl).then(|| list.clone())
    }

    /// The products, if read less than the TTL before `now`.
    pub fn products(&self, now: Instant) -> Option<Arc<Vec<Product>>> {
        self.fresh(&self.lists().products, now)
    }

    /// The categories, if read less than the TTL before `now`.
    pub fn categories(&self, now: Instant) -> Option<Arc<Vec<Category>>> {
        self.fresh(&self.lists().categories, now)
    }

    /// Keeps the products read by a read that started at `fetched_at` in generation `seen`;
    /// refused if a catalog write was reported since.
    pub fn put_products(&self, products: Arc<Vec<Product>>, fetched_at: Instant, seen: Generation) {
        let mut lists = self.lists();
        if !self.ttl.is_zero() && self.generation.load(Ordering::Acquire) == seen.0 {
            lists.products = Some((products, fetched_at));
        }
    }

    /// As [`CatalogCache::put_products`], for the categories.
    pub fn put_categories(
        &self,
        categories: Arc<Vec<Category>>,
        fetched_at: Instant,
        seen: Generation,
    ) {
        let mut lists = self.lists();
        if !self.ttl.is_zero() && self.generation.load(Ordering::Acquire) == seen.0 {
            lists.categories = Some((categories, fetched_at));
        }
    }

    /// Forgets both lists after a committed catalog write (a category's rename or deletion
    /// changes products too), and refuses the answers of the reads under way.
    pub fn forget(&self) {
        let mut lists = self.lists();
        self.generation.fetch_add(1, Ordering::AcqRel);
        lists.products = None;
        lists.categories = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ardoise_domain::Money;
    use std::collections::BTreeMap;

    fn product(name: &str) -> Product {
        Product {
            name: name.to_owned(),
            unit_price: Money::from_cents(180),
            bundles: BTreeMap::new(),
            category: None,
        }
    }

    #[test]
    fn lists_are_served_for_the_ttl_only() {
        let cache = CatalogCache::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert!(cache.products(t0).is_none());
        cache.put_products(Arc::new(vec![product("biere")]), t0, cache.generation());
        assert_eq!(cache.products(t0).map(|p| p.len()), Some(1));
        assert!(cache.products(t0 + Duration::from_millis(999)).is_some());
        assert!(cache.products(t0 + Duration::from_secs(1)).is_none());
    }

    #[test]
    fn a_read_that_started_before_a_write_cannot_store_its_answer() {
        let cache = CatalogCache::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let before = cache.generation();
        cache.forget();
        cache.put_products(Arc::new(vec![product("old")]), t0, before);
        cache.put_categories(Arc::new(Vec::new()), t0, before);
        assert!(cache.products(t0).is_none());
        assert!(cache.categories(t0).is_none());
        cache.put_products(Arc::new(vec![product("new")]), t0, cache.generation());
        assert!(cache.products(t0).is_some());
        cache.forget();
        assert!(cache.products(t0).is_none());
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = CatalogCache::new(Duration::ZERO);
        let t0 = Instant::now();
        cache.put_products(Arc::new(vec![product("biere")]), t0, cache.generation());
        assert!(cache.products(t0).is_none());
    }
}
