//! Rule `api-version`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "api-version",
    severity: Severity::Error,
    summary:
        "An image API version the cluster's Flux does not serve (error) or deprecates (warning)",
    docs: r#"## What it catches
A Flux image object whose `apiVersion` is not in `served_image_apis` (default `[v1]`) is an
error; a served version other than `v1` is a deprecation warning.

## Why it matters in Flux
The image controllers of Flux 2.7+ (image-reflector and image-automation 1.x) serve only
`image.toolkit.fluxcd.io/v1`: `v1beta1` was removed in 1.0 and `v1beta2` in 1.2. An object with
a removed version no longer applies, so the automation stops without an obvious cause.

## Example
```yaml
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
```

## Fix
Change it to `image.toolkit.fluxcd.io/v1` (the schema is compatible; `latestImage` status fields
became `latestRef`). If your cluster still runs an older Flux, list its versions in
`served_image_apis`.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    let served = &cx.config.served_image_apis;
    for object in cx.objects() {
        let version = object
            .api_version
            .value
            .split_once('/')
            .map_or("", |(_, v)| v);
        let (severity, message) = if !served.iter().any(|s| s == version) {
            (
                Severity::Error,
                format!(
                    "{} uses `{}`, which the configured Flux does not serve (served: {})",
                    object.kind,
                    object.api_version.value,
                    served.join(", ")
                ),
            )
        } else if version != "v1" {
            (
                Severity::Warning,
                format!(
                    "`{}` is deprecated; Flux's image controllers 1.2+ serve only `v1`",
                    object.api_version.value
                ),
            )
        } else {
            continue;
        };
        out.push_with_severity(
            &RULE,
            severity,
            object.api_version.file,
            object.api_version.span,
            message,
            "change it to `image.toolkit.fluxcd.io/v1` (schema-compatible)".to_string(),
        );
    }
}
