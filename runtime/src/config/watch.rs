//! [`Watch`]: a settings file read again whenever it changes.

use std::path::PathBuf;
use std::time::Duration;

use super::Clients;

/// How often the file is read.
const EVERY: Duration = Duration::from_millis(250);

/// Reloads a [`Clients`] from its file whenever the file's contents change,
/// until dropped: made by [`Clients::watch`]. The file is read every 250 ms
/// and compared with the version last seen (modification times can be too
/// coarse to tell two quick edits apart). A file that cannot be read, or
/// that has problems, leaves the settings in force; an event says so, once
/// a version.
#[derive(Debug)]
pub struct Watch {
    task: tokio::task::JoinHandle<()>,
}

impl Watch {
    pub(super) fn start(clients: Clients, path: PathBuf) -> Self {
        // The version seen is the one there now, not when the task first
        // runs: an edit made meanwhile is a change.
        let mut seen = std::fs::read_to_string(&path).map_err(|e| e.kind());
        let task = tokio::spawn(async move {
            let mut interval = tokio::time::interval(EVERY);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let now = std::fs::read_to_string(&path);
                if now.as_ref().map_err(std::io::Error::kind) == seen.as_ref().map_err(|k| *k) {
                    continue;
                }
                match &now {
                    Ok(text) => {
                        // Refused or not, this version has been seen.
                        let _ = clients.reload(text);
                    }
                    Err(error) => {
                        crate::trace::warning!(
                            target: "steadfast",
                            file = %path.display(),
                            %error,
                            "client settings cannot be read: the ones in force stay"
                        );
                        let _ = error;
                    }
                }
                seen = now.map_err(|e| e.kind());
            }
        });
        Self { task }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
