use clap::Parser;

fn main() {
    // Rust starts with SIGPIPE ignored, so a reader that stops early (`check | head -1`) makes
    // the next print panic; like other Unix tools, end quietly instead. Every write to the
    // repository is atomic and a push comes last, so ending there leaves nothing half done.
    #[cfg(unix)]
    // SAFETY: set once, before any thread starts or anything is written.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = flux_image_lint::cli::Cli::parse();
    std::process::exit(flux_image_lint::app::run(cli));
}
