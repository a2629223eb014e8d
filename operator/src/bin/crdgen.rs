//! Writes the CRDs derived from the types to `crds/` and `charts/urna/crds/` (or prints them with `--stdout`).

use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crdgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let files = urna_operator::crd::files()?;
    if std::env::args().any(|a| a == "--stdout") {
        for (_, body) in files {
            print!("---\n{body}");
        }
        return Ok(());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in ["crds", "charts/urna/crds"] {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir)?;
        for (name, body) in &files {
            std::fs::write(dir.join(name), body)?;
        }
        println!("wrote {} CRDs to {}", files.len(), dir.display());
    }
    Ok(())
}
