//! GraphQL subscriptions over WebSocket at `/graphql/ws`: `graphql-transport-ws`, and the
//! legacy `graphql-ws` for older clients. The token comes in `connection_init`; without a
//! valid one the server closes the socket before anything else is sent.

use std::str::FromStr;

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket, WebSocketProtocols, WsMessage};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket as Socket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, SinkExt, StreamExt};
use sea_orm::DatabaseConnection;

use crate::graphql::context::Caller;
use crate::graphql::loaders::Loaders;
use crate::http::AppState;

/// Read buffer of a subscription socket. tungstenite zero-fills all of it on every read
/// attempt, and a socket is polled for reads each time an event is sent on it: with the
/// 128 KiB default that fill was the largest single cost of delivering an event. Clients
/// send only small control messages; a larger frame still arrives (the buffer grows).
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// How long a client may take from opening the socket to a successful `connection_init`
/// before the server closes it (4408, as `graphql-transport-ws` says), so unauthenticated
/// sockets cannot pile up.
pub const CONNECTION_INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `GET /graphql/ws`: upgrades to a GraphQL WebSocket; 400 without a GraphQL subprotocol.
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(protocol) = protocol(&headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the `graphql-transport-ws` (or legacy `graphql-ws`) subprotocol",
        )
            .into_response();
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| serve(socket, state, protocol))
}

/// The first GraphQL subprotocol the client offers.
fn protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
}

/// Runs the protocol (async-graphql's) over the socket. Unlike async-graphql-axum's
/// `GraphQLWebSocket::serve`, which flushes after every message, this writes whatever is
/// ready in one go: with a thousand subscribers, a system call per event per socket was
/// most of the cost of fanning an event out.
async fn serve(socket: Socket, state: AppState, protocol: WebSocketProtocols) {
    let (mut sink, stream) = socket.split();
    let incoming = stream
        .take_while(|message| futures::future::ready(message.is_ok()))
        .filter_map(|message| {
            futures::future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let db = state.db.clone();
    let mut outgoing = WebSocket::new(state.schema.clone(), incoming, protocol)
        .on_connection_init(move |payload| connection_init(db, payload))
        .map(|message| match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        });
    let init_deadline = tokio::time::Instant::now() + CONNECTION_INIT_TIMEOUT;
    let mut acknowledged = false;
    loop {
        let next = if acknowledged {
            outgoing.next().await
        } else {
            match tokio::time::timeout_at(init_deadline, outgoing.next()).await {
                Ok(next) => next,
                Err(_) => {
                    let close = CloseFrame {
                        code: 4408,
                        reason: "Connection initialisation timeout".into(),
                    };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    return;
                }
            }
        };
        let Some(first) = next else {
            return;
        };
        acknowledged |= is_ack(&first);
        if sink.feed(first).await.is_err() {
            return;
        }
        let mut ended = false;
        loop {
            match outgoing.next().now_or_never() {
                Some(Some(message)) => {
                    acknowledged |= is_ack(&message);
                    if sink.feed(message).await.is_err() {
                        return;
                    }
                }
                Some(None) => {
                    ended = true;
                    break;
                }
                None => break,
            }
        }
        if sink.flush().await.is_err() || ended {
            return;
        }
    }
}

fn is_ack(message: &Message) -> bool {
    matches!(message, Message::Text(text) if text.as_str() == r#"{"type":"connection_ack"}"#)
}

/// Authenticates a connection from its `connection_init` payload:
/// `{"Authorization": "Bearer <token>"}` (the key in any case) or `{"token": "<token>"}`.
/// An error makes the protocol close the connection.
async fn connection_init(
    db: DatabaseConnection,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let token = payload
        .as_object()
        .and_then(|fields| {
            fields.iter().find_map(|(key, value)| {
                let value = value.as_str()?.trim();
                if key.eq_ignore_ascii_case("authorization") {
                    let (scheme, token) = value.split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
                } else if key == "token" {
                    Some(value)
                } else {
                    None
                }
            })
        })
        .ok_or_else(|| {
            async_graphql::Error::new(
                "authentication required: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
            )
        })?;
    let principal = match domain::auth::authenticate(&db, token).await {
        Ok(principal) => principal,
        Err(domain::DomainError::Unauthenticated) => {
            return Err(async_graphql::Error::new("invalid or expired token"));
        }
        Err(error) => {
            tracing::error!(%error, "authentication lookup failed");
            return Err(async_graphql::Error::new("authentication failed"));
        }
    };
    let mut data = Data::default();
    data.insert(Loaders::new(&db, Some(principal.clone())));
    data.insert(Caller(Some(principal)));
    Ok(data)
}
