//! `explain NS:NAME`: every candidate tag of one policy's repository and its fate.

use super::progress;
use super::{find_targets, jobs, load_config, read_as_scanned, tag_source, Failure, EXIT_CLEAN};
use crate::cli::{ExplainArgs, ExplainFormat, GlobalArgs};
use crate::explain::Explanation;
use crate::flux::selection::Compiler;
use crate::flux::Kind;
use crate::scan::marker::PolicyRef;
use crate::tags::request_for;
use crate::workspace::Workspace;

pub fn run(args: &ExplainArgs, global: GlobalArgs) -> Result<i32, Failure> {
    let wanted = PolicyRef::parse(&args.policy)
        .ok_or_else(|| Failure(format!("`{}` is not `namespace:name`", args.policy)))?;
    let target = find_targets(&[], args.root.root.as_deref())?.remove(0);
    let config = load_config(&target, &args.root, global)?;
    let workspace = Workspace::load(&target.root, &config, jobs(None))?;
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
        .map(|image| image.value.to_string())
        .ok_or_else(|| {
            Failure(format!(
                "policy `{wanted}` has no ImageRepository with a `spec.image`; `check` says why"
            ))
        })?;
    let compiled = Compiler::new(&workspace.fluxes)
        .compile(&workspace.index, policy, spec)
        .map_err(|error| {
            Failure(format!(
                "policy `{wanted}` cannot select tags: {error}; run `check` for details"
            ))
        })?;
    let request = workspace
        .index
        .repository_of(policy, spec)
        .and_then(|(_, repository)| request_for(repository))
        .ok_or_else(|| Failure(format!("policy `{wanted}` has no usable ImageRepository")))?;
    let source = tag_source(&args.registry, args.tags_file.as_deref(), global)?;
    // A failure is this command's error, printed once by the caller.
    let quiet = global.quiet || args.format == ExplainFormat::Json;
    let tags = progress::fetch(&source, std::slice::from_ref(&request), quiet, false).remove(0)?;
    let explanation = Explanation::new(wanted.to_string(), image, compiled.evaluate(&tags));
    let output = match args.format {
        ExplainFormat::Json => explanation.render_json(),
        ExplainFormat::Human => explanation.render_human(),
    };
    read_as_scanned(&workspace)?;
    print!("{output}");
    Ok(EXIT_CLEAN)
}
