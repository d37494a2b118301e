//! The `tokio` feature's codecs, driven through the `tokio_util::codec` traits directly (no
//! runtime needed): a server codec and a client codec talk to each other.
#![cfg(feature = "tokio")]

use bytes::{Bytes, BytesMut};
use pop3_proto::{
    ClientEvent, Command, CommandError, MsgNo, Options, Response, Stat, Status, StatusKind,
    tokio::{BodyFrame, ClientCodec, ServerCodec, ServerFrame},
};
use tokio_util::codec::{Decoder, Encoder};

fn ok(text: &str) -> Status {
    Status::new_lossy(StatusKind::Ok, text)
}

#[test]
fn server_codec_frames_commands_and_refusals() {
    let mut codec = ServerCodec::new(&Options::default());
    let mut input = BytesMut::from(&b"STAT\r\nRETR 0\r\nNOOP\r\nLI"[..]);
    assert_eq!(
        codec.decode(&mut input).unwrap(),
        Some(ServerFrame::Command(Command::Stat))
    );
    assert_eq!(
        codec.decode(&mut input).unwrap(),
        Some(ServerFrame::Invalid(CommandError::ZeroMessageNumber))
    );
    assert_eq!(
        codec.decode(&mut input).unwrap(),
        Some(ServerFrame::Command(Command::Noop))
    );
    assert_eq!(codec.decode(&mut input).unwrap(), None);
    input.extend_from_slice(&[b'x'; 9000]);
    assert_eq!(
        codec.decode(&mut input).unwrap(),
        Some(ServerFrame::Invalid(CommandError::LineTooLong))
    );
    input.extend_from_slice(b"more\r\nQUIT\r\n");
    assert_eq!(
        codec.decode(&mut input).unwrap(),
        Some(ServerFrame::Command(Command::Quit))
    );
    assert!(input.is_empty());
}

#[test]
fn client_and_server_codecs_talk() {
    let mut server = ServerCodec::new(&Options::default());
    let mut client = ClientCodec::new(Options::default());
    let (mut to_client, mut to_server) = (BytesMut::new(), BytesMut::new());

    Encoder::<Response>::encode(&mut server, Response::Status(ok("hi")), &mut to_client).unwrap();
    assert!(matches!(
        client.decode(&mut to_client).unwrap(),
        Some(ClientEvent::Greeting(_))
    ));

    for command in [
        Command::User("a".try_into().unwrap()),
        Command::Pass("b".try_into().unwrap()),
        Command::Stat,
        Command::Retr(MsgNo::MIN),
    ] {
        client.encode(command, &mut to_server).unwrap();
    }
    assert_eq!(&to_server[..], b"USER a\r\nPASS b\r\nSTAT\r\nRETR 1\r\n");
    while let Some(frame) = server.decode(&mut to_server).unwrap() {
        match frame {
            ServerFrame::Command(Command::Stat) => {
                Encoder::<Response>::encode(
                    &mut server,
                    Response::Stat(Stat { count: 1, size: 9 }),
                    &mut to_client,
                )
                .unwrap();
            }
            ServerFrame::Command(Command::Retr(_)) => {
                for frame in [
                    BodyFrame::Start(ok("")),
                    BodyFrame::Data(Bytes::from_static(b".x\r\n.")),
                    BodyFrame::Data(Bytes::from_static(b"y\r\n")),
                    BodyFrame::End,
                ] {
                    server.encode(frame, &mut to_client).unwrap();
                }
            }
            _ => Encoder::<Response>::encode(&mut server, Response::Status(ok("")), &mut to_client)
                .unwrap(),
        }
    }
    let mut body = Vec::new();
    let mut stat = None;
    while let Some(event) = client.decode(&mut to_client).unwrap() {
        match event {
            ClientEvent::Response {
                response: Response::Stat(s),
                ..
            } => stat = Some(s),
            ClientEvent::BodyData(d) => body.extend_from_slice(&d),
            _ => {}
        }
    }
    assert_eq!(stat, Some(Stat { count: 1, size: 9 }));
    assert_eq!(body, b".x\r\n.y\r\n");
}
