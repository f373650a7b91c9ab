//! `/api/v1/tools`: the tools jobs (and MCP clients) can call here.

use axum::Json;
use axum::extract::State;

use super::{ApiError, AppState, ErrorBody};
use crate::tools::ToolInfo;

/// `GET /tools`: the enabled tools, sorted by name, with what each touches
/// and its limits.
#[utoipa::path(get, path = "/tools", operation_id = "list_tools", tag = "tools", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the enabled tools", body = Vec<ToolInfo>),
        (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ToolInfo>>, ApiError> {
    let toolbox = crate::rag::tool::toolbox(&state.local().config, state.local().home.root())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(toolbox.list()))
}
