//! `tags --write FILE`: the tags of every ImageRepository, from the registries, as a snapshot.

use super::{find_targets, jobs, load_config, tag_source, Failure, EXIT_CLEAN};
use crate::cli::TagsArgs;
use crate::flux::objects::Spec;
use crate::flux::Kind;
use crate::registry::TagRequest;
use crate::tags::{request_for, TagSnapshot};
use crate::workspace::Workspace;

pub fn run(args: &TagsArgs) -> Result<i32, Failure> {
    let target = find_targets(&[], args.root.root.as_deref())?.remove(0);
    let config = load_config(&target.root, args.root.config.as_deref())?;
    let workspace = Workspace::load(&target.root, &config, jobs(None));
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
    let source = tag_source(&args.registry, None, false)?;
    let mut snapshot = TagSnapshot::default();
    let mut failed = 0;
    for (request, result) in requests.iter().zip(source.fetch(&requests)) {
        match result {
            Ok(tags) => {
                snapshot.images.insert(request.image.clone(), tags);
            }
            Err(message) => {
                failed += 1;
                eprintln!("error: {message}");
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
