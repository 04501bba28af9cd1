//! `status [PATH]`: resolve every ImagePolicy as `--fix` does (tags from the registries or a
//! snapshot), plan the changes `--fix` would make, run the rules as `check` does, and show each
//! policy with its markers' fates. A report: exit 0 whatever the states, 2 when it cannot run.

use std::io::IsTerminal;

use super::{
    emit, find_targets, jobs, load_config, progress, read_as_scanned, report_width, tag_source,
    use_color, Failure, EXIT_CLEAN,
};
use crate::cli::{GlobalArgs, StatusArgs, StatusFormat, StatusOnly};
use crate::config::Config;
use crate::report::{markdown, status_table, Diagnostic};
use crate::rules;
use crate::status::{self, Inputs};
use crate::tags::TagSource;
use crate::update;
use crate::workspace::Workspace;

/// The widest table `status` prints, whatever the terminal.
const MAX_WIDTH: usize = 100;

pub fn run(args: &StatusArgs, global: GlobalArgs) -> Result<i32, Failure> {
    let paths: Vec<_> = args.path.iter().cloned().collect();
    // One PATH at most: one target.
    let target = find_targets(&paths, args.root.root.as_deref())?.remove(0);
    if target.only_files.is_some() {
        return Err(Failure(
            "status reports on a whole repository: pass a directory, not a file".into(),
        ));
    }
    let config = load_config(&target, &args.root, global)?;
    let source = tag_source(&args.registry, args.tags_file.as_deref(), global)?;
    let workspace = Workspace::load(&target.root, &config, jobs(args.jobs))?;
    let quiet = global.quiet || args.format != StatusFormat::Human;
    let (diagnostics, _) = rules::run(&workspace, &config, source.snapshot(), None);
    let mut status = of_workspace(&workspace, &config, &source, &diagnostics, quiet);
    match args.only {
        Some(StatusOnly::Stuck) => status.keep(status::State::is_stuck),
        Some(StatusOnly::Updates) => status.keep(status::State::is_change),
        None => {}
    }
    let text = match args.format {
        StatusFormat::Json => {
            serde_json::to_string_pretty(&status).expect("the status serialises") + "\n"
        }
        StatusFormat::Markdown => markdown::status(&status),
        StatusFormat::Human => {
            let to_terminal = args.output_file.is_none() && std::io::stdout().is_terminal();
            status_table::render(
                &status,
                status_table::Style {
                    color: use_color(args.color, to_terminal),
                    width: report_width(to_terminal).map_or(MAX_WIDTH, |w| w.min(MAX_WIDTH)),
                },
            )
        }
    };
    read_as_scanned(&workspace)?;
    emit(&text, args.output_file.as_deref())?;
    Ok(EXIT_CLEAN)
}

/// Every policy resolved as `--fix` resolves the ones it applies (tags from `source`, failures
/// part of the result rather than printed), the changes `--fix` would make, and each marker's
/// fate given `check`'s `diagnostics` on the same workspace: what `status` shows, and the
/// pending updates of a `check` run's summary.
pub fn of_workspace(
    workspace: &Workspace,
    config: &Config,
    source: &TagSource,
    diagnostics: &[Diagnostic],
    quiet: bool,
) -> status::Status {
    let needs = update::needs_for(workspace, status::listed_policies(workspace));
    let fetched = progress::fetch(source, &needs.requests, quiet, false);
    let resolution = update::resolve(needs, &fetched, source);
    let plan = update::plan(workspace, &resolution, None, false);
    status::build(&Inputs {
        workspace,
        config,
        resolution: &resolution,
        plan: &plan,
        diagnostics,
    })
}
