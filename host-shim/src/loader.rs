//! Finding and loading a module library, with errors that name the module, the path and the
//! reason instead of crashing the daemon.

use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError};
use alignak_module_abi::{library_file_name, ModuleLibRef};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("module '{alias}': library {path} not found (python_name {python_name}; {where_})")]
    Missing {
        alias: String,
        python_name: String,
        path: PathBuf,
        where_: String,
    },
    #[error("module '{alias}': cannot load library {path}: {reason}")]
    NotALibrary {
        alias: String,
        path: PathBuf,
        reason: String,
    },
    #[error("module '{alias}': {path} is not an Alignak module library (it exports no module interface)")]
    NotAModule { alias: String, path: PathBuf },
    #[error(
        "module '{alias}': {path} was built against an incompatible module interface: {reason}"
    )]
    Incompatible {
        alias: String,
        path: PathBuf,
        reason: String,
    },
    #[error("module '{alias}': library {path} failed to initialise: {reason}")]
    Initialisation {
        alias: String,
        path: PathBuf,
        reason: String,
    },
}

/// Where a module's library is: `modules_dir` when set, else next to the executable.
pub fn library_path(python_name: &str, modules_dir: Option<&Path>) -> (PathBuf, String) {
    let file = library_file_name(python_name);
    match modules_dir {
        Some(dir) => (dir.join(file), format!("modules_dir is {}", dir.display())),
        None => {
            let exe_dir = std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| PathBuf::from("."));
            let where_ = format!(
                "looked next to the executable, in {}; set modules_dir in the receiver to look elsewhere",
                exe_dir.display()
            );
            (exe_dir.join(file), where_)
        }
    }
}

/// Long layout reports are cut: the first lines say what differs.
fn shorten(text: String) -> String {
    const MAX: usize = 1200;
    if text.len() <= MAX {
        return text;
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{} [...]", &text[..cut])
}

pub fn load(
    alias: &str,
    python_name: &str,
    modules_dir: Option<&Path>,
) -> Result<(ModuleLibRef, PathBuf), LoadError> {
    let (path, where_) = library_path(python_name, modules_dir);
    if !path.is_file() {
        return Err(LoadError::Missing {
            alias: alias.into(),
            python_name: python_name.into(),
            path,
            where_,
        });
    }
    let module = lib_header_from_path(&path)
        .and_then(|header| header.init_root_module::<ModuleLibRef>())
        .map_err(|err| classify(alias, &path, err))?;
    Ok((module, path))
}

fn classify(alias: &str, path: &Path, err: LibraryError) -> LoadError {
    let alias = alias.to_string();
    let path = path.to_path_buf();
    match err {
        LibraryError::OpenError { err, .. } => LoadError::NotALibrary {
            alias,
            path,
            reason: err.to_string(),
        },
        LibraryError::GetSymbolError { .. } => LoadError::NotAModule { alias, path },
        LibraryError::RootModule { err, .. } => LoadError::Initialisation {
            alias,
            path,
            reason: err.to_string(),
        },
        other => LoadError::Incompatible {
            alias,
            path,
            reason: shorten(other.to_string()),
        },
    }
}
