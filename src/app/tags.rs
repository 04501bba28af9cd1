//! `tags --write FILE`: the tags of every ImageRepository, from the registries, as a snapshot.
//! Failures are printed as they happen; with one, nothing is written unless `--keep-going`.

use super::{
    find_targets, jobs, load_config, progress, read_as_scanned, tag_source, Failure, EXIT_CLEAN,
    EXIT_FAILURE,
};
use crate::cli::{GlobalArgs, TagsArgs};
use crate::flux::objects::Spec;
use crate::flux::Kind;
use crate::registry::TagRequest;
use crate::tags::{request_for, TagSnapshot};
use crate::workspace::Workspace;

pub fn run(args: &TagsArgs, global: GlobalArgs) -> Result<i32, Failure> {
    let target = find_targets(&[], args.root.root.as_deref())?.remove(0);
    let config = load_config(&target, &args.root, global)?;
    let workspace = Workspace::load(&target.root, &config, jobs(None))?;
    let mut requests: Vec<TagRequest> = Vec::new();
    for object in workspace.index.of_kind(Kind::ImageRepository) {
        if let Spec::Repository(repository) = &object.spec {
            if let Some(request) = request_for(repository) {
                if !requests.iter().any(|r| r.image == request.image) {
                    requests.push(request);
                }
            }
        }
    }
    read_as_scanned(&workspace)?;
    let source = tag_source(&args.registry, None, global)?;
    let mut snapshot = TagSnapshot::default();
    let mut failed = 0;
    let fetched = progress::fetch(&source, &requests, global.quiet, true);
    for (request, result) in requests.iter().zip(fetched) {
        match result {
            Ok(tags) => {
                snapshot.images.insert(request.image.clone(), tags);
            }
            Err(_) => failed += 1,
        }
    }
    if failed > 0 && !args.keep_going {
        return Err(Failure(format!(
            "{failed} of {} repositories failed; {} not written (--keep-going writes the others)",
            requests.len(),
            args.write.display()
        )));
    }
    crate::fix::write::write_new(&args.write, snapshot.render().as_bytes())
        .map_err(|e| Failure(format!("cannot write {}: {e}", args.write.display())))?;
    if !global.quiet {
        eprintln!(
            "wrote the tags of {} of {} repositories to {}",
            snapshot.images.len(),
            requests.len(),
            args.write.display()
        );
    }
    Ok(if failed > 0 { EXIT_FAILURE } else { EXIT_CLEAN })
}
