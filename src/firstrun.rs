//! The first run: `ctl up` on a machine where no model server answers
//! says so at once, with the two ways to fix it, instead of letting the
//! first chat fail.

use std::path::Path;
use std::time::Duration;

use crate::config::Config;

/// What `ctl up` found about the default model's provider: `None` when it
/// answers, else the message to show. `config_path` is the config file in
/// use (`--config`), if one was named.
pub async fn check(config: &Config, config_path: Option<&Path>, timeout: Duration) -> Option<String> {
    let (name, model) = config.resolve_model(None).unwrap_or_else(|_| ("ollama".to_owned(), String::new()));
    let cfg = config.providers.get(&name)?;
    let problem = match crate::provider::build(&name, cfg) {
        Err(e) => e.to_string(),
        Ok(p) => match tokio::time::timeout(timeout, p.models()).await {
            Err(_) => format!("{} gave no answer within {:.0} s", cfg.base_url, timeout.as_secs_f64()),
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(_)) => return None,
        },
    };
    // An Ollama model to suggest: the default model's, when it is one.
    let model = if name == "ollama" && !model.is_empty() { model } else { "qwen2.5:7b".to_owned() };
    Some(format!(
        "No model server answers: provider {name} ({}): {problem}
Jobs and chats will fail until one does. Fix it one of two ways:
  1. Start Ollama (https://ollama.com), then fetch a model:
       ollama serve &
       ollama pull {model}
  2. Or point ctl at any OpenAI-compatible server (llama.cpp's llama-server,
     vLLM, LM Studio, OpenRouter, OpenAI): add to {}
       default_model = \"local:MODEL\"
       [providers.local]
       kind = \"openai\"
       base_url = \"http://127.0.0.1:8080/v1\"
       api_key_env = \"LOCAL_API_KEY\"   # only if the server needs a key
Then check with `ctl doctor`.",
        cfg.base_url,
        config_path
            .map(Path::to_path_buf)
            .or_else(crate::config::default_path)
            .map_or_else(|| "ctl.toml".to_owned(), |p| p.display().to_string())
    ))
}
