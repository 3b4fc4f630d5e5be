use clap::Parser;
use std::process::ExitCode;

/// `reelgate-bench reelgate ARGS…` is `reelgate ARGS…`: the benchmark starts its servers and
/// simulators from itself (unless given `--binary`), so it always measures the code it was
/// built with.
fn main() -> ExitCode {
    let mut args = std::env::args_os().peekable();
    let program = args.next();
    if args
        .peek()
        .is_some_and(|first| first == reelgate_bench::AS_REELGATE)
    {
        return reelgate::commands::main(reelgate::cli::Cli::parse_from(args));
    }
    let bench = reelgate_bench::BenchArgs::parse_from(program.into_iter().chain(args));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(reelgate_bench::run(bench)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
