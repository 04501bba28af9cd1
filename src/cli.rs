//! The command line: every subcommand and switch, with its help. Only clap definitions; what a
//! command does is in `app`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "flux-image-lint",
    version,
    about = "Lint and update Flux CD image automation markers ($imagepolicy)",
    long_about = "Checks every `# {\"$imagepolicy\": \"ns:name\"}` marker of a GitOps repository against its \
Flux ImagePolicies and ImageRepositories, before Flux silently ignores a mistake.",
    after_help = "Examples:\n  flux-image-lint check                    check the repository you are in\n  \
flux-image-lint check fixtures/homelab   check a directory as a repository of its own\n  \
flux-image-lint check --format json      machine-readable diagnostics\n  \
flux-image-lint rules                    list the rules\n  \
flux-image-lint rule unknown-policy      explain one rule\n  \
flux-image-lint check --fix --dry-run    what an update would change\n  \
flux-image-lint status                   every policy's latest tag and every marker's fate\n  \
flux-image-lint explain flux-system:app  every tag of a policy and its fate"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Switches every subcommand takes, before or after its name.
#[derive(Args, Clone, Copy)]
pub struct GlobalArgs {
    /// No progress and no closing summary; diagnostics, changes and errors still print.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say which root, config and served image APIs are used, and which files are skipped;
    /// twice (`-vv`): also log every registry request (credentials are never shown).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand)]
pub enum Command {
    /// Validate every marker and Flux image object of a repository.
    Check(Box<CheckArgs>),
    /// List every rule with its id, default severity and summary.
    Rules {
        /// `markdown` prints the table the README embeds.
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// Show every candidate tag of one policy and what happened to it, and the winner.
    Explain(ExplainArgs),
    /// Fetch the tags of every ImageRepository from the registries into a snapshot file.
    Tags(TagsArgs),
    /// Every ImagePolicy's latest tag and every marker's fate: up to date, update available,
    /// downgrade, or stuck and why (a report: exit 0 whatever the states).
    Status(StatusArgs),
    /// Print a shell completion script (`flux-image-lint completions bash > …`).
    Completions { shell: clap_complete::Shell },
    /// Print the documentation of one rule.
    Rule {
        /// The rule id, e.g. `unknown-policy`.
        id: String,
    },
}

#[derive(Args)]
pub struct RootArgs {
    /// Repository root (default: the git top-level of the current directory, else the current directory).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Config file (default: `.flux-image-lint.yaml` or `.flux-image-lint.yml` at the root).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Read no config file: every setting at its default.
    #[arg(long)]
    pub no_config: bool,
    /// Which kustomize renders what Flux applies: `off` (the native renderer, the default),
    /// `auto` (`kustomize`, else `kubectl`, from PATH) or the path of a binary. Overrides the
    /// config's `kustomize`.
    #[arg(long, value_name = "off|auto|PATH")]
    pub kustomize: Option<String>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// A directory to check as a repository of its own, or files to report on (the whole
    /// repository is still read for context, as pre-commit passes changed files).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub root: RootArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Worker threads for the walk, the renders and the rules (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Offline tag snapshot (`{"<spec.image>": ["tag", …]}`): tags for `--fix` instead of the
    /// registry, and more tags for `numeric-extract`.
    #[arg(long, value_name = "FILE")]
    pub tags_file: Option<PathBuf>,
    /// When to use colour in the human format (auto: on a terminal, unless NO_COLOR is set and
    /// not empty; FORCE_COLOR or CLICOLOR_FORCE force it).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Check every cluster as if it ran this Flux version (`2.9`, `2.9.x`): what would break on
    /// upgrade is an error.
    #[arg(long, value_name = "VERSION", conflicts_with = "fix")]
    pub flux_version: Option<String>,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Instead of the diagnostics, how many each rule found (human: a table; json: a
    /// `statistics` list).
    #[arg(long)]
    pub statistics: bool,
    /// Exit 0 even when errors are found (2 still means the tool could not do its job).
    #[arg(long, conflicts_with = "strict")]
    pub exit_zero: bool,
    /// Exit 1 on warnings too, not only on errors.
    #[arg(long)]
    pub strict: bool,
    /// Also what the staged deletions and renames break (the index against HEAD); with no
    /// FILE, nothing else is reported on. For pre-commit, which passes no deleted file.
    #[arg(long, conflicts_with = "fix")]
    pub staged: bool,
    #[command(flatten)]
    pub ci: CiArgs,
    #[command(flatten)]
    pub fix: FixArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// What a CI job keeps besides the log, all from the one run.
#[derive(Args)]
#[command(next_help_heading = "CI")]
pub struct CiArgs {
    /// Also write the report in FORMAT to FILE (repeatable), e.g. `sarif:report.sarif`: the
    /// log, annotations and an upload from one run.
    #[arg(long, value_name = "FORMAT:FILE", value_parser = parse_report_file)]
    pub report_file: Vec<(Format, PathBuf)>,
    /// Append a Markdown summary to FILE (counts, what could not be resolved, the changes and
    /// stuck markers as `status` shows them (with --fix, or --tags-file), diagnostics):
    /// `$GITHUB_STEP_SUMMARY`, or a pull-request comment.
    #[arg(long, value_name = "FILE")]
    pub summary_file: Option<PathBuf>,
    /// Append the counts as `KEY=VALUE` lines to FILE (`errors`, `warnings`, `changed`,
    /// `unresolved`): `$GITHUB_OUTPUT`.
    #[arg(long, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,
    /// Paths in reports relative to DIR instead of the repository root: annotations and SARIF
    /// of a sub-folder checked in CI point at the workspace's files.
    #[arg(long, value_name = "DIR")]
    pub relative_to: Option<PathBuf>,
}

/// `FORMAT:FILE` of `--report-file`.
fn parse_report_file(text: &str) -> Result<(Format, PathBuf), String> {
    let (format, file) = text
        .split_once(':')
        .filter(|(_, file)| !file.is_empty())
        .ok_or("expected FORMAT:FILE, e.g. sarif:report.sarif")?;
    let format = Format::from_str(format, false)?;
    Ok((format, PathBuf::from(file)))
}

#[derive(Args)]
#[command(next_help_heading = "Fixing")]
pub struct FixArgs {
    /// Apply every policy and rewrite the marked values in place.
    #[arg(long)]
    pub fix: bool,
    /// With --fix: print a unified diff and change nothing; exit 1 when something would change
    /// (like `ruff format --check`).
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
    /// With --fix: refuse to write a tag the policy ranks below the current one (Flux writes it anyway).
    #[arg(long, requires = "fix")]
    pub no_downgrade: bool,
    /// With --fix: apply what resolved even when some policies could not be (exit code stays 2).
    #[arg(long, requires = "fix")]
    pub keep_going: bool,
    /// With --fix: commit the changes to the weekly review branch and push it, reading every
    /// input from the base commit; the working tree, index and current branch stay untouched.
    #[arg(long, requires = "fix", conflicts_with = "dry_run")]
    pub push: bool,
    /// Review branch template (`{iso_year}`, `{iso_week}`, `{date}`).
    #[arg(long, value_name = "TEMPLATE")]
    pub branch: Option<String>,
    /// Branch the review branch is built on (default: the current branch).
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
    /// Remote to push to (default: `origin`, or `remote` in the config).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
    /// Commit author, `Name <email>` (default: git's identity).
    #[arg(long, value_name = "IDENTITY")]
    pub author: Option<String>,
    /// Add a `Signed-off-by:` trailer.
    #[arg(long)]
    pub signoff: bool,
    /// Replace the review branch even when it holds commits this tool did not make.
    #[arg(long)]
    pub force: bool,
    /// With --push: seconds each `git ls-remote`, `fetch` and `push` may take before it is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub git_timeout: u64,
    /// With --push: create or update the pull request of the review branch on Forgejo/Gitea or
    /// GitHub (token from FORGEJO_TOKEN, GITEA_TOKEN or GITHUB_TOKEN).
    #[arg(long, requires = "push")]
    pub open_pr: bool,
    /// The forge of the remote (default: github.com is GitHub, anything else Forgejo/Gitea).
    #[arg(long, value_name = "KIND", requires = "open_pr")]
    pub forge: Option<crate::forge::Forge>,
    /// The forge's API URL (default: derived from the remote URL).
    #[arg(long, value_name = "URL", requires = "open_pr")]
    pub forge_api_url: Option<String>,
}

#[derive(Args)]
#[command(next_help_heading = "Registry")]
pub struct RegistryArgs {
    /// Seconds to wait for each registry answer (an ImageRepository's `spec.timeout` wins).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub registry_timeout: u64,
    /// Seconds to wait for a connection (TCP and TLS) to a registry; at most the request timeout.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub registry_connect_timeout: u64,
    /// Parallel requests per registry host.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub registry_concurrency: usize,
    /// Extra CA certificates (PEM) to trust, like Flux's `certSecretRef`.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Where tag lists are cached (default: the user's cache directory).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the tag cache.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Args)]
pub struct TagsArgs {
    #[command(flatten)]
    pub root: RootArgs,
    /// Write the snapshot to this file (`{"<spec.image>": ["tag", …]}`), for `--tags-file`.
    #[arg(long, value_name = "FILE")]
    pub write: PathBuf,
    /// Write the repositories that resolved even when others failed (exit code stays 2).
    #[arg(long)]
    pub keep_going: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Args)]
pub struct StatusArgs {
    /// A directory to report on as a repository of its own (default: as for `check`).
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub root: RootArgs,
    /// Output format: a table, a JSON document, or Markdown (pull requests, job summaries).
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
    /// Show only the stuck markers, or only the updates and downgrades.
    #[arg(long, value_enum)]
    pub only: Option<StatusOnly>,
    /// Offline tag snapshot (`{"<spec.image>": ["tag", …]}`); default: ask the registries.
    #[arg(long, value_name = "FILE")]
    pub tags_file: Option<PathBuf>,
    /// When to use colour in the human format (as for `check`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Worker threads for the walk, the renders and the rules (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusOnly {
    /// Markers Flux will not move, and why.
    Stuck,
    /// Markers `check --fix` would change (updates and downgrades).
    Updates,
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The policy as `namespace:name`.
    pub policy: String,
    #[command(flatten)]
    pub root: RootArgs,
    /// The cluster whose copy of the policy to explain, as `check -v` names it (the path its
    /// bootstrap syncs, e.g. `clusters/production`): needed where clusters select differently.
    #[arg(long, value_name = "PATH")]
    pub cluster: Option<String>,
    /// Offline tag snapshot (`{"<spec.image>": ["tag", …]}`); default: ask the registry.
    #[arg(long, value_name = "FILE")]
    pub tags_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ExplainFormat::Human)]
    pub format: ExplainFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
    Junit,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Markdown,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
