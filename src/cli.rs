//! Arguments, the repository root, exit codes, and wiring the stages together. Knows how no
//! stage works.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::explain::Explanation;
use crate::flux::selection::compile;
use crate::flux::Kind;
use crate::git;
use crate::registry::{CacheOptions, Registry, RegistryOptions};
use crate::report::{self, Report, Severity};
use crate::rules;
use crate::scan::marker::PolicyRef;
use crate::tags::{request_for, TagSnapshot, TagSource};
use crate::update;
use crate::workspace::Workspace;

/// Exit codes: 0 clean, 1 errors found, 2 the tool could not do its job.
pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_ERRORS: i32 = 1;
pub const EXIT_FAILURE: i32 = 2;

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
flux-image-lint explain flux-system:app  every tag of a policy and its fate"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Validate every marker and Flux image object of a repository.
    Check(CheckArgs),
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
    /// Config file (default: `.flux-image-lint.yaml` at the root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// Worker threads for the walk (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Offline tag snapshot (`{"<spec.image>": ["tag", …]}`): tags for `--fix` instead of the
    /// registry, and more tags for `numeric-extract`.
    #[arg(long, value_name = "FILE")]
    pub tags_file: Option<PathBuf>,
    /// When to use colour in the human format.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub fix: FixArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Args)]
#[command(next_help_heading = "Fixing")]
pub struct FixArgs {
    /// Apply every policy and rewrite the marked values in place.
    #[arg(long)]
    pub fix: bool,
    /// With --fix: print a unified diff and change nothing.
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
    /// With --fix: refuse to write a tag the policy ranks below the current one (Flux writes it anyway).
    #[arg(long, requires = "fix")]
    pub no_downgrade: bool,
    /// With --fix: apply what resolved even when some registries failed (exit code stays 2).
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
    /// Seconds to wait for each registry request (an ImageRepository's `spec.timeout` wins).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub registry_timeout: u64,
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
    /// Log registry requests on stderr (credentials are never shown).
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

impl RegistryArgs {
    /// Tags from the snapshot when given, else from the registry.
    pub fn source(&self, tags_file: Option<&Path>, quiet: bool) -> Result<TagSource, Failure> {
        if let Some(path) = tags_file {
            return Ok(TagSource::Snapshot(TagSnapshot::load(path)?));
        }
        let options = RegistryOptions {
            timeout: std::time::Duration::from_secs(self.registry_timeout),
            concurrency_per_host: self.registry_concurrency.max(1),
            ca_file: self.ca_file.clone(),
            cache: if self.no_cache {
                None
            } else {
                self.cache_dir
                    .clone()
                    .or_else(crate::registry::default_cache_dir)
                    .map(CacheOptions::new)
            },
            progress: !quiet && std::env::var_os("CI").is_none(),
            verbose: self.verbose,
            ..RegistryOptions::default()
        };
        Ok(TagSource::Registry(Box::new(Registry::new(options)?)))
    }
}

#[derive(Args)]
pub struct TagsArgs {
    #[command(flatten)]
    pub root: RootArgs,
    /// Write the snapshot to this file (`{"<spec.image>": ["tag", …]}`), for `--tags-file`.
    #[arg(long, value_name = "FILE")]
    pub write: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The policy as `namespace:name`.
    pub policy: String,
    #[command(flatten)]
    pub root: RootArgs,
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

/// A failure to do the job at all (exit 2), with what to do about it.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure(error.to_string())
    }
}

pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Check(args) => check(&args),
        Command::Rules { format } => {
            list_rules(format);
            Ok(EXIT_CLEAN)
        }
        Command::Rule { id } => show_rule(&id),
        Command::Explain(args) => explain(&args),
        Command::Tags(args) => write_tags(&args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(
                shell,
                &mut command,
                "flux-image-lint",
                &mut std::io::stdout(),
            );
            Ok(EXIT_CLEAN)
        }
    };
    result.unwrap_or_else(|Failure(message)| {
        eprintln!("error: {}", report::escape(&message));
        EXIT_FAILURE
    })
}

/// Where a command works: the root, and the files to report on (`None`: all).
pub struct Target {
    pub root: PathBuf,
    pub only_files: Option<Vec<String>>,
}

/// Finds the root the same way for every subcommand: a directory PATH is a root of its own;
/// otherwise `--root`, else the git top-level of the current directory, else the current directory.
pub fn find_targets(paths: &[PathBuf], root_flag: Option<&Path>) -> Result<Vec<Target>, Failure> {
    for path in paths {
        if !path.exists() {
            return Err(Failure(format!("`{}` does not exist", path.display())));
        }
    }
    let (dirs, files): (Vec<&PathBuf>, Vec<&PathBuf>) = paths.iter().partition(|p| p.is_dir());
    if !dirs.is_empty() && !files.is_empty() {
        return Err(Failure(
            "pass either directories (each checked as a repository) or files, not both".into(),
        ));
    }
    if !dirs.is_empty() {
        return dirs
            .into_iter()
            .map(|dir| {
                Ok(Target {
                    root: dir.canonicalize()?,
                    only_files: None,
                })
            })
            .collect();
    }
    let cwd = std::env::current_dir()?;
    let root = match root_flag {
        Some(root) => root
            .canonicalize()
            .map_err(|e| Failure(format!("--root {}: {e}", root.display())))?,
        None => crate::walk::git_toplevel(&cwd).unwrap_or(cwd),
    };
    let only_files = if files.is_empty() {
        None
    } else {
        let mut relative = Vec::new();
        for file in files {
            let absolute = file.canonicalize()?;
            if !absolute.starts_with(&root) {
                return Err(Failure(format!(
                    "`{}` is outside the repository root `{}`; pass --root",
                    file.display(),
                    root.display()
                )));
            }
            relative.push(crate::walk::relative_path(&root, &absolute));
        }
        Some(relative)
    };
    Ok(vec![Target { root, only_files }])
}

/// Reads `--config`, else the root's `.flux-image-lint.yaml`, else defaults.
pub fn load_config(root: &Path, flag: Option<&Path>) -> Result<Config, Failure> {
    let path = match flag {
        Some(path) => path.to_path_buf(),
        None => root.join(config::FILE_NAME),
    };
    if flag.is_none() && path.symlink_metadata().is_err() {
        return Ok(Config::default());
    }
    let display = match path.canonicalize() {
        Ok(absolute) if absolute.starts_with(root) => crate::walk::relative_path(root, &absolute),
        // The repository's own config must not be a link out of it (to a device, another
        // user's file): a checked-out repository decides nothing outside itself.
        _ if flag.is_none() => {
            return Err(Failure(format!(
                "{}: a symbolic link that leaves the repository (or points nowhere); not read",
                config::FILE_NAME
            )))
        }
        _ => path.display().to_string(),
    };
    Ok(Config::load(&path, &display)?)
}

fn jobs(flag: Option<usize>) -> usize {
    flag.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn check(args: &CheckArgs) -> Result<i32, Failure> {
    if args.fix.fix {
        return fix(args);
    }
    let targets = find_targets(&args.paths, args.root.root.as_deref())?;
    let snapshot = args
        .tags_file
        .as_deref()
        .map(TagSnapshot::load)
        .transpose()?;
    let mut diagnostics = Vec::new();
    let mut summary = report::Summary::default();
    let mut texts: Vec<(String, String)> = Vec::new();
    let prefix_paths = targets.len() > 1;
    for target in &targets {
        let config = load_config(&target.root, args.root.config.as_deref())?;
        let workspace = Workspace::load(&target.root, &config, jobs(args.jobs));
        for error in &workspace.read_errors {
            eprintln!("warning: {}", report::escape(&error.message));
        }
        let (mut found, found_summary) = rules::run(
            &workspace,
            &config,
            snapshot.as_ref(),
            target.only_files.as_deref(),
        );
        if prefix_paths {
            let prefix = target.root.display().to_string();
            for d in &mut found {
                d.file = format!("{prefix}/{}", d.file);
            }
        }
        for file in workspace.files {
            let path = if prefix_paths {
                format!("{}/{}", target.root.display(), file.source.path)
            } else {
                file.source.path
            };
            texts.push((path, file.source.text));
        }
        summary.files_scanned += found_summary.files_scanned;
        summary.yaml_files += found_summary.yaml_files;
        summary.markers += found_summary.markers;
        summary.policies += found_summary.policies;
        summary.repositories += found_summary.repositories;
        summary.errors += found_summary.errors;
        summary.warnings += found_summary.warnings;
        diagnostics.extend(found);
    }
    let report = Report {
        diagnostics: &diagnostics,
        summary: &summary,
    };
    let output = match args.format {
        Format::Json => report::json::render(&report),
        Format::Github => report::github::render(&report),
        Format::Sarif => report::sarif::render(&report),
        Format::Junit => report::junit::render(&report),
        Format::Human => {
            let sources: HashMap<&str, &str> = texts
                .iter()
                .map(|(p, t)| (p.as_str(), t.as_str()))
                .collect();
            report::human::render(&report, &sources, use_color(args.color))
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(output.as_bytes());
    let _ = stdout.flush();
    Ok(
        if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            EXIT_ERRORS
        } else {
            EXIT_CLEAN
        },
    )
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    }
}

fn list_rules(format: RulesFormat) {
    let width = rules::RULES.iter().map(|r| r.id.len()).max().unwrap_or(0);
    if format == RulesFormat::Markdown {
        println!("| rule | default | what it catches |\n|---|---|---|");
    }
    for rule in rules::RULES {
        let severity = rule.severity.as_str();
        match format {
            RulesFormat::Text => println!("{:width$}  {severity:7}  {}", rule.id, rule.summary),
            RulesFormat::Markdown => println!("| `{}` | {severity} | {} |", rule.id, rule.summary),
        }
    }
}

fn show_rule(id: &str) -> Result<i32, Failure> {
    let rule = rules::find(id).ok_or_else(|| {
        let hint = rules::closest_id(id)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        Failure(format!(
            "unknown rule `{id}`{hint}; `flux-image-lint rules` lists them"
        ))
    })?;
    println!(
        "# {} ({} by default)\n\n{}\n\n{}",
        rule.id,
        rule.severity.as_str(),
        rule.summary,
        rule.docs.trim_end()
    );
    Ok(EXIT_CLEAN)
}

fn explain(args: &ExplainArgs) -> Result<i32, Failure> {
    let wanted = PolicyRef::parse(&args.policy)
        .ok_or_else(|| Failure(format!("`{}` is not `namespace:name`", args.policy)))?;
    let target = find_targets(&[], args.root.root.as_deref())?.remove(0);
    let config = load_config(&target.root, args.root.config.as_deref())?;
    let workspace = Workspace::load(&target.root, &config, jobs(None));
    let Some((policy, spec)) = workspace.index.policy(&wanted.namespace, &wanted.name) else {
        let known = workspace.index.keys(Kind::ImagePolicy);
        let hint = crate::rules::closest_policy(&args.policy, &known)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        return Err(Failure(format!(
            "no ImagePolicy `{wanted}` in {}{hint}",
            target.root.display()
        )));
    };
    let image = workspace
        .index
        .repository_of(policy, spec)
        .and_then(|(_, repository)| repository.image.as_ref())
        .map(|image| image.value.clone())
        .ok_or_else(|| {
            Failure(format!(
                "policy `{wanted}` has no ImageRepository with a `spec.image`; `check` says why"
            ))
        })?;
    let compiled = compile(&workspace.index, policy, spec).map_err(|error| {
        Failure(format!(
            "policy `{wanted}` cannot select tags: {error}; run `check` for details"
        ))
    })?;
    let request = workspace
        .index
        .repository_of(policy, spec)
        .and_then(|(_, repository)| request_for(repository))
        .ok_or_else(|| Failure(format!("policy `{wanted}` has no usable ImageRepository")))?;
    let source = args.registry.source(
        args.tags_file.as_deref(),
        args.format == ExplainFormat::Json,
    )?;
    let tags = source.fetch(std::slice::from_ref(&request)).remove(0)?;
    let explanation = Explanation::new(wanted.to_string(), image, compiled.evaluate(&tags));
    let output = match args.format {
        ExplainFormat::Json => explanation.render_json(),
        ExplainFormat::Human => explanation.render_human(),
    };
    print!("{output}");
    Ok(EXIT_CLEAN)
}

fn write_tags(args: &TagsArgs) -> Result<i32, Failure> {
    let target = find_targets(&[], args.root.root.as_deref())?.remove(0);
    let config = load_config(&target.root, args.root.config.as_deref())?;
    let workspace = Workspace::load(&target.root, &config, jobs(None));
    let mut requests: Vec<crate::registry::TagRequest> = Vec::new();
    for object in workspace.index.of_kind(Kind::ImageRepository) {
        if let crate::flux::objects::Spec::Repository(repository) = &object.spec {
            if let Some(request) = request_for(repository) {
                if !requests.iter().any(|r| r.image == request.image) {
                    requests.push(request);
                }
            }
        }
    }
    let source = args.registry.source(None, false)?;
    let mut snapshot = TagSnapshot::default();
    let mut failed = 0;
    for (request, result) in requests.iter().zip(source.fetch(&requests)) {
        match result {
            Ok(tags) => {
                snapshot.images.insert(request.image.clone(), tags);
            }
            Err(message) => {
                failed += 1;
                eprintln!("error: {}", report::escape(&message));
            }
        }
    }
    if failed > 0 {
        return Err(Failure(format!(
            "{failed} of {} repositories failed; {} not written",
            requests.len(),
            args.write.display()
        )));
    }
    crate::fix::write::write_new(&args.write, snapshot.render().as_bytes())?;
    eprintln!(
        "wrote the tags of {} repositories to {}",
        snapshot.images.len(),
        args.write.display()
    );
    Ok(EXIT_CLEAN)
}

/// `check --fix`: resolve, plan, then write in place (or diff, or commit and push), and report
/// what remains. Nothing is written when a policy could not be resolved, unless `--keep-going`.
fn fix(args: &CheckArgs) -> Result<i32, Failure> {
    let mut targets = find_targets(&args.paths, args.root.root.as_deref())?;
    if targets.len() != 1 {
        return Err(Failure("--fix works on one repository at a time".into()));
    }
    let target = targets.remove(0);
    let quiet = args.format != Format::Human;
    let source = args.registry.source(args.tags_file.as_deref(), quiet)?;
    let fix = &args.fix;
    // With --push every input comes from the base commit, materialised in a scratch directory,
    // so the user's working tree is never read or touched.
    let scratch;
    let (work_root, git_prefix) = if fix.push {
        let toplevel = git::toplevel(&target.root).ok_or_else(|| {
            Failure(format!(
                "--push needs a git repository, and {} is not in one",
                target.root.display()
            ))
        })?;
        let prefix = crate::walk::relative_path(&toplevel, &target.root);
        let (_, files) = git::read_base_files(&toplevel, fix.base.as_deref(), |path| {
            (prefix.is_empty() || path.starts_with(&format!("{prefix}/")))
                && crate::walk::is_yaml_name(path.rsplit('/').next().unwrap_or(path))
        })?;
        scratch = tempfile::tempdir()?;
        for (path, bytes) in files {
            let relative = if prefix.is_empty() {
                path.as_str()
            } else {
                &path[prefix.len() + 1..]
            };
            let destination = scratch.path().join(relative);
            std::fs::create_dir_all(destination.parent().expect("files have a parent"))?;
            std::fs::write(destination, bytes)?;
        }
        (scratch.path().to_path_buf(), Some(prefix))
    } else {
        (target.root.clone(), None)
    };
    let config = load_config(&work_root, args.root.config.as_deref())?;
    let workspace = Workspace::load(&work_root, &config, jobs(args.jobs));
    let resolution = update::resolve(&workspace, &source);
    for failure in &resolution.failures {
        eprintln!(
            "error: {}: {}",
            failure.policy,
            report::escape(&failure.message)
        );
    }
    if !resolution.failures.is_empty() && !fix.keep_going {
        eprintln!(
            "error: {} polic{} could not be resolved; nothing was written (use --keep-going to apply the rest)",
            resolution.failures.len(),
            if resolution.failures.len() == 1 { "y" } else { "ies" }
        );
        return Ok(EXIT_FAILURE);
    }
    let plan = update::plan(
        &workspace,
        &resolution,
        target.only_files.as_deref(),
        fix.no_downgrade,
    );
    for refused in &plan.refused_downgrades {
        eprintln!(
            "warning: {}:{}: not downgrading {} to {} ({}), as --no-downgrade asks",
            report::escape(&refused.path),
            refused.line,
            report::escape(&refused.old),
            refused.new,
            refused.policy
        );
    }
    let mut push_outcome = None;
    let mut failed = !resolution.failures.is_empty();
    if fix.dry_run {
        if args.format == Format::Human {
            print!("{}", update::diff(&workspace, &plan.changes));
        }
    } else if let Some(prefix) = &git_prefix {
        let files: Vec<(String, Vec<u8>)> = crate::fix::new_contents(&workspace, &plan.changes)
            .into_iter()
            .map(|(file, bytes)| {
                let path = &workspace.files[file].source.path;
                let path = if prefix.is_empty() {
                    path.clone()
                } else {
                    format!("{prefix}/{path}")
                };
                (path, bytes)
            })
            .collect();
        update::write_changes(&workspace, &plan.changes)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let template = fix
            .branch
            .clone()
            .or(config.branch.clone())
            .unwrap_or_else(|| git::DEFAULT_BRANCH_TEMPLATE.to_string());
        let branch = git::weekly_branch_name(&template, now)?;
        let week = git::weekly_branch_name("{iso_year}-w{iso_week}", now)?;
        let remote = fix
            .remote
            .clone()
            .or(config.remote.clone())
            .unwrap_or_else(|| "origin".to_string());
        let author = fix
            .author
            .as_deref()
            .or(config.author.as_deref())
            .map(parse_identity)
            .transpose()?;
        let message = commit_message(config.commit_message.as_deref(), &week, &plan.changes);
        let request = git::PublishRequest {
            repo: &target.root,
            base: fix.base.as_deref(),
            branch: &branch,
            remote: &remote,
            files: &files,
            message: &message,
            author,
            committer: None,
            signoff: fix.signoff,
            force: fix.force,
            timeout: std::time::Duration::from_secs(fix.git_timeout.max(1)),
        };
        match git::publish(&request) {
            Ok(outcome) => {
                if fix.open_pr && !matches!(outcome, git::PublishOutcome::NothingToCommit) {
                    let base = fix
                        .base
                        .clone()
                        .or_else(|| git::current_branch(&target.root));
                    match open_pull_request(
                        fix,
                        &target.root,
                        &remote,
                        &branch,
                        base,
                        &week,
                        &plan.changes,
                    ) {
                        Ok(line) => eprintln!("{}", report::escape(&line)),
                        Err(message) => {
                            eprintln!("error: {}", report::escape(&message));
                            failed = true;
                        }
                    }
                }
                push_outcome = Some(outcome);
            }
            Err(error) => {
                eprintln!("error: {}", report::escape(&error.to_string()));
                failed = true;
            }
        }
    } else {
        update::write_changes(&workspace, &plan.changes)?;
    }
    // What remains: the repository as it is now (after writing), or as it would be.
    let after = if fix.dry_run {
        workspace
    } else {
        Workspace::load(&work_root, &config, jobs(args.jobs))
    };
    // The tags file was read once, for the tag source; the rules see the same snapshot.
    let snapshot = match &source {
        TagSource::Snapshot(snapshot) => Some(snapshot),
        TagSource::Registry(_) => None,
    };
    let (diagnostics, summary) =
        rules::run(&after, &config, snapshot, target.only_files.as_deref());
    let report = Report {
        diagnostics: &diagnostics,
        summary: &summary,
    };
    let push_json = push_outcome.as_ref().map(push_summary);
    let output = match args.format {
        Format::Json => {
            let mut document: serde_json::Value =
                serde_json::from_str(&report::json::render(&report)).expect("own JSON");
            document["changes"] =
                serde_json::to_value(update::records(&plan.changes)).expect("changes serialise");
            document["refused_downgrades"] =
                serde_json::to_value(update::records(&plan.refused_downgrades)).expect("serialise");
            document["failures"] =
                serde_json::to_value(&resolution.failures).expect("failures serialise");
            document["push"] = push_json.map_or(serde_json::Value::Null, |(_, value)| value);
            let mut text = serde_json::to_string_pretty(&document).expect("serialise");
            text.push('\n');
            text
        }
        _ => {
            let mut text = if plan.changes.is_empty() {
                "no changes: every marker is up to date\n".to_string()
            } else {
                let verb = if fix.dry_run {
                    "would change"
                } else if fix.push && push_json.is_none() {
                    "not pushed (nothing changed)"
                } else {
                    "changed"
                };
                format!(
                    "{}{} {verb}\n",
                    update::render_changes(&plan.changes),
                    plan.changes.len()
                )
            };
            if let Some((line, _)) = push_json {
                text.push_str(&line);
            }
            if !diagnostics.is_empty() {
                let texts: HashMap<&str, &str> = after
                    .files
                    .iter()
                    .map(|f| (f.source.path.as_str(), f.source.text.as_str()))
                    .collect();
                text.push_str(&report::human::render(
                    &report,
                    &texts,
                    use_color(args.color),
                ));
            }
            text
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(output.as_bytes());
    Ok(if failed {
        EXIT_FAILURE
    } else if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        EXIT_ERRORS
    } else {
        EXIT_CLEAN
    })
}

/// The commit message: the config's template (`{week}`, `{changes}`) or
/// `chore(images): update images for 2026-w04` and one line per change (bulleted, so that git
/// does not read `name: old → new` lines as trailers).
fn commit_message(template: Option<&str>, week: &str, changes: &[crate::fix::Change]) -> String {
    let lines: String = changes
        .iter()
        .map(|c| format!("- {}: {} → {} ({})\n", c.policy.name, c.old, c.new, c.path))
        .collect();
    template
        .unwrap_or("chore(images): update images for {week}\n\n{changes}")
        .replace("{week}", week)
        .replace("{changes}", &lines)
}

/// Creates or updates the review branch's pull request; the body lists the changes.
fn open_pull_request(
    fix: &FixArgs,
    repo: &Path,
    remote: &str,
    branch: &str,
    base: Option<String>,
    week: &str,
    changes: &[crate::fix::Change],
) -> Result<String, String> {
    use crate::forge;
    let remote_url = git::remote_url(repo, remote)
        .ok_or_else(|| format!("cannot read the URL of remote `{remote}`"))?;
    let base = base.ok_or("--open-pr needs --base on a detached HEAD")?;
    let kind = match fix.forge {
        Some(kind) => kind,
        None => forge::detect(&remote_url).map_err(|e| e.to_string())?.0,
    };
    let token = forge::token_from_env(kind)
        .ok_or_else(|| forge::ForgeError::MissingToken { forge: kind }.to_string())?;
    let mut body = String::from("Image updates selected by the repository's ImagePolicies, as Flux would apply them.\n\n| file | line | policy | old | new |\n|---|---|---|---|---|\n");
    for c in changes {
        body.push_str(&format!(
            "| `{}` | {} | `{}{}` | `{}` | `{}` |\n",
            c.path,
            c.line,
            c.policy,
            c.kind.suffix(),
            c.old,
            c.new
        ));
    }
    body.push_str("\nGenerated by flux-image-lint.\n");
    let spec = forge::PullRequestSpec {
        remote_url,
        head: branch.to_string(),
        base,
        title: format!("chore(images): update images for {week}"),
        body,
    };
    let options = forge::ForgeOptions {
        forge: Some(kind),
        api_url: fix.forge_api_url.clone(),
        ..forge::ForgeOptions::new(token)
    };
    forge::open_or_update(&spec, &options)
        .map(|outcome| outcome.to_string())
        .map_err(|e| e.to_string())
}

fn push_summary(outcome: &git::PublishOutcome) -> (String, serde_json::Value) {
    match outcome {
        git::PublishOutcome::Pushed {
            branch,
            commit,
            replaced,
        } => (
            match replaced {
                Some(old) => format!("pushed {branch} at {commit} (replacing {old})\n"),
                None => format!("pushed {branch} at {commit}\n"),
            },
            serde_json::json!({"outcome": "pushed", "branch": branch, "commit": commit, "replaced": replaced}),
        ),
        git::PublishOutcome::UpToDate { branch, commit } => (
            format!("{branch} is already up to date at {commit}; nothing pushed\n"),
            serde_json::json!({"outcome": "up-to-date", "branch": branch, "commit": commit}),
        ),
        git::PublishOutcome::NothingToCommit => (
            "nothing to commit; nothing pushed\n".to_string(),
            serde_json::json!({"outcome": "nothing-to-commit"}),
        ),
    }
}

/// `Name <email>`.
fn parse_identity(text: &str) -> Result<git::Identity, Failure> {
    let (name, rest) = text
        .split_once('<')
        .ok_or_else(|| Failure(format!("--author `{text}` is not `Name <email>`")))?;
    let email = rest
        .strip_suffix('>')
        .ok_or_else(|| Failure(format!("--author `{text}` is not `Name <email>`")))?;
    Ok(git::Identity {
        name: name.trim().to_string(),
        email: email.trim().to_string(),
    })
}
