//! A server on its own runtime and a blocking line client, for the tests that talk to a
//! whole server over loopback.
#![allow(dead_code, unreachable_pub)] // each test binary uses its own part

use std::{
    io::{BufRead, BufReader, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    time::Duration,
};

use gradwell_server::{config::Config, serve::serve_until};
use tokio::sync::oneshot;

/// Makes `dir/replica-a` a replica root and writes `dir/users` with `users` (passwd-file
/// lines), the scratch tree most server tests start from.
pub fn replica_and_users(dir: &Path, users: &str) {
    let root = dir.join("replica-a");
    std::fs::create_dir(&root).unwrap();
    maildir_store::maildir::Maildir::init_replica(&root).unwrap();
    std::fs::write(dir.join("users"), users).unwrap();
}

/// Starts the server of the configuration at `config` on the current runtime: its
/// listeners' addresses (in config order), the sender that stops it, and its task.
pub async fn serve_here(
    config: &Path,
) -> (
    Vec<SocketAddr>,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let config = Config::load(config).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let (addr_tx, addr_rx) = oneshot::channel();
    let done = tokio::spawn(serve_until(
        config,
        move |a| {
            let _ = addr_tx.send(a);
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let addrs = addr_rx.await.expect("server started");
    (addrs, stop, done)
}

/// A server on its own runtime; dropping it stops it.
pub struct Running {
    /// Each listener's address, in config order.
    pub addrs: Vec<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    runtime: tokio::runtime::Runtime,
    done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    pub fn start(config: &Path) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (addrs, stop, done) = runtime.block_on(serve_here(config));
        Running {
            addrs,
            stop: Some(stop),
            runtime,
            done: Some(done),
        }
    }

    pub fn talk(&self, which: usize) -> Talk {
        let stream = TcpStream::connect(self.addrs[which]).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut t = Talk {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        let greeting = t.line();
        assert!(
            greeting.starts_with("220 ") || greeting.starts_with("+OK"),
            "{greeting}"
        );
        t
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        if let Some(done) = self.done.take() {
            let result = self.runtime.block_on(done);
            if !std::thread::panicking() {
                result.unwrap().unwrap();
            }
        }
    }
}

/// A blocking line-at-a-time client.
pub struct Talk {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Talk {
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line
    }

    /// Sends one command line and returns the first line of the answer.
    pub fn ask(&mut self, command: &str) -> String {
        self.writer
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
        self.line()
    }

    /// Reads the rest of a multi-line answer, up to the lone ".".
    pub fn until_dot(&mut self) -> String {
        let mut all = String::new();
        loop {
            let line = self.line();
            if line == ".\r\n" || line.is_empty() {
                return all;
            }
            all.push_str(&line);
        }
    }
}
