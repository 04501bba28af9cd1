//! Rule `yaml-syntax`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    id: "yaml-syntax",
    severity: crate::report::Severity::Error,
    summary: "A YAML file with a marker or a Flux image object does not parse",
    docs: r#"## What it catches
A YAML file that holds a `$imagepolicy` marker or names the `image.toolkit.fluxcd.io` API and
does not parse. The diagnostic points at the parser's line and column.

## Why it matters in Flux
Flux's image automation skips files it cannot parse without any error or event, so none of the
markers in the file is ever updated, and a broken object never reaches the cluster.

## Example
```yaml
spec:
  image: ghcr.io/org/app
   interval: 5m   # bad indentation
```

## Fix
Correct the YAML at the position shown. Helm templates (`{{ … }}`) are not YAML: keep markers
in values files instead.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (index, file) in cx.files() {
        let Err(error) = &file.yaml else { continue };
        let mentions_marker = crate::scan::marker::mentions_marker(file.source.text.as_bytes());
        if !mentions_marker && !file.mentions_image_api {
            continue;
        }
        let what = if mentions_marker {
            "markers"
        } else {
            "Flux image objects"
        };
        let end = (error.offset + 1)
            .min(file.source.text.len())
            .max(error.offset);
        out.push(
            &RULE,
            index,
            Span::new(error.offset, end),
            format!("YAML syntax error: {}", error.message),
            format!("Flux skips files it cannot parse, so the {what} in this file are ignored; fix the YAML here"),
        );
    }
}
