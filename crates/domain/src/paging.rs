//! Pages of a list (seed 002's entity pager): `page` from 1, `per_page` from 1 to 500.

use crate::error::DomainError;

/// The most items one page may hold.
pub const MAX_PER_PAGE: u32 = 500;
/// The page size when the caller names none.
pub const DEFAULT_PER_PAGE: u32 = 50;

/// Which page of a list is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    number: u32,
    per_page: u32,
}

impl Default for Page {
    fn default() -> Page {
        Page {
            number: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl Page {
    /// A page, checked: `number ≥ 1`, `1 ≤ per_page ≤ 500`; the error names the field.
    pub fn new(number: Option<i64>, per_page: Option<i64>) -> Result<Page, DomainError> {
        let number = match number {
            None => 1,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| DomainError::malformed("field `page` must be a whole number ≥ 1"))?,
        };
        let per_page = match per_page {
            None => DEFAULT_PER_PAGE,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                .ok_or_else(|| {
                    DomainError::malformed(format!(
                        "field `per_page` must be a whole number from 1 to {MAX_PER_PAGE}"
                    ))
                })?,
        };
        Ok(Page { number, per_page })
    }

    /// The page number, from 1.
    pub fn number(self) -> u32 {
        self.number
    }

    /// The most items on this page.
    pub fn per_page(self) -> u32 {
        self.per_page
    }

    /// How many items come before this page.
    pub fn offset(self) -> u64 {
        u64::from(self.number - 1) * u64::from(self.per_page)
    }

    /// This page of a whole list held in memory.
    pub fn slice<T>(self, all: Vec<T>) -> Paged<T> {
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(usize::try_from(self.offset()).unwrap_or(usize::MAX))
            .take(self.per_page as usize)
            .collect();
        Paged {
            items,
            page: self,
            total,
        }
    }
}

/// One page of a list and the size of the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: Page,
    pub total: u64,
}

impl<T> Paged<T> {
    /// Whether a page comes after this one.
    pub fn has_next(&self) -> bool {
        self.page.offset() + u64::from(self.page.per_page) < self.total
    }

    /// Whether a page comes before this one.
    pub fn has_prev(&self) -> bool {
        self.page.number > 1
    }

    /// The same page with other items (e.g. converted for display).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(Page::new(None, None).unwrap(), Page::default());
        assert!(Page::new(Some(0), None).is_err());
        assert!(Page::new(Some(-1), None).is_err());
        assert!(Page::new(None, Some(0)).is_err());
        assert!(Page::new(None, Some(501)).is_err());
        assert_eq!(Page::new(Some(3), Some(500)).unwrap().offset(), 1000);
    }

    #[test]
    fn slicing() {
        let p = Page::new(Some(2), Some(2))
            .unwrap()
            .slice(vec![1, 2, 3, 4, 5]);
        assert_eq!(p.items, vec![3, 4]);
        assert_eq!(p.total, 5);
        assert!(p.has_next() && p.has_prev());
        let last = Page::new(Some(3), Some(2))
            .unwrap()
            .slice(vec![1, 2, 3, 4, 5]);
        assert_eq!(last.items, vec![5]);
        assert!(!last.has_next());
        let beyond = Page::new(Some(9), Some(2)).unwrap().slice(vec![1, 2, 3]);
        assert!(beyond.items.is_empty() && !beyond.has_next());
    }
}
