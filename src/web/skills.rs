//! `/api/v1/skills`: the skills jobs can use, as the server sees them now
//! (added, edited and removed skill files show up within two seconds).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use super::{ApiError, AppState, ErrorBody};
use crate::skills::Skill;

/// `GET /skills`: every skill, sorted by name (user skills override built-ins).
#[utoipa::path(get, path = "/skills", operation_id = "list_skills", tag = "skills", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the skills", body = Vec<Skill>),
        (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Json<Vec<Skill>> {
    Json(state.skills().list().into_iter().cloned().collect())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SkillPath {
    /// Skill name.
    #[param(pattern = "^[a-z0-9-]{1,64}$")]
    name: String,
}

/// `GET /skills/{name}`: one skill, with its full SKILL.md text and hash.
#[utoipa::path(get, path = "/skills/{name}", operation_id = "show_skill", tag = "skills", params(SkillPath), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "the skill", body = Skill),
        (status = 404, description = "no such skill", body = ErrorBody),
        (status = 401, description = "missing, invalid or revoked credentials", body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Path(SkillPath { name }): Path<SkillPath>,
) -> Result<Json<Skill>, ApiError> {
    state
        .skills()
        .get(&name)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no skill named {name:?}")))
}
