//! Paging of lists: `page` from 1, `page_size` from 1 to [`MAX_PAGE_SIZE`].

use crate::{Error, Result};
use tariff_model::Message;

/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page size.
pub const MAX_PAGE_SIZE: i64 = 200;
/// Largest page number (200 million rows at the largest page size).
pub const MAX_PAGE: i64 = 1_000_000;

/// `page` (from 1, default 1) and `page_size` (1–200, default 50) → `(page, page_size, offset)`.
///
/// # Errors
/// [`Error::Validation`] on `page` outside 1–1,000,000 or `page_size` outside 1–200.
pub fn paging(page: Option<i64>, page_size: Option<i64>) -> Result<(i64, i64, i64)> {
    let page = page.unwrap_or(1);
    let size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if page < 1 {
        return Err(Error::invalid("page", Message::PageTooSmall));
    }
    if page > MAX_PAGE {
        return Err(Error::invalid("page", Message::PageSizeRange { max: MAX_PAGE }));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(Error::invalid("page_size", Message::PageSizeRange { max: MAX_PAGE_SIZE }));
    }
    Ok((page, size, (page - 1).saturating_mul(size)))
}
