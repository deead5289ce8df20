//! A tripwire for tonic upgrades: this crate copies and guards some of
//! tonic's behaviour (the runtime's `tonic::mirror` module lists where, and
//! steadfast-build's `tonic_output` what it reads of tonic-build's code).
//! Each item there was checked against one tonic release; when
//! `Cargo.lock` holds another, re-check the list, then update the version
//! here and in those two module docs.

/// The tonic release the lists were last checked against.
const CHECKED_AGAINST: &str = "0.14.9";

/// The versions of `package` in the workspace's `Cargo.lock`.
fn locked_versions(package: &str) -> Vec<String> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
        .expect("the workspace's Cargo.lock");
    let name = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    let mut versions = Vec::new();
    while let Some(line) = lines.next() {
        if line == name {
            if let Some(version) = lines.next().and_then(|v| v.strip_prefix("version = ")) {
                versions.push(version.trim_matches('"').to_owned());
            }
        }
    }
    versions
}

#[test]
fn tonic_is_the_release_the_mirror_list_was_checked_against() {
    for package in ["tonic", "tonic-build", "tonic-prost", "tonic-prost-build"] {
        let versions = locked_versions(package);
        assert_eq!(
            versions,
            [CHECKED_AGAINST],
            "{package} is {versions:?} in Cargo.lock: re-check what runtime/src/tonic/mirror/mod.rs \
             and build-support/src/tonic_output.rs list against it, then update CHECKED_AGAINST"
        );
    }
}
