use std::process::ExitCode;

fn main() -> ExitCode {
    reelgate::commands::main(clap::Parser::parse())
}
