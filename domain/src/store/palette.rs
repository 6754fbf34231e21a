//! Palette favourites and recents, kept on the server per user so they follow the user from
//! one browser to another.
//!
//! One row per (user, palette entry) holds both facts: whether the entry is starred, and when
//! it was last placed on a canvas. Recents are the rows with a placement time, capped at
//! [`MAX_RECENTS`]: recording a placement trims older ones in the same transaction, so the
//! table never holds more than the cap plus the user's favourites. A row that is neither
//! starred nor recent is deleted. A tool's rows go with it (`ON DELETE CASCADE`), and a tool
//! the user can no longer see is left out when the lists are read.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{custom_tools, palette_entries};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use super::tools;
use crate::auth::Principal;
use crate::error::{DomainError, DomainResult};
use crate::ids::new_id;
use crate::node_types::{self, CUSTOM};

/// How many recently placed entries a user keeps.
pub const MAX_RECENTS: u64 = 8;
/// How many favourites a user may have; the palette shows them all, so keep it readable.
pub const MAX_FAVORITES: u64 = 100;

/// What the caller names: a built-in node type, or `custom` with a tool id.
#[derive(Debug, Clone)]
pub struct PaletteEntryInput {
    pub node_type: String,
    /// The tool's row id (the API decodes global ids before calling in).
    pub tool_id: Option<String>,
}

/// A validated palette entry: a known node type, and for `custom` a tool the caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PaletteEntry {
    node_type: &'static str,
    tool_id: Option<String>,
}

impl PaletteEntry {
    fn key(&self) -> String {
        match &self.tool_id {
            Some(tool) => format!("{}:{tool}", self.node_type),
            None => self.node_type.to_owned(),
        }
    }
}

/// One entry of the favourites or recents list.
#[derive(Debug, Clone)]
pub struct PaletteItem {
    pub node_type: String,
    pub tool_id: Option<String>,
    /// The tool, for `custom` entries (always visible to the caller: invisible ones are
    /// left out of the lists).
    pub tool: Option<custom_tools::Model>,
    /// When starred (favourites) or last placed (recents).
    pub at: DateTime<Utc>,
}

/// Checks `input` before anything is written: the node type must be in the palette, `custom`
/// needs a tool (and nothing else may have one), and the tool must be one the caller sees.
/// Problems are reported at `input.nodeType` / `input.toolId`; an invisible tool is
/// `NotFound` so ids cannot be probed.
async fn check_entry(
    db: &impl ConnectionTrait,
    principal: &Principal,
    input: PaletteEntryInput,
) -> DomainResult<PaletteEntry> {
    let Some(spec) = node_types::find(&input.node_type) else {
        let known: Vec<&str> = node_types::catalog().iter().map(|s| s.node_type).collect();
        return Err(DomainError::bad_input(
            "input.nodeType",
            format!(
                "unknown node type `{}`; the node types are {}",
                input.node_type,
                known.join(", ")
            ),
        ));
    };
    match (spec.node_type, input.tool_id) {
        (CUSTOM, None) => Err(DomainError::bad_input(
            "input.toolId",
            "a `custom` palette entry needs the id of the tool it places",
        )),
        (CUSTOM, Some(tool_id)) => {
            tools::get(db, principal, &tool_id).await?;
            Ok(PaletteEntry {
                node_type: CUSTOM,
                tool_id: Some(tool_id),
            })
        }
        (other, Some(_)) => Err(DomainError::bad_input(
            "input.toolId",
            format!("only `custom` entries name a tool; `{other}` is a built-in node type"),
        )),
        (other, None) => Ok(PaletteEntry {
            node_type: other,
            tool_id: None,
        }),
    }
}

/// The caller's favourites, most recently starred first.
pub async fn favorites(
    db: &impl ConnectionTrait,
    principal: &Principal,
) -> DomainResult<Vec<PaletteItem>> {
    let rows = palette_entries::Entity::find()
        .filter(palette_entries::Column::UserId.eq(&principal.user_id))
        .filter(palette_entries::Column::Favorite.eq(true))
        .order_by_desc(palette_entries::Column::FavoritedAt)
        .order_by_asc(palette_entries::Column::EntryKey)
        .all(db)
        .await?;
    items(db, principal, rows, |row| row.favorited_at).await
}

/// The caller's last [`MAX_RECENTS`] placed entries, most recent first, each once.
pub async fn recents(
    db: &impl ConnectionTrait,
    principal: &Principal,
) -> DomainResult<Vec<PaletteItem>> {
    let rows = palette_entries::Entity::find()
        .filter(palette_entries::Column::UserId.eq(&principal.user_id))
        .filter(palette_entries::Column::LastPlacedAt.is_not_null())
        .order_by_desc(palette_entries::Column::LastPlacedAt)
        .order_by_asc(palette_entries::Column::EntryKey)
        .all(db)
        .await?;
    items(db, principal, rows, |row| row.last_placed_at).await
}

/// Rows to list items, with their tools fetched in one query; entries whose tool the caller
/// cannot see are left out.
async fn items(
    db: &impl ConnectionTrait,
    principal: &Principal,
    rows: Vec<palette_entries::Model>,
    at: impl Fn(&palette_entries::Model) -> Option<DateTime<Utc>>,
) -> DomainResult<Vec<PaletteItem>> {
    let tool_ids: Vec<String> = rows.iter().filter_map(|r| r.tool_id.clone()).collect();
    let mut visible: HashMap<String, custom_tools::Model> = if tool_ids.is_empty() {
        HashMap::new()
    } else {
        tools::find_many(db, principal, &tool_ids)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect()
    };
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let at = at(&row)?;
            let tool = match &row.tool_id {
                // Each tool appears at most once per list (one row per entry), so it can move.
                Some(id) => Some(visible.remove(id)?),
                None => None,
            };
            Some(PaletteItem {
                node_type: row.node_type,
                tool_id: row.tool_id,
                tool,
                at,
            })
        })
        .collect())
}

/// Stars or unstars an entry and returns the caller's favourites. Starring an entry that is
/// already starred keeps its original time; unstarring one that is not is a no-op.
#[tracing::instrument(skip_all, fields(node_type = %input.node_type))]
pub async fn set_favorite(
    db: &DatabaseConnection,
    principal: &Principal,
    input: PaletteEntryInput,
    favorite: bool,
) -> DomainResult<Vec<PaletteItem>> {
    let entry = check_entry(db, principal, input).await?;
    let key = entry.key();
    let txn = db.begin().await?;
    let existing = palette_entries::Entity::find()
        .filter(palette_entries::Column::UserId.eq(&principal.user_id))
        .filter(palette_entries::Column::EntryKey.eq(&key))
        .one(&txn)
        .await?;
    match (existing, favorite) {
        (Some(row), true) if row.favorite => {}
        (Some(row), true) => {
            check_favorite_room(&txn, principal).await?;
            let mut active: palette_entries::ActiveModel = row.into();
            active.favorite = Set(true);
            active.favorited_at = Set(Some(Utc::now()));
            active.update(&txn).await?;
        }
        (None, true) => {
            check_favorite_room(&txn, principal).await?;
            let row = new_row(principal, &entry, &key, true, None);
            // A concurrent star of the same entry has already done the work.
            palette_entries::Entity::insert(row)
                .on_conflict(
                    OnConflict::columns([
                        palette_entries::Column::UserId,
                        palette_entries::Column::EntryKey,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        (Some(row), false) if row.last_placed_at.is_none() => {
            palette_entries::Entity::delete_by_id(row.id)
                .exec(&txn)
                .await?;
        }
        (Some(row), false) => {
            let mut active: palette_entries::ActiveModel = row.into();
            active.favorite = Set(false);
            active.favorited_at = Set(None);
            active.update(&txn).await?;
        }
        (None, false) => {}
    }
    txn.commit().await?;
    favorites(db, principal).await
}

async fn check_favorite_room(db: &impl ConnectionTrait, principal: &Principal) -> DomainResult<()> {
    let count = palette_entries::Entity::find()
        .filter(palette_entries::Column::UserId.eq(&principal.user_id))
        .filter(palette_entries::Column::Favorite.eq(true))
        .count(db)
        .await?;
    if count >= MAX_FAVORITES {
        return Err(DomainError::bad_input(
            "input",
            format!("a user may have at most {MAX_FAVORITES} favourites; unstar one first"),
        ));
    }
    Ok(())
}

fn new_row(
    principal: &Principal,
    entry: &PaletteEntry,
    key: &str,
    favorite: bool,
    last_placed_at: Option<DateTime<Utc>>,
) -> palette_entries::ActiveModel {
    palette_entries::ActiveModel {
        id: Set(new_id()),
        user_id: Set(principal.user_id.clone()),
        entry_key: Set(key.to_owned()),
        node_type: Set(entry.node_type.to_owned()),
        tool_id: Set(entry.tool_id.clone()),
        favorite: Set(favorite),
        favorited_at: Set(favorite.then(Utc::now)),
        last_placed_at: Set(last_placed_at),
    }
}

/// Records that the caller placed an entry on a canvas and returns their recents: the entry
/// moves to the front, and entries beyond [`MAX_RECENTS`] leave the list in the same
/// transaction.
#[tracing::instrument(skip_all, fields(node_type = %input.node_type))]
pub async fn record_placement(
    db: &DatabaseConnection,
    principal: &Principal,
    input: PaletteEntryInput,
) -> DomainResult<Vec<PaletteItem>> {
    let entry = check_entry(db, principal, input).await?;
    let key = entry.key();
    let now = Utc::now();
    let txn = db.begin().await?;
    palette_entries::Entity::insert(new_row(principal, &entry, &key, false, Some(now)))
        .on_conflict(
            OnConflict::columns([
                palette_entries::Column::UserId,
                palette_entries::Column::EntryKey,
            ])
            .update_column(palette_entries::Column::LastPlacedAt)
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let placed = palette_entries::Entity::find()
        .filter(palette_entries::Column::UserId.eq(&principal.user_id))
        .filter(palette_entries::Column::LastPlacedAt.is_not_null())
        .order_by_desc(palette_entries::Column::LastPlacedAt)
        .order_by_asc(palette_entries::Column::EntryKey)
        .all(&txn)
        .await?;
    let cap = usize::try_from(MAX_RECENTS).unwrap_or(usize::MAX);
    for old in placed.into_iter().skip(cap) {
        if old.favorite {
            let mut active: palette_entries::ActiveModel = old.into();
            active.last_placed_at = Set(None);
            active.update(&txn).await?;
        } else {
            palette_entries::Entity::delete_by_id(old.id)
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    recents(db, principal).await
}
