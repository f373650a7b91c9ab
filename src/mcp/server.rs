//! The rmcp handler: tools from the [`Toolbox`], skills from the skills
//! search path.

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetSkillRequestParams,
    GetSkillResult, Implementation, ListResourcesResult, ListSkillsResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig, Skill, SkillFrontmatter, SkillResource,
    SkillResources, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::skills::Catalog;
use crate::tools::{ToolError, ToolInfo, Toolbox, read_skill_file, skill_files};

/// Bytes of one skill's files read for its manifest at most.
const SKILL_BYTE_LIMIT: usize = 16 * 1024 * 1024;
const URI_SCHEME: &str = "skill://";

/// ctl's MCP server. Cheap to clone (one per HTTP session).
#[derive(Clone)]
pub struct CtlMcp {
    toolbox: Toolbox,
    skill_dirs: Arc<Vec<PathBuf>>,
}

impl CtlMcp {
    pub fn new(toolbox: Toolbox, skill_dirs: Vec<PathBuf>) -> Self {
        Self { toolbox, skill_dirs: Arc::new(skill_dirs) }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&[PathBuf]) -> Result<T, ErrorData> + Send + 'static,
    ) -> Result<T, ErrorData> {
        let dirs = self.skill_dirs.clone();
        tokio::task::spawn_blocking(move || f(&dirs))
            .await
            .map_err(|e| ErrorData::internal_error(format!("skills: {e}"), None))?
    }
}

/// A ctl tool as MCP lists it, with hints from its traits.
fn to_mcp_tool(info: ToolInfo) -> rmcp::model::Tool {
    let schema = match info.input_schema {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let annotations = ToolAnnotations::new()
        .read_only(info.traits.read_only)
        .destructive(false)
        .idempotent(info.traits.read_only)
        .open_world(info.traits.egress || info.traits.untrusted);
    rmcp::model::Tool::new(info.name, info.description, Arc::new(schema)).with_annotations(annotations)
}

fn tool_error_result(e: &ToolError) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(e.to_string())])
}

fn skill_uri(name: &str, path: &str) -> String {
    format!("{URI_SCHEME}{name}/{path}")
}

/// `skill://NAME/PATH` → (NAME, PATH).
fn parse_skill_uri(uri: &str) -> Option<(&str, &str)> {
    uri.strip_prefix(URI_SCHEME)?.split_once('/').filter(|(n, p)| !n.is_empty() && !p.is_empty())
}

fn tool_err(e: &ToolError) -> ErrorData {
    match e {
        ToolError::InvalidArgs(_) | ToolError::Refused(_) | ToolError::Unknown(_) => {
            ErrorData::invalid_params(e.to_string(), None)
        }
        _ => ErrorData::internal_error(e.to_string(), None),
    }
}

/// The Skills-extension entry of one skill: its front matter and the
/// manifest of its files with their digests.
fn skill_entry(dirs: &[PathBuf], skill: &crate::skills::Skill) -> Result<Skill, ToolError> {
    let mut front = SkillFrontmatter::new(&skill.name, &skill.description);
    if let Some(l) = &skill.license {
        front = front.with_field("license", l.as_str());
    }
    if let Some(c) = &skill.compatibility {
        front = front.with_field("compatibility", c.as_str());
    }
    if !skill.metadata.is_empty() {
        front = front.with_field("metadata", serde_json::to_value(&skill.metadata).unwrap_or_default());
    }
    if !skill.allowed_tools.is_empty() {
        front = front.with_field("allowed-tools", skill.allowed_tools.join(" "));
    }
    let mut files = Vec::new();
    let mut budget = SKILL_BYTE_LIMIT;
    for f in skill_files(dirs, &skill.name)? {
        if f.size as usize > budget {
            // Too large to hash every time it is listed: say it changes.
            return Ok(Skill::new(skill_uri(&skill.name, "SKILL.md"), front, SkillResources::Dynamic));
        }
        let (bytes, _) = read_skill_file(dirs, &skill.name, &f.path, budget)?;
        budget -= bytes.len();
        files.push(SkillResource::from_bytes(skill_uri(&skill.name, &f.path), &bytes));
    }
    Ok(Skill::new(skill_uri(&skill.name, "SKILL.md"), front, SkillResources::Files(files)))
}

impl ServerHandler for CtlMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder().enable_tools().enable_resources().enable_skills().build(),
        )
        .with_server_info(
            Implementation::new("ctl", env!("CARGO_PKG_VERSION"))
                .with_title("ctl")
                .with_description("ctl's tools (web search, fetch, vault, sandboxed code) and skills"),
        )
        .with_instructions(
            "ctl's tools: web_search and fetch reach the web (fetch refuses private addresses), \
                 vault_list/vault_read/vault_search read the user's markdown vault, run_code runs \
                 Python or sh in a sandbox with no network, skill_read reads a skill's bundled files.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.toolbox.list().into_iter().map(to_mcp_tool).collect()))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.toolbox.info(name).map(to_mcp_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.map_or(serde_json::Value::Null, serde_json::Value::Object);
        // rmcp signals a client's cancel through the token; dropping the call
        // stops the tool (a sandbox is killed, a request dropped).
        let result = tokio::select! {
            r = self.toolbox.call(&request.name, args) => r,
            () = context.ct.cancelled() => {
                return Err(ErrorData::internal_error("the call was cancelled", None));
            }
        };
        match result {
            Ok(out) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(out.text)]);
                result.structured_content = out.structured;
                Ok(result.into())
            }
            Err(e @ ToolError::Unknown(_)) => Err(ErrorData::invalid_params(e.to_string(), None)),
            Err(e) => Ok(tool_error_result(&e).into()),
        }
    }

    async fn list_skills(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, ErrorData> {
        self.blocking(|dirs| {
            let (catalog, _) = Catalog::load(dirs);
            let skills = catalog.list().into_iter().filter_map(|s| skill_entry(dirs, s).ok()).collect();
            Ok(ListSkillsResult::with_all_items(skills))
        })
        .await
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, ErrorData> {
        self.blocking(move |dirs| {
            let name = match parse_skill_uri(&request.uri) {
                Some((name, "SKILL.md")) => name.to_owned(),
                _ => return Err(ErrorData::invalid_params(format!("unknown skill {}", request.uri), None)),
            };
            let (catalog, _) = Catalog::load(dirs);
            let skill = catalog
                .get(&name)
                .ok_or_else(|| ErrorData::invalid_params(format!("unknown skill {}", request.uri), None))?;
            skill_entry(dirs, skill).map(GetSkillResult::new).map_err(|e| tool_err(&e))
        })
        .await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        self.blocking(|dirs| {
            let (catalog, _) = Catalog::load(dirs);
            let resources = catalog
                .list()
                .into_iter()
                .map(|s| {
                    Resource::new(skill_uri(&s.name, "SKILL.md"), s.name.clone())
                        .with_description(s.description.clone())
                        .with_mime_type("text/markdown")
                })
                .collect();
            Ok(ListResourcesResult::with_all_items(resources))
        })
        .await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        self.blocking(move |dirs| {
            let (name, path) =
                parse_skill_uri(&uri).ok_or_else(|| ErrorData::resource_not_found(uri.clone(), None))?;
            let (bytes, size) =
                read_skill_file(dirs, name, path, SKILL_BYTE_LIMIT).map_err(|e| tool_err(&e))?;
            if bytes.len() as u64 != size {
                return Err(ErrorData::invalid_params(
                    format!("{uri} is larger than {SKILL_BYTE_LIMIT} bytes"),
                    None,
                ));
            }
            let text = String::from_utf8(bytes)
                .ok()
                .filter(|t| !t.contains('\0'))
                .ok_or_else(|| ErrorData::invalid_params(format!("{uri} is not a text file"), None))?;
            let markdown =
                std::path::Path::new(path).extension().is_some_and(|e| e.eq_ignore_ascii_case("md"));
            let mime = if markdown { "text/markdown" } else { "text/plain" };
            let contents = ResourceContents::text(text, uri.clone()).with_mime_type(mime);
            Ok(ReadResourceResult::new(vec![contents]).into())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_uris_split_into_name_and_path() {
        assert_eq!(parse_skill_uri("skill://research/SKILL.md"), Some(("research", "SKILL.md")));
        assert_eq!(parse_skill_uri("skill://r/references/a.md"), Some(("r", "references/a.md")));
        assert_eq!(parse_skill_uri("skill://r/"), None);
        assert_eq!(parse_skill_uri("file:///etc/passwd"), None);
    }

    #[test]
    fn builtin_skills_make_valid_extension_entries() {
        let (catalog, _) = Catalog::load(&[]);
        for s in catalog.list() {
            let entry = skill_entry(&[], s).unwrap();
            entry.validate().unwrap_or_else(|e| panic!("{}: {e}", s.name));
        }
    }
}
