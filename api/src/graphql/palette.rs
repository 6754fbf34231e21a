//! Palette favourites and recents: `User.favoriteTools`/`recentTools`, `setToolFavorite`,
//! `recordToolPlacement`. The rules live in `domain::store::palette`.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::DomainError;
use domain::store::palette::{self as store, PaletteEntryInput, PaletteItem};

use super::context::{db, principal};
use super::errors::{ApiError, ApiResult};
use super::ids::{Kind, decode, encode};
use super::tools::Tool;

/// A palette entry: a built-in node type, or a custom tool (nodeType = "custom").
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PaletteItemRef {
    /// e.g. "trigger", "llm-agent", "custom".
    node_type: String,
    /// Global id of the Tool when nodeType = "custom", else null.
    tool_id: Option<ID>,
    /// When starred (favourites) or last placed (recents).
    at: DateTime<Utc>,
    #[graphql(skip)]
    tool_row: Option<entity::custom_tools::Model>,
}

#[ComplexObject]
impl PaletteItemRef {
    /// The tool, for custom entries (null if deleted or no longer visible).
    async fn tool(&self) -> Option<Tool> {
        self.tool_row.clone().map(Tool)
    }
}

impl From<PaletteItem> for PaletteItemRef {
    fn from(item: PaletteItem) -> Self {
        Self {
            node_type: item.node_type,
            tool_id: item.tool_id.as_deref().map(|id| encode(Kind::Tool, id)),
            at: item.at,
            tool_row: item.tool,
        }
    }
}

fn refs(items: Vec<PaletteItem>) -> Vec<PaletteItemRef> {
    items.into_iter().map(PaletteItemRef::from).collect()
}

/// `User.favoriteTools` and `User.recentTools`: the viewer's own lists; another user's are
/// private and read as empty.
pub async fn user_lists(
    ctx: &Context<'_>,
    user_id: &str,
    favorites: bool,
) -> ApiResult<Vec<PaletteItemRef>> {
    let principal = principal(ctx)?;
    if principal.user_id != user_id {
        return Ok(Vec::new());
    }
    let items = if favorites {
        store::favorites(db(ctx), principal).await?
    } else {
        store::recents(db(ctx), principal).await?
    };
    Ok(refs(items))
}

#[derive(InputObject)]
pub struct SetToolFavoriteInput {
    pub node_type: String,
    pub tool_id: Option<ID>,
    pub favorite: bool,
}

#[derive(InputObject)]
pub struct RecordToolPlacementInput {
    pub node_type: String,
    pub tool_id: Option<ID>,
}

fn entry(node_type: String, tool_id: Option<&ID>) -> ApiResult<PaletteEntryInput> {
    let tool_id = tool_id
        .map(|id| decode("input.toolId", Kind::Tool, id))
        .transpose()?;
    Ok(PaletteEntryInput { node_type, tool_id })
}

/// The only `NOT_FOUND` these mutations raise is the tool; say where it came from.
fn locate(error: DomainError) -> ApiError {
    let not_found = matches!(error, DomainError::NotFound { .. });
    let error = ApiError::from(error);
    if not_found {
        error.at_path("input.toolId")
    } else {
        error
    }
}

#[derive(Default)]
pub struct PaletteMutation;

#[Object]
impl PaletteMutation {
    /// Stars or unstars a palette entry for the caller; returns the new favourites, newest
    /// first.
    async fn set_tool_favorite(
        &self,
        ctx: &Context<'_>,
        input: SetToolFavoriteInput,
    ) -> ApiResult<Vec<PaletteItemRef>> {
        let principal = principal(ctx)?;
        let entry = entry(input.node_type, input.tool_id.as_ref())?;
        let items = store::set_favorite(db(ctx), principal, entry, input.favorite)
            .await
            .map_err(locate)?;
        Ok(refs(items))
    }

    /// Records that the caller placed a palette entry on a canvas; returns the new recents
    /// (at most 8, most recent first).
    async fn record_tool_placement(
        &self,
        ctx: &Context<'_>,
        input: RecordToolPlacementInput,
    ) -> ApiResult<Vec<PaletteItemRef>> {
        let principal = principal(ctx)?;
        let entry = entry(input.node_type, input.tool_id.as_ref())?;
        let items = store::record_placement(db(ctx), principal, entry)
            .await
            .map_err(locate)?;
        Ok(refs(items))
    }
}
