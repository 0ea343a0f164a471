//! The `concierge` binary: parses the command line and hands over to the library.

/// mimalloc, not the C library's allocator: glibc kept what a burst of work had used (each
/// sign-in's 19 MiB Argon2 block, the buffers of pages rendered at once) in per-thread arenas
/// and never gave it back, so the server's memory only grew (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    if let Err(err) = concierge::server::cli::run().await {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
