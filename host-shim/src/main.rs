//! `alignak-receiver`: the command line; the daemon is the library's (`daemon`).

use std::path::PathBuf;
use std::process::ExitCode;

use alignak_receiver::daemon::{self, Invocation, RunError};
use alignak_receiver::log_file;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "alignak-receiver",
    version,
    about = "Alignak receiver: loads its modules (web-services) and delivers their external commands to the monitoring core"
)]
struct Cli {
    /// The main configuration file (Alignak object syntax; cfg_file= and cfg_dir= are followed).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: PathBuf,

    /// The receiver_name of the receiver block to run (default: the only one).
    #[arg(short = 'n', long = "name", value_name = "RECEIVER_NAME")]
    name: Option<String>,

    /// Check the configuration files, every module parameter and every file they name, print
    /// what is wrong (on standard error, as `file:line: key: reason`), and exit.
    #[arg(short = 'v', long = "check")]
    check: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let invocation = Invocation {
        config: cli.config.clone(),
        name: cli.name.clone(),
    };
    init_logger();
    let (receiver, warnings) = match daemon::read_configuration(&invocation) {
        Ok(read) => read,
        Err(errors) => {
            if cli.check {
                // Everything `--check` says goes to standard error, without log decorations.
                for error in &errors {
                    eprintln!("{error}");
                }
                eprintln!("{} configuration error(s)", errors.len());
            } else {
                for error in &errors {
                    log::error!("{error}");
                }
            }
            return ExitCode::FAILURE;
        }
    };
    if cli.check {
        for warning in &warnings {
            eprintln!("warning: {warning}");
        }
        return daemon::check(&receiver);
    }
    if let Some(path) = daemon::log_error_path(&receiver) {
        if let Err(err) = log_file::use_file(&path) {
            log::error!("{err}");
            return ExitCode::FAILURE;
        }
    }
    for warning in &warnings {
        log::warn!("{warning}");
    }
    match daemon::run(&invocation, &receiver) {
        Ok(()) => ExitCode::SUCCESS,
        Err(RunError::Setup(error)) => {
            log::error!("{error}");
            ExitCode::FAILURE
        }
        // Already logged when it happened, before the stop.
        Err(RunError::Start) => ExitCode::FAILURE,
    }
}

fn init_logger() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .target(env_logger::Target::Pipe(Box::new(log_file::LogOutput)))
        .init();
}
