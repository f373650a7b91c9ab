//! `ctl completions`: shell completion scripts.

use clap::CommandFactory;

/// Print a shell completion script.
///
/// Examples:
///   ctl completions bash > ~/.local/share/bash-completion/completions/ctl
///   ctl completions zsh > ~/.zfunc/_ctl
///   ctl completions fish > ~/.config/fish/completions/ctl.fish
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

impl CompletionsArgs {
    pub fn run(self) -> anyhow::Result<i32> {
        print!("{}", String::from_utf8(generate(self.shell))?);
        Ok(0)
    }
}

/// The completion script for `shell`, as committed under `completions/`.
pub fn generate(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::Cli::command(), "ctl", &mut out);
    out
}
