//! `ctl man`: the man page.

use clap::CommandFactory;

/// Print the man page (roff).
///
/// Example:
///   ctl man > ~/.local/share/man/man1/ctl.1
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ManArgs {}

impl ManArgs {
    pub fn run(self) -> anyhow::Result<i32> {
        print!("{}", String::from_utf8(generate()?)?);
        Ok(0)
    }
}

/// The man page, as committed under `man/ctl.1`.
pub fn generate() -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(crate::cli::Cli::command()).render(&mut out)?;
    Ok(out)
}
