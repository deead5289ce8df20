//! Every code block of the README and of `docs/` is code that CI builds: each
//! Rust block stands verbatim in a compiled file (the first screen is
//! `tests/minimal-user`, the pages' examples under `examples/`), each proto
//! block in a proto the builds compile, each YAML block a settings file
//! `steadfast::config` reads, each TOML line in the manifest of
//! the crate built from the packages. A block that drifts from its file fails
//! here: copy the file's lines into the block again.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file under `dir` (recursively) whose name ends with `ending`.
fn files(dir: &Path, ending: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("target") {
                files(&path, ending, out);
            }
        } else if path.to_string_lossy().ends_with(ending) {
            out.push(path);
        }
    }
}

fn read_all(dirs: &[&str], ending: &str) -> Vec<(PathBuf, String)> {
    let mut paths = Vec::new();
    for dir in dirs {
        files(&root().join(dir), ending, &mut paths);
    }
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable source");
            (p, text)
        })
        .collect()
}

/// The fenced blocks of `markdown`: (language, text).
fn blocks(markdown: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => open = Some((lang.trim().to_owned(), Vec::new())),
            (Some(_), Some("")) => {
                let (lang, lines) = open.take().expect("an open block");
                found.push((lang, lines.join("\n")));
            }
            (Some((_, lines)), _) => lines.push(line),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a code block is not closed");
    found
}

fn pages() -> Vec<(PathBuf, String)> {
    let mut pages = vec![root().join("README.md")];
    files(&root().join("docs"), ".md", &mut pages);
    assert!(pages.len() >= 7, "README and the docs pages: {pages:?}");
    pages
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable page");
            (p, text)
        })
        .collect()
}

#[test]
fn every_code_block_of_the_readme_and_docs_is_built_by_ci() {
    let rust = read_all(&["examples", "tests/minimal-user"], ".rs");
    let protos = read_all(
        &[
            "tests/minimal-user",
            "examples/proto",
            "build-support/proto",
        ],
        ".proto",
    );
    let manifest = std::fs::read_to_string(root().join("tests/minimal-user/Cargo.toml"))
        .expect("the minimal user's manifest");
    let mut checked = 0;
    for (page, text) in pages() {
        for (lang, block) in blocks(&text) {
            let page = page.display();
            match lang.as_str() {
                "rust" => assert!(
                    rust.iter().any(|(_, source)| source.contains(&block)),
                    "{page}: this Rust block is in no compiled file:\n{block}"
                ),
                "proto" => assert!(
                    protos.iter().any(|(_, source)| source.contains(&block)),
                    "{page}: this proto block is in no compiled proto:\n{block}"
                ),
                "toml" => {
                    for line in block.lines().filter(|l| !l.trim().is_empty()) {
                        assert!(
                            manifest.lines().any(|m| m == line),
                            "{page}: `{line}` is not in tests/minimal-user/Cargo.toml"
                        );
                    }
                }
                // A settings file (docs/client-config.md): one `steadfast::config` reads.
                "yaml" => {
                    let read =
                        steadfast::config::Clients::parse(&block, steadfast::config::Format::Yaml);
                    assert!(
                        read.is_ok(),
                        "{page}: this settings file is refused: {read:?}\n{block}"
                    );
                }
                "sh" | "text" => continue,
                other => {
                    panic!("{page}: a `{other}` block: mark it rust, proto, toml, yaml, sh or text")
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked} blocks checked");
}

#[test]
fn the_first_screen_is_the_whole_minimal_user_crate() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let first_screen = &readme[..readme
        .find("## I want to")
        .expect("the table after the first screen")];
    for file in ["src/main.rs", "build.rs", "proto/hello.proto"] {
        let text =
            std::fs::read_to_string(root().join("tests/minimal-user").join(file)).expect("a file");
        assert!(
            first_screen.contains(text.trim_end()),
            "the README's first screen must show all of tests/minimal-user/{file}"
        );
    }
}
