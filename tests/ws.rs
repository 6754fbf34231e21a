//! A GraphQL-over-WebSocket client that speaks the protocols itself (`graphql-transport-ws`
//! and the legacy `graphql-ws`), so tests see exactly the frames a browser client would.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`: subscribe / next / complete, ping / pong.
    TransportWs,
    /// The legacy `graphql-ws` (subscriptions-transport-ws): start / data / stop.
    LegacyWs,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::LegacyWs => "graphql-ws",
        }
    }
}

/// What the server sent next.
#[derive(Debug)]
pub enum Frame {
    Message(Value),
    /// A close frame (with its code) or the connection simply ending (`None`).
    Closed(Option<u16>),
}

/// What a subscription delivered next.
#[derive(Debug)]
pub enum Delivery {
    /// A `next` (or legacy `data`) payload: `{ data, errors }`.
    Result(Value),
    Complete,
}

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub protocol: Protocol,
}

impl WsClient {
    /// Opens `/graphql/ws` with `protocol`; nothing is sent yet.
    pub async fn connect(base_url: &str, protocol: Protocol) -> Self {
        let url = format!("{}/graphql/ws", base_url.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("a WebSocket URL");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(protocol.name()),
        );
        // tungstenite zero-fills its whole read buffer on every read; the 128 KiB default
        // makes a thousand clients in one test process needlessly slow.
        let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
        let (socket, response) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), false)
                .await
                .expect("opening the WebSocket");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            protocol.name(),
            "the server speaks the protocol asked for"
        );
        Self { socket, protocol }
    }

    /// Connects and authenticates with `token` in `connection_init`.
    pub async fn connect_as(base_url: &str, token: &str, protocol: Protocol) -> Self {
        let mut client = Self::connect(base_url, protocol).await;
        client
            .init(json!({ "Authorization": format!("Bearer {token}") }))
            .await;
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("sending a frame");
    }

    /// Sends `connection_init` and waits for `connection_ack`.
    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match self.frame().await {
            Frame::Message(m) if m["type"] == "connection_ack" => {}
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// The next protocol message; answers the server's `ping` and skips keep-alives.
    pub async fn frame(&mut self) -> Frame {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).expect("a JSON frame");
                    match message["type"].as_str() {
                        Some("ping") => self.send(json!({ "type": "pong" })).await,
                        Some("ka") => {}
                        _ => return Frame::Message(message),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return Frame::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Frame::Closed(None),
            }
        }
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = match self.protocol {
            Protocol::TransportWs => "subscribe",
            Protocol::LegacyWs => "start",
        };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next delivery of any subscription on this connection, with its id.
    pub async fn delivery(&mut self) -> (String, Delivery) {
        loop {
            let message = match self.frame().await {
                Frame::Message(message) => message,
                Frame::Closed(code) => panic!("the connection closed ({code:?})"),
            };
            let id = message["id"].as_str().unwrap_or_default().to_owned();
            match message["type"].as_str() {
                Some("next" | "data") => return (id, Delivery::Result(message["payload"].clone())),
                Some("error") => {
                    return (
                        id,
                        Delivery::Result(json!({ "errors": message["payload"] })),
                    );
                }
                Some("complete") => return (id, Delivery::Complete),
                Some("pong") => {}
                _ => panic!("unexpected message {message}"),
            }
        }
    }

    /// The next delivery of subscription `id` (the only one on this connection).
    pub async fn next_of(&mut self, id: &str) -> Delivery {
        let (from, delivery) = self.delivery().await;
        assert_eq!(from, id, "a delivery for another subscription");
        delivery
    }

    /// Sends `ping` and waits for the `pong` (`graphql-transport-ws` only).
    pub async fn ping(&mut self) {
        self.send(json!({ "type": "ping" })).await;
        match self.frame().await {
            Frame::Message(m) if m["type"] == "pong" => {}
            other => panic!("expected pong, got {other:?}"),
        }
    }

    /// Ends subscription `id` from the client's side.
    pub async fn stop(&mut self, id: &str) {
        let kind = match self.protocol {
            Protocol::TransportWs => "complete",
            Protocol::LegacyWs => "stop",
        };
        self.send(json!({ "id": id, "type": kind })).await;
    }

    /// Drops the connection without a goodbye, as a client losing its network would.
    pub fn abandon(self) {
        drop(self.socket);
    }
}
