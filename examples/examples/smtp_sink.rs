//! A tiny SMTP sink: accepts every message and counts it, on tokio, using only smtp-proto.
//!
//! ```text
//! cargo run -p examples --example smtp_sink -- 127.0.0.1:2525
//! ```
//!
//! It shows the whole driver loop of [`smtp_proto::server::Server`]: write what the session
//! wants to send, drain its events, read more input. Bodies are streamed chunk by chunk, so a
//! 50 MB message never sits in memory.

use std::{env, io, time::Instant};

use smtp_proto::{
    Options,
    server::{Event, Server, ServerConfig},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    time,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let address = env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2525".to_owned());
    let listener = TcpListener::bind(&address).await?;
    eprintln!("smtp_sink listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            match session(stream).await {
                Ok(messages) => eprintln!("{peer}: {messages} message(s) accepted"),
                Err(error) => eprintln!("{peer}: {error}"),
            }
        });
    }
}

/// Runs one connection; returns the number of messages accepted.
async fn session(mut stream: TcpStream) -> io::Result<usize> {
    let mut server = Server::new(Options::default(), ServerConfig::new("sink.localhost"));
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let (mut messages, mut octets) = (0usize, 0usize);
    loop {
        // The session keeps the idle deadline; the driver owns the clock. Past the deadline
        // this queues a 421 and the Close event handled below.
        server.handle_timeout(Instant::now());
        let mut closing = false;
        while let Some(event) = server.poll_event() {
            match event {
                Event::MessageChunk(chunk) => octets += chunk.len(),
                Event::MessageEnd {
                    outcome: Ok(size),
                    last,
                } => {
                    if last {
                        messages += 1;
                        eprintln!("message of {size} octets ({octets} streamed)");
                        octets = 0;
                    }
                    server.accept().map_err(io::Error::other)?;
                }
                Event::Command(_) => server.accept().map_err(io::Error::other)?,
                Event::Close => closing = true,
                // A sink offers neither AUTH nor STARTTLS; failed messages were answered.
                _ => {}
            }
        }
        out.clear();
        server.poll_transmit(&mut out);
        stream.write_all(&out).await?;
        if closing || server.is_closed() {
            return Ok(messages);
        }
        let room = server.input_room().min(buf.len());
        let read = stream.read(&mut buf[..room]);
        let n = match server.poll_timeout() {
            Some(deadline) => match time::timeout_at(deadline.into(), read).await {
                Ok(n) => n?,
                Err(_elapsed) => continue,
            },
            None => read.await?,
        };
        if n == 0 {
            return Ok(messages);
        }
        server.handle_input(&buf[..n]).map_err(io::Error::other)?;
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, BufReader};

    use super::*;

    /// Reads one complete (possibly multi-line) reply and returns its last line.
    async fn reply(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).await.expect("read");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn sink_accepts_a_message_on_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            session(stream).await.expect("session")
        });
        let (read, mut write) = TcpStream::connect(address)
            .await
            .expect("connect")
            .into_split();
        let mut reader = BufReader::new(read);
        assert!(reply(&mut reader).await.starts_with("220 "));
        for (send, expect) in [
            ("EHLO test\r\n", "250 "),
            ("MAIL FROM:<a@test>\r\nRCPT TO:<b@test>\r\n", "250 "),
        ] {
            write.write_all(send.as_bytes()).await.expect("write");
            assert!(reply(&mut reader).await.starts_with(expect));
        }
        assert!(
            reply(&mut reader).await.starts_with("250 "),
            "pipelined RCPT"
        );
        write.write_all(b"DATA\r\n").await.expect("write");
        assert!(reply(&mut reader).await.starts_with("354 "));
        write
            .write_all(b"Subject: t\r\n\r\n..x\r\n.\r\nQUIT\r\n")
            .await
            .expect("write");
        assert!(reply(&mut reader).await.starts_with("250 "));
        assert!(reply(&mut reader).await.starts_with("221 "));
        assert_eq!(server.await.expect("join"), 1);
    }
}
