//! The `concierge` binary: parses the command line and hands over to the library.

#[tokio::main]
async fn main() {
    if let Err(err) = concierge::server::cli::run().await {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
