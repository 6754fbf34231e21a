//! Persistence of Weft's objects. Every write validates first and runs in one
//! transaction, so a rejected or failed call leaves storage exactly as it was.

pub mod database_connections;
pub mod database_queries;
pub mod executions;
pub mod hook_triggers;
pub mod mapping_dialog;
pub mod palette;
pub mod references;
pub mod stats;
pub mod templates;
pub mod tool_logs;
pub mod tools;
pub mod webhooks;
pub mod workflows;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use crate::page::PageRequest;

/// Applies newest-first keyset pagination on an id column, fetching one extra row so the
/// caller knows whether another page exists.
pub(crate) fn keyset<E: EntityTrait>(
    select: Select<E>,
    id_column: impl ColumnTrait,
    page: &PageRequest,
) -> Select<E> {
    let select = match &page.after {
        Some(after) => select.filter(id_column.lt(after.clone())),
        None => select,
    };
    select.order_by_desc(id_column).limit(page.first + 1)
}

/// Escapes LIKE wildcards so user text is matched literally.
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A LIKE operand that matches `text` literally anywhere, on every backend.
pub(crate) fn contains_literally(text: &str) -> sea_orm::sea_query::LikeExpr {
    sea_orm::sea_query::LikeExpr::new(like_pattern(text)).escape('\\')
}

pub(crate) fn check_text(
    problems: &mut crate::error::Problems,
    path: &str,
    value: &str,
    max: usize,
) {
    let len = value.chars().count();
    if len > max {
        problems.push(path, format!("must be at most {max} characters, got {len}"));
    }
}

pub const MAX_DESCRIPTION_LEN: usize = 2_000;
pub const MAX_LABEL_LEN: usize = 100;
