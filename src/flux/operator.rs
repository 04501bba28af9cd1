//! The Flux Operator's `flux-instance` Helm chart: a HelmRelease of it is a FluxInstance whose
//! `spec` is the release's `instance` values (the chart's template writes them into one), as
//! onedr0p's cluster-template and the homelabs made from it declare Flux.

use crate::scan::yaml::{NodeId, YamlFile};

/// The chart's name, which a HelmRelease names as `spec.chart.spec.chart`, or as the name of the
/// OCIRepository its `spec.chartRef` points at (`oci://ghcr.io/controlplaneio-fluxcd/charts/flux-instance`).
pub const INSTANCE_CHART: &str = "flux-instance";

/// The `instance.distribution.version` the chart's own values set: the newest release the
/// operator carries.
pub const INSTANCE_DEFAULT_VERSION: &str = "2.x";

/// Where a HelmRelease holds the values the chart makes the FluxInstance's `spec` of.
pub const INSTANCE_VALUES: [&str; 3] = ["spec", "values", "instance"];

/// Whether a document is a HelmRelease of the chart, by its chart's name or its `chartRef`'s.
pub fn installs_flux_instance(yaml: &YamlFile, document: NodeId) -> bool {
    let names_the_chart = |path: &[&str]| yaml.path_str(document, path) == Some(INSTANCE_CHART);
    yaml.path_str(document, &["kind"]) == Some("HelmRelease")
        && yaml
            .path_str(document, &["apiVersion"])
            .is_some_and(|api| api.starts_with("helm.toolkit.fluxcd.io/"))
        && (names_the_chart(&["spec", "chart", "spec", "chart"])
            || names_the_chart(&["spec", "chartRef", "name"]))
}
