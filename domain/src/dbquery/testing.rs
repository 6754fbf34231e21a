//! A MongoDB-wire test server for tests: `nx-27017` (`pip install nx-27017`) on a free
//! loopback port, in memory, killed when dropped.
//!
//! Without the binary a test is skipped with a note on stderr, unless `CI` is set: there
//! a missing server is a failure, not a silent pass.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary's name on `PATH`; `WEFT_NX27017` overrides it.
const BINARY: &str = "nx-27017";
/// How long the server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `nx-27017` process.
pub struct MongoTestServer {
    child: Child,
    port: u16,
    dir: PathBuf,
    path: PathBuf,
}

impl MongoTestServer {
    /// Starts a server, or returns `None` (after saying why) when `nx-27017` is not
    /// installed and `CI` is not set.
    ///
    /// # Panics
    ///
    /// When the binary is missing under `CI`, or the server does not come up.
    pub fn start() -> Option<Self> {
        let binary = std::env::var("WEFT_NX27017").unwrap_or_else(|_| BINARY.to_owned());
        let Some(path) = find_on_path(&binary) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "`{binary}` is not installed (pip install nx-27017); MongoDB tests cannot run"
            );
            eprintln!("skipping: `{binary}` is not installed (pip install nx-27017)");
            return None;
        };
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("weft-nx27017-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let child = spawn(&path, port, &dir);
        let mut server = Self {
            child,
            port,
            dir,
            path,
        };
        server.wait_until_accepting();
        Some(server)
    }

    /// Kills the server and starts a new one on the same port: every open connection
    /// drops, and (being in memory) every document is gone.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&self.path, self.port, &self.dir);
        self.wait_until_accepting();
    }

    fn wait_until_accepting(&mut self) {
        let deadline = Instant::now() + STARTUP;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nx-27017 exited during start-up: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "nx-27017 did not accept connections within {STARTUP:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `mongodb://` URL of the server.
    pub fn url(&self) -> String {
        format!("mongodb://127.0.0.1:{}", self.port)
    }
}

impl Drop for MongoTestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn(path: &Path, port: u16, dir: &Path) -> Child {
    Command::new(path)
        .args([
            "--db",
            "memory",
            "--host",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .arg("--log-file")
        .arg(dir.join("nx.log"))
        .arg("--pid-file")
        .arg(dir.join("nx.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nx-27017")
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn find_on_path(binary: &str) -> Option<PathBuf> {
    let candidate = PathBuf::from(binary);
    if candidate.components().count() > 1 {
        return candidate.is_file().then_some(candidate);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(binary))
        .find(|p| p.is_file())
}
