//! The module picture of ARCHITECTURE.md, enforced: every module of `tailor-core` uses only
//! modules below it in the flow (stores → snapshots → features → model → rank → response), so a
//! back-edge fails here rather than blurring the structure unnoticed.

use std::path::{Path, PathBuf};

/// Bottom to top. A module may use the modules before it, never one after it.
const LAYERS: &[&str] = &[
    "error",
    "clock",
    "defaults",
    "types",
    "bytes",
    "csvio",
    "sql",
    "validate",
    "cancel",
    "catalog",
    "learn",
    "profile",
    "metrics",
    "features",
    "model",
    "rank",
    "experiments",
    "privacy",
    "tailor",
];

fn sources(module: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let dir = src.join(module);
    if dir.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        files
    } else {
        vec![src.join(format!("{module}.rs"))]
    }
}

/// The top-level modules a file's library code names as `crate::<module>` (unit tests below
/// `#[cfg(test)]` may use anything).
fn used_modules(text: &str) -> Vec<String> {
    let library = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut used = Vec::new();
    for line in library
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
    {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.push(name);
            }
        }
    }
    used
}

#[test]
fn every_module_is_in_the_picture() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" {
            continue;
        }
        assert!(
            LAYERS.contains(&name.as_str()),
            "core/src/{name} is not in the module picture: add it to LAYERS here and to ARCHITECTURE.md"
        );
    }
}

#[test]
fn modules_use_only_the_modules_below_them() {
    let mut back_edges = Vec::new();
    for (level, module) in LAYERS.iter().enumerate() {
        for file in sources(module) {
            let text = std::fs::read_to_string(&file).unwrap();
            for used in used_modules(&text) {
                let Some(used_level) = LAYERS.iter().position(|m| *m == used) else {
                    continue; // a crate-root item such as a macro
                };
                if used_level > level {
                    back_edges.push(format!(
                        "{} uses crate::{used} (above {module})",
                        file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                            .unwrap()
                            .display()
                    ));
                }
            }
        }
    }
    assert!(
        back_edges.is_empty(),
        "back-edges:\n{}",
        back_edges.join("\n")
    );
}
