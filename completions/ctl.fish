# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ctl_global_optspecs
    string join \n home= config= server= json v/verbose log-format= h/help V/version
end

function __fish_ctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ctl_using_subcommand
    set -l cmd (__fish_ctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ctl -n "__fish_ctl_needs_command" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_needs_command" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_needs_command" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_needs_command" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_needs_command" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_needs_command" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_needs_command" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "submit" -d 'Queue a job. Prints the new job\'s id.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "tail" -d 'Stream a job\'s output as it is generated, until the job ends.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "jobs" -d 'List jobs, newest first.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "show" -d 'Show one job: state, model, timings, usage and output.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "cancel" -d 'Cancel a job. A queued job is cancelled at once; a running one is stopped by its worker within a second (this waits up to --wait seconds for that).'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "retry" -d 'Put a failed or cancelled job back in the queue, with fresh attempts.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "replay" -d 'Submit a sibling of a job: the same messages and the same skill snapshots (the exact skill text the original used, not the current files), with `parent_id` set. Prints the new job\'s id.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "diff" -d 'Compare two jobs: a unified diff of their outputs (coloured on a terminal), then a table of what differs in model, parameters, skills and usage.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "stats" -d 'Usage over finished jobs: jobs, failures, tokens, median time to first token and tokens/s, and cost when the config has a price table; or, by tool, the tool calls jobs and MCP clients made.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "skills" -d 'User-authored Agent Skills: folders with a SKILL.md of instructions.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "worker" -d 'Claim and run jobs until SIGTERM or Ctrl-C.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "serve" -d 'Serve the JSON + SSE API (and health and metrics) until SIGTERM.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "up" -d 'Run the API and a worker in one process: the quick start.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "token" -d 'Create, list and revoke API tokens.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "tools" -d 'The tools MCP clients and jobs can call: web_search, fetch, vault_list, vault_read, vault_search, run_code, skill_read.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "mcp" -d 'Serve ctl\'s tools and skills to an MCP host (Claude Desktop, Claude Code, Cursor, ...).'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "rag" -d 'Hybrid retrieval over a markdown (Obsidian) vault.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "doctor" -d 'Check the data directory, the database and every configured provider.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "migrate" -d 'Apply the pending schema migrations of the configured backend.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "export" -d 'Write everything this installation holds to one archive.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "import" -d 'Load an archive written by `ctl export` into this installation.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "alerts" -d 'Alerts that `ctl serve` sends (job failures, low disk, unreachable backends, a stuck queue).'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "completions" -d 'Print a shell completion script.'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "man" -d 'Print the man page (roff).'
complete -c ctl -n "__fish_ctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand submit" -s m -l model -d 'Model as provider:model (e.g. ollama:qwen2.5:7b); default: `default_model` from the config' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l system -d 'System prompt' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -s k -l skill -d 'Skill to run the job with, repeatable (see `ctl skills list`). Its metadata defaults (model, temperature) apply unless set here' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -s p -l param -d 'Generation parameter, repeatable: temperature=0.2, max_tokens=500, `stop=["\\n\\n"]`. Values are JSON when they parse as JSON, strings otherwise' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l tool -d 'Tool the model may call, repeatable (see `ctl tools list`). Without it the job gets its skills\' allowed-tools, else `worker.default_tools`' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l tools -d 'Tools as one comma-separated list; `all` is every enabled tool the job\'s skills allow' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l tool-choice -d 'How the model picks tools: auto, none, required or a tool\'s name (that call is forced); a comma-separated list gives one per model call, then auto (e.g. vault_read,none)' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l rag -d 'Answer from a vault (default: the only or the default one): the worker retrieves sources before the model call and numbers them in the prompt; `ctl tail` prints them after the answer' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l rag-mode -d 'How the sources are used: augment (cite them) or context-only (answer only from them)' -r -f -a "augment\t'Numbered sources in the prompt; the answer cites them'
context-only\t'Answer only from the sources'"
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l priority -d 'Higher runs first (default 0); jobs of equal priority run in submit order' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l allow-egress-after-private -d 'Let tools that send data out (fetch, web_search) run after the job has read private data (vault, retrieval). The job records it'
complete -c ctl -n "__fish_ctl_using_subcommand submit" -s f -l follow -d 'Stream the output after submitting, like `ctl tail`'
complete -c ctl -n "__fish_ctl_using_subcommand submit" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand submit" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand submit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand submit" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand tail" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tail" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tail" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand tail" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand tail" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand tail" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand tail" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand tail" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -s s -l state -d 'Only jobs in this state' -r -f -a "queued\t''
active\t''
completed\t''
failed\t''
cancelled\t''"
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -s n -l limit -d 'At most this many jobs' -r
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand jobs" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand show" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand show" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand show" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand show" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand show" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand show" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand show" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand cancel" -l wait -d 'Seconds to wait for a running job to stop (0: don\'t wait)' -r
complete -c ctl -n "__fish_ctl_using_subcommand cancel" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand cancel" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand cancel" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand cancel" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand cancel" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand cancel" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand cancel" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand retry" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand retry" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand retry" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand retry" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand retry" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand retry" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand retry" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand replay" -s m -l model -d 'Model for the replay, as provider:model (default: the original\'s)' -r
complete -c ctl -n "__fish_ctl_using_subcommand replay" -s p -l param -d 'Parameter override, repeatable: KEY=VALUE (JSON when it parses)' -r
complete -c ctl -n "__fish_ctl_using_subcommand replay" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand replay" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand replay" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand replay" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand replay" -l reuse-tool-results -d 'Give the model the results the original\'s read-only tool calls (search, fetch, vault, retrieval) got, instead of calling again'
complete -c ctl -n "__fish_ctl_using_subcommand replay" -l fresh-retrieval -d 'Search the vault again instead of reusing the sources the original retrieved (a replay reuses them by default)'
complete -c ctl -n "__fish_ctl_using_subcommand replay" -s f -l follow -d 'Stream the replay\'s output after submitting it'
complete -c ctl -n "__fish_ctl_using_subcommand replay" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand replay" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand replay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand replay" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand diff" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand diff" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand diff" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand diff" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand diff" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand diff" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand diff" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand stats" -l since -d 'Only jobs that finished within this long ago: 90m, 36h, 7d, 4w' -r
complete -c ctl -n "__fish_ctl_using_subcommand stats" -l by -d 'How to group' -r -f -a "model\t''
day\t''
skill\t''
tool\t'Tool calls per tool (from jobs and MCP clients)'"
complete -c ctl -n "__fish_ctl_using_subcommand stats" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand stats" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand stats" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand stats" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand stats" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand stats" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand stats" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -f -a "list" -d 'List every usable skill: the user\'s and the built-ins.'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -f -a "show" -d 'Print a skill\'s SKILL.md.'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -f -a "new" -d 'Create a skill folder with a SKILL.md template to edit. Prints its path.'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -f -a "validate" -d 'Check skills against the Agent Skills specification and ctl\'s limits.'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and not __fish_seen_subcommand_from list show new validate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from list" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from list" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from list" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from show" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from show" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from show" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from show" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from new" -l dir -d 'The skills directory to create it in (default: the first one searched)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from new" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from new" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from new" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from new" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from new" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from new" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from new" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from validate" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from validate" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from validate" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from validate" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from validate" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from validate" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from validate" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from help" -f -a "list" -d 'List every usable skill: the user\'s and the built-ins.'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print a skill\'s SKILL.md.'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from help" -f -a "new" -d 'Create a skill folder with a SKILL.md template to edit. Prints its path.'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from help" -f -a "validate" -d 'Check skills against the Agent Skills specification and ctl\'s limits.'
complete -c ctl -n "__fish_ctl_using_subcommand skills; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand worker" -s c -l concurrency -d 'Jobs to run at once (default: worker.concurrency from the config, 2)' -r
complete -c ctl -n "__fish_ctl_using_subcommand worker" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand worker" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand worker" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand worker" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand worker" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand worker" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand worker" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand worker" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand serve" -l listen -d 'Address to listen on' -r
complete -c ctl -n "__fish_ctl_using_subcommand serve" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand serve" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand serve" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand serve" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand serve" -l openapi -d 'Print the API\'s OpenAPI 3 document (JSON) and exit, e.g. to generate a client'
complete -c ctl -n "__fish_ctl_using_subcommand serve" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand serve" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand serve" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand up" -l listen -d 'Address to listen on' -r
complete -c ctl -n "__fish_ctl_using_subcommand up" -s c -l concurrency -d 'Jobs the embedded worker runs at once (default: worker.concurrency)' -r
complete -c ctl -n "__fish_ctl_using_subcommand up" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand up" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand up" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand up" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand up" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand up" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand up" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "create" -d 'Create a token and print it (once) on stdout'
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "list" -d 'List tokens (never their secrets)'
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "revoke" -d 'Revoke tokens by id, id prefix, or name'
complete -c ctl -n "__fish_ctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from create" -l name -d 'A name to recognise it by' -r
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from create" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from create" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from create" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from create" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from create" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from list" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from list" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from list" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a token and print it (once) on stdout'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "list" -d 'List tokens (never their secrets)'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke tokens by id, id prefix, or name'
complete -c ctl -n "__fish_ctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -f -a "list" -d 'List the enabled tools with their limits (`--json`: names, schemas, traits), the external MCP servers\' tools (`NAME.tool`) among them'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -f -a "call" -d 'Run a tool here, with the same guards and limits as over MCP; prints its text (`--json`: the whole result). Exit code 1 when the tool fails'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -f -a "servers" -d 'Start each external MCP server of `[mcp.servers]`, say whether it answers and list its tools, then stop it. Exit code 1 when one does not answer'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and not __fish_seen_subcommand_from list call servers help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from list" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from list" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from list" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -l arg -d 'An argument, `KEY=VALUE` (repeatable); VALUE is read as JSON when it parses (numbers, true, false), else as a string' -r
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -l args -d 'All arguments as one JSON object (the --arg values are merged into it)' -r
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from call" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from servers" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from servers" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from servers" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from servers" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from servers" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from servers" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from servers" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from servers" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the enabled tools with their limits (`--json`: names, schemas, traits), the external MCP servers\' tools (`NAME.tool`) among them'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from help" -f -a "call" -d 'Run a tool here, with the same guards and limits as over MCP; prints its text (`--json`: the whole result). Exit code 1 when the tool fails'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from help" -f -a "servers" -d 'Start each external MCP server of `[mcp.servers]`, say whether it answers and list its tools, then stop it. Exit code 1 when one does not answer'
complete -c ctl -n "__fish_ctl_using_subcommand tools; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand mcp" -l http -d 'Serve streamable HTTP on this address instead of stdio' -r
complete -c ctl -n "__fish_ctl_using_subcommand mcp" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand mcp" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand mcp" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand mcp" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand mcp" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand mcp" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand mcp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand mcp" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -f -a "reindex" -d 'Bring a vault\'s index up to date.'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -f -a "query" -d 'Search a vault: ranked chunks with `path#heading:lines`.'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -f -a "status" -d 'Show a vault\'s index: notes, chunks, model, last reindex, and what changed on disk since.'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and not __fish_seen_subcommand_from reindex query status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -l vault -d 'The vault (default: the only or the default one)' -r
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -l full -d 'Rebuild from scratch beside the current index, then switch to it'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -l extract -d 'Then extract entities and relations from every chunk not yet extracted, with `[rag] extract_model` (default: `default_model`). The estimated tokens (and cost, with `[prices]`) are printed first and, on a terminal, confirmed'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -s y -l yes -d 'Do not ask before extracting'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from reindex" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -l vault -d 'The vault (default: the only or the default one)' -r
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -l k -d 'How many results' -r
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -l mode -d 'Which indexes to use: all three fused, or one' -r -f -a "hybrid\t''
lexical\t''
vector\t''
graph\t''"
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -l explain -d 'Show each index\'s rank and score for every result'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from query" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -l vault -d 'The vault (default: the only or the default one)' -r
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -l files -d 'List each changed file'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "reindex" -d 'Bring a vault\'s index up to date.'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "query" -d 'Search a vault: ranked chunks with `path#heading:lines`.'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show a vault\'s index: notes, chunks, model, last reindex, and what changed on disk since.'
complete -c ctl -n "__fish_ctl_using_subcommand rag; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand doctor" -l timeout -d 'Seconds to wait for each provider' -r
complete -c ctl -n "__fish_ctl_using_subcommand doctor" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand doctor" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand doctor" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand doctor" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand doctor" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand doctor" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand migrate" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand migrate" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand migrate" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand migrate" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand migrate" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand migrate" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand migrate" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand export" -s o -l out -d 'Where to write the archive; `-` for stdout. A file is written whole or not at all' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand export" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand export" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand export" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand export" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand export" -l force -d 'Export even while workers are running'
complete -c ctl -n "__fish_ctl_using_subcommand export" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand export" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand export" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand import" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand import" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand import" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand import" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand import" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand import" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand import" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -f -a "test" -d 'Send a test message to every configured destination; exits non-zero when none is configured or one fails'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from test" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "test" -d 'Send a test message to every configured destination; exits non-zero when none is configured or one fails'
complete -c ctl -n "__fish_ctl_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand completions" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand completions" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand completions" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand completions" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand completions" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand completions" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand man" -l home -d 'Data directory (default: $XDG_DATA_HOME/ctl)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand man" -l config -d 'Config file (default: $XDG_CONFIG_HOME/ctl/ctl.toml, if it exists)' -r -F
complete -c ctl -n "__fish_ctl_using_subcommand man" -l server -d 'Send job commands to a `ctl serve` at this URL instead of the local data directory; the API token comes from CTL_TOKEN' -r
complete -c ctl -n "__fish_ctl_using_subcommand man" -l log-format -d 'Log lines as text, or as JSON objects that carry trace and span ids' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, with the trace and span ids'"
complete -c ctl -n "__fish_ctl_using_subcommand man" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c ctl -n "__fish_ctl_using_subcommand man" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c ctl -n "__fish_ctl_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ctl -n "__fish_ctl_using_subcommand man" -s V -l version -d 'Print version'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "submit" -d 'Queue a job. Prints the new job\'s id.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "tail" -d 'Stream a job\'s output as it is generated, until the job ends.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "jobs" -d 'List jobs, newest first.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "show" -d 'Show one job: state, model, timings, usage and output.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "cancel" -d 'Cancel a job. A queued job is cancelled at once; a running one is stopped by its worker within a second (this waits up to --wait seconds for that).'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "retry" -d 'Put a failed or cancelled job back in the queue, with fresh attempts.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "replay" -d 'Submit a sibling of a job: the same messages and the same skill snapshots (the exact skill text the original used, not the current files), with `parent_id` set. Prints the new job\'s id.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "diff" -d 'Compare two jobs: a unified diff of their outputs (coloured on a terminal), then a table of what differs in model, parameters, skills and usage.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "stats" -d 'Usage over finished jobs: jobs, failures, tokens, median time to first token and tokens/s, and cost when the config has a price table; or, by tool, the tool calls jobs and MCP clients made.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "skills" -d 'User-authored Agent Skills: folders with a SKILL.md of instructions.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "worker" -d 'Claim and run jobs until SIGTERM or Ctrl-C.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "serve" -d 'Serve the JSON + SSE API (and health and metrics) until SIGTERM.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "up" -d 'Run the API and a worker in one process: the quick start.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "token" -d 'Create, list and revoke API tokens.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "tools" -d 'The tools MCP clients and jobs can call: web_search, fetch, vault_list, vault_read, vault_search, run_code, skill_read.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "mcp" -d 'Serve ctl\'s tools and skills to an MCP host (Claude Desktop, Claude Code, Cursor, ...).'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "rag" -d 'Hybrid retrieval over a markdown (Obsidian) vault.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "doctor" -d 'Check the data directory, the database and every configured provider.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "migrate" -d 'Apply the pending schema migrations of the configured backend.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "export" -d 'Write everything this installation holds to one archive.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "import" -d 'Load an archive written by `ctl export` into this installation.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "alerts" -d 'Alerts that `ctl serve` sends (job failures, low disk, unreachable backends, a stuck queue).'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "completions" -d 'Print a shell completion script.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "man" -d 'Print the man page (roff).'
complete -c ctl -n "__fish_ctl_using_subcommand help; and not __fish_seen_subcommand_from submit tail jobs show cancel retry replay diff stats skills worker serve up token tools mcp rag doctor migrate export import alerts completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from skills" -f -a "list" -d 'List every usable skill: the user\'s and the built-ins.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from skills" -f -a "show" -d 'Print a skill\'s SKILL.md.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from skills" -f -a "new" -d 'Create a skill folder with a SKILL.md template to edit. Prints its path.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from skills" -f -a "validate" -d 'Check skills against the Agent Skills specification and ctl\'s limits.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "create" -d 'Create a token and print it (once) on stdout'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "list" -d 'List tokens (never their secrets)'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "revoke" -d 'Revoke tokens by id, id prefix, or name'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from tools" -f -a "list" -d 'List the enabled tools with their limits (`--json`: names, schemas, traits), the external MCP servers\' tools (`NAME.tool`) among them'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from tools" -f -a "call" -d 'Run a tool here, with the same guards and limits as over MCP; prints its text (`--json`: the whole result). Exit code 1 when the tool fails'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from tools" -f -a "servers" -d 'Start each external MCP server of `[mcp.servers]`, say whether it answers and list its tools, then stop it. Exit code 1 when one does not answer'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from rag" -f -a "reindex" -d 'Bring a vault\'s index up to date.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from rag" -f -a "query" -d 'Search a vault: ranked chunks with `path#heading:lines`.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from rag" -f -a "status" -d 'Show a vault\'s index: notes, chunks, model, last reindex, and what changed on disk since.'
complete -c ctl -n "__fish_ctl_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "test" -d 'Send a test message to every configured destination; exits non-zero when none is configured or one fails'
