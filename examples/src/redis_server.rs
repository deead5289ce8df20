//! A real `redis-server` of a test's or benchmark's own, on a loopback port,
//! stopped when dropped: what cluster limits are tested and measured
//! against (never a mock).
//!
//! When no `redis-server` is on the `PATH`, [`RedisServer::start`] runs the
//! project's `.ci/install-redis` (Debian's package) once, and when that
//! fails too it panics with a message that says Redis is missing and how to
//! get it: a run without Redis fails loudly, it never skips in silence.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A `redis-server` on `127.0.0.1:<port>`, without persistence, killed when
/// dropped.
///
/// ```no_run
/// let redis = steadfast_examples::redis_server::RedisServer::start();
/// println!("{}", redis.url());
/// ```
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free loopback port and waits until it answers.
    ///
    /// # Panics
    ///
    /// When there is no `redis-server` and it cannot be installed, or it
    /// does not start: the message says why.
    pub fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
        };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills it (as a crash would: no shutdown, no save).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (killing it first if it runs): an
    /// empty Redis, with no scripts loaded and no keys.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(binary())
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--enable-debug-command",
                "local",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server did not start: {e}"));
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if ping(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server on port {} did not answer PING within 10 s",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `redis-server` to run, installed by `.ci/install-redis` when missing.
fn binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(found) = on_path() {
            return found;
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/install-redis");
        eprintln!("redis-server is missing: running {}", script.display());
        let installed = Command::new("bash").arg(&script).status();
        match (installed, on_path()) {
            (_, Some(found)) => found,
            (status, None) => panic!(
                "\n\n*** REDIS IS MISSING ***\nThe cluster-limit tests and benchmarks run a real \
                 redis-server (Redis 7 or later) on a loopback port, and none is installed here; \
                 `.ci/install-redis` could not install it ({status:?}). Install Debian's package \
                 (`apt-get install -y redis-server`) or put redis-server on the PATH.\n\n"
            ),
        }
    })
}

fn on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

/// A port no one listens on now (the kernel's pick).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// Whether a Redis on `port` answers `PING` (by hand: no client needed).
fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}
