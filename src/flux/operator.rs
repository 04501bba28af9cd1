//! The Flux Operator's `flux-instance` Helm chart: a HelmRelease of it is a FluxInstance whose
//! `spec` is the release's `instance` values (the chart's template writes them into one), as
//! onedr0p's cluster-template and the homelabs made from it declare Flux.

/// The chart's name, which a HelmRelease names as `spec.chart.spec.chart`, or as the name of the
/// OCIRepository its `spec.chartRef` points at (`oci://ghcr.io/controlplaneio-fluxcd/charts/flux-instance`).
pub const INSTANCE_CHART: &str = "flux-instance";

/// Where a HelmRelease names its chart.
pub const CHART_NAME: [&str; 4] = ["spec", "chart", "spec", "chart"];

/// Where a HelmRelease names the source of its chart, by `chartRef`.
pub const CHART_REF_NAME: [&str; 3] = ["spec", "chartRef", "name"];

/// Where a HelmRelease holds the values the chart makes the FluxInstance's `spec` of.
pub const INSTANCE_VALUES: [&str; 3] = ["spec", "values", "instance"];

/// Whether a HelmRelease with this chart, or this `chartRef` name, installs a FluxInstance.
pub fn installs_flux_instance(chart: Option<&str>, chart_ref: Option<&str>) -> bool {
    chart == Some(INSTANCE_CHART) || chart_ref == Some(INSTANCE_CHART)
}
