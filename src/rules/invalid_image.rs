//! Rule `invalid-image`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::image::{docker_hub_page, is_docker_hub_site};
use crate::flux::objects::Spec;

pub static RULE: Rule = Rule {
    id: "invalid-image",
    severity: crate::report::Severity::Error,
    summary: "ImageRepository spec.image with a scheme, a tag or a digest, or an invalid name",
    docs: r#"## What it catches
An ImageRepository whose `spec.image` is not a bare repository name: a URL scheme
(`https://…`), a tag (`:1.0`), a digest (`@sha256:…`), uppercase letters or other characters
that are not allowed in a repository name, or the address of a Docker Hub web page
(`hub.docker.com/r/org/app`, `hub.docker.com/repository/docker/org/app`) or any other name on
that host, in any case, which serves the web site and no registry (Docker Hub's registry is
`docker.io`). A value that still holds a `${var}` after the
`postBuild.substitute` the repository declares is not judged: its value comes from a
`substituteFrom` ConfigMap or Secret this check cannot read.

## Why it matters in Flux
The image-reflector-controller rejects such a value ("should not include URL scheme", "should
not include a tag") and never scans, so every policy on it stays without a latest image.

## Example
```yaml
spec:
  image: ghcr.io/org/app:latest
```

## Fix
```yaml
spec:
  image: ghcr.io/org/app
```
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for object in cx.objects() {
        let Spec::Repository(spec) = &object.spec else {
            continue;
        };
        let (Some(image), Some(parsed)) = (&spec.image, cx.scanned_image(object)) else {
            continue;
        };
        let page = docker_hub_page(&image.value);
        let on_site = parsed
            .as_ref()
            .is_ok_and(|parsed| is_docker_hub_site(&parsed.registry));
        if page.is_some() || on_site {
            let help = match page {
                Some(repository) => format!("write the repository the page shows: `{repository}`"),
                None => "write the repository as Docker Hub's registry names it, e.g. `docker.io/org/app`".to_string(),
            };
            out.push(
                &RULE,
                image.file(),
                image.span(),
                format!("`{}` is the address of a Docker Hub web page, not an image: `hub.docker.com` serves the web site and no registry, so every scan fails", image.value),
                help,
            );
            continue;
        }
        let problem = match parsed {
            Err(error) => Some(error.to_string()),
            Ok(parsed) if parsed.tag.is_some() || parsed.digest.is_some() => {
                Some("`spec.image` must not include a tag or digest; Flux scans every tag of the repository".to_string())
            }
            Ok(_) => None,
        };
        if let Some(message) = problem {
            let fixed = parsed
                .as_ref()
                .map(|p| p.written_name.clone())
                .unwrap_or_else(|_| {
                    image
                        .value
                        .split("://")
                        .last()
                        .unwrap_or_default()
                        .to_string()
                });
            // Suggesting the very value that is wrong (`ghcr.io/<owner>/app`) helps no one.
            let help = if fixed == image.value {
                "write the repository Flux should scan, without a tag or placeholder, e.g. `ghcr.io/org/app`".to_string()
            } else {
                format!("write only the repository, e.g. `{fixed}`")
            };
            out.push(&RULE, image.file(), image.span(), message, help);
        }
    }
}
