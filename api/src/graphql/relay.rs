//! Relay connections for every list, built from a domain `Page`.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use domain::page::{Page, PageRequest};

use super::errors::ApiResult;
use super::ids::{decode_cursor, encode_cursor};

pub type RelayConnection<T> = Connection<String, T>;

/// Parses `first`/`after` into a page request; errors name the argument.
pub fn page_request(first: Option<i32>, after: Option<String>) -> ApiResult<PageRequest> {
    let after = after.map(|c| decode_cursor(&c)).transpose()?;
    Ok(PageRequest::new(first, after)?)
}

/// Turns a page of rows into a connection; `id_of` gives the keyset id of a row.
pub fn connection<R, T: OutputType>(
    page: Page<R>,
    after_given: bool,
    id_of: impl Fn(&R) -> &str,
    wrap: impl Fn(R) -> T,
) -> RelayConnection<T> {
    let mut connection = Connection::new(after_given, page.has_next_page);
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|row| Edge::new(encode_cursor(id_of(&row)), wrap(row))),
    );
    connection
}

/// Complexity of a connection field: what one item costs, times how many were asked for.
pub fn complexity(child: usize, first: Option<i32>) -> usize {
    // Clamped so an over-large `first` reaches the resolver and gets a precise error.
    let n = first.map_or(domain::page::DEFAULT_PAGE_SIZE as usize, |f| {
        f.max(0) as usize
    });
    1 + child * n.clamp(1, domain::page::MAX_PAGE_SIZE as usize)
}
