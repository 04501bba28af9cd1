//! One file per command, wiring the stages together; `mod.rs` holds what every command shares:
//! exit codes, the repository root, the config, the tag source. Knows how no stage works.

mod check;
mod explain;
mod fix;
mod rules;
mod tags;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, ColorChoice, Command, RegistryArgs};
use crate::config::{self, Config};
use crate::registry::{CacheOptions, Registry, RegistryOptions};
use crate::tags::{TagSnapshot, TagSource};

/// Exit codes: 0 clean, 1 errors found, 2 the tool could not do its job.
pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_ERRORS: i32 = 1;
pub const EXIT_FAILURE: i32 = 2;

/// A failure to do the job at all (exit 2), with what to do about it.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure(error.to_string())
    }
}

/// Runs one command; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Check(args) if args.fix.fix => fix::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Rules { format } => rules::list(format),
        Command::Rule { id } => rules::show(&id),
        Command::Explain(args) => explain::run(&args),
        Command::Tags(args) => tags::run(&args),
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
        eprintln!("error: {message}");
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
    if flag.is_none() && !path.exists() {
        return Ok(Config::default());
    }
    let display = match path.canonicalize() {
        Ok(absolute) if absolute.starts_with(root) => crate::walk::relative_path(root, &absolute),
        _ => path.display().to_string(),
    };
    Ok(Config::load(&path, &display)?)
}

/// `--jobs`, else the number of CPUs.
pub fn jobs(flag: Option<usize>) -> usize {
    flag.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Tags from the snapshot when given, else from the registry.
pub fn tag_source(
    args: &RegistryArgs,
    tags_file: Option<&Path>,
    quiet: bool,
) -> Result<TagSource, Failure> {
    if let Some(path) = tags_file {
        return Ok(TagSource::Snapshot(TagSnapshot::load(path)?));
    }
    let options = RegistryOptions {
        timeout: std::time::Duration::from_secs(args.registry_timeout),
        concurrency_per_host: args.registry_concurrency.max(1),
        ca_file: args.ca_file.clone(),
        cache: (!args.no_cache).then(|| CacheOptions {
            dir: args
                .cache_dir
                .clone()
                .unwrap_or_else(crate::registry::default_cache_dir),
            ..CacheOptions::default()
        }),
        progress: !quiet && std::env::var_os("CI").is_none(),
        verbose: args.verbose,
        ..RegistryOptions::default()
    };
    Ok(TagSource::Registry(Box::new(Registry::new(options)?)))
}

/// Whether the human report is coloured.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    }
}
