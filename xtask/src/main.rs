//! `cargo xtask` (an alias in `.cargo/config.toml`); the commands are in the library.

fn main() -> std::process::ExitCode {
    xtask::run()
}
