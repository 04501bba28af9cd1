use clap::Parser;

fn main() {
    let cli = flux_image_lint::cli::Cli::parse();
    std::process::exit(flux_image_lint::app::run(cli));
}
