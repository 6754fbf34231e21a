//! The HTTP client that enforces an [`OutboundPolicy`] on the wire.
//!
//! Three places can lead a request somewhere it must not go, and each is guarded:
//! - the first URL: [`check_url`] before anything is sent (IP-literal hosts never reach a
//!   resolver, so this is their only address check);
//! - DNS: a resolver that filters every resolved address through [`check_ip`] and hands only
//!   the survivors to the connector, so the addresses checked are the addresses dialled and a
//!   name re-resolving to an internal address (DNS rebinding) gains nothing;
//! - redirects: every hop goes through [`check_url`] again, and its name through the same
//!   resolver.
//!
//! Proxies from the environment are ignored (a proxy would resolve names itself, beyond the
//! guard), and the `Referer` header is not sent on redirects (the previous URL may carry a
//! token in its query).

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::HeaderMap;
use reqwest::{IntoUrl, Method, Request, RequestBuilder, redirect};
use url::Url;

use super::guard::{Refusal, check_ip, check_url, origin_of};
use super::policy::OutboundPolicy;

/// Never reserve more than this up front, whatever Content-Length claims: the claim is the
/// peer's, the memory is ours.
const MAX_PREALLOCATION: u64 = 1024 * 1024;

/// An HTTP client for requests whose URLs come from workflow authors. Cloning is cheap and
/// shares the connection pool.
#[derive(Clone, Debug)]
pub struct OutboundClient {
    inner: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

/// A complete response: the body has been read, within the size limit.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body, at most `max_response_bytes` long.
    pub body: Bytes,
    /// The URL that answered, after redirects.
    pub url: Url,
}

impl OutboundResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why an outbound request failed. Messages name at most the scheme, host and port of a URL
/// (never its path, query or user info, nor any request header), so they are safe to store
/// in execution data and logs.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The policy does not permit the URL or any address its host resolved to.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The request did not complete within the policy's timeout.
    #[error("request to {url} timed out")]
    Timeout {
        /// Origin of the URL that timed out.
        url: String,
    },
    /// The response body is larger than `max_response_bytes`.
    #[error("response from {url} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// Origin of the URL that answered.
        url: String,
    },
    /// More redirects than `max_redirects`.
    #[error("request to {url} was redirected more than {limit} times")]
    TooManyRedirects {
        /// The limit.
        limit: usize,
        /// Origin of the last URL that redirected.
        url: String,
    },
    /// Any other transport or protocol failure (connection refused, TLS, malformed HTTP...).
    #[error("HTTP request failed: {}", ErrorChain(.0))]
    Http(reqwest::Error),
    /// The policy could not be turned into a client (for example an unreadable root PEM).
    #[error("invalid outbound HTTP configuration: {0}")]
    Config(String),
}

/// Renders an error with its causes, since "error sending request" alone explains nothing.
struct ErrorChain<'a>(&'a reqwest::Error);

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Marks the redirect policy's "too many" decision so it can be told apart afterwards.
#[derive(Debug)]
struct RedirectLimit(usize);

impl fmt::Display for RedirectLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "more than {} redirects", self.0)
    }
}

impl StdError for RedirectLimit {}

impl OutboundClient {
    /// A client enforcing `policy`.
    pub fn with_policy(policy: OutboundPolicy) -> Result<Self, OutboundError> {
        let policy = Arc::new(policy);
        let mut builder = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: Arc::clone(&policy),
            }))
            .redirect(redirect_policy(Arc::clone(&policy)))
            .no_proxy()
            .referer(false)
            .timeout(policy.timeout)
            .connect_timeout(policy.connect_timeout)
            .user_agent(concat!("weft/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &policy.extra_root_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| OutboundError::Config(format!("extra root certificate: {e}")))?;
            if certificates.is_empty() {
                return Err(OutboundError::Config(
                    "extra root certificate: no PEM certificate found".into(),
                ));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let inner = builder
            .build()
            .map_err(|e| OutboundError::Config(ErrorChain(&e).to_string()))?;
        Ok(Self { inner, policy })
    }

    /// A client enforcing [`OutboundPolicy::from_env`].
    pub fn from_env() -> Result<Self, OutboundError> {
        let policy =
            OutboundPolicy::from_env().map_err(|e| OutboundError::Config(e.to_string()))?;
        Self::with_policy(policy)
    }

    /// The policy this client enforces.
    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// Starts a request; finish it with [`OutboundClient::send`].
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        self.inner.request(method, url)
    }

    /// Starts a GET request.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.inner.get(url)
    }

    /// Starts a POST request.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.inner.post(url)
    }

    /// Builds and sends `request` (from any client: only this one's settings apply) and
    /// reads the whole response body.
    pub async fn send(&self, request: RequestBuilder) -> Result<OutboundResponse, OutboundError> {
        let request = request
            .build()
            .map_err(|e| OutboundError::Http(e.without_url()))?;
        self.execute(request).await
    }

    /// Sends `request` and reads the whole response body, failing as soon as it grows past
    /// `max_response_bytes`. A timeout set on the request itself replaces the policy's.
    pub async fn execute(&self, request: Request) -> Result<OutboundResponse, OutboundError> {
        let url = request.url().clone();
        check_url(&url, &self.policy)?;
        let mut response = self
            .inner
            .execute(request)
            .await
            .map_err(|e| classify(e, &url))?;

        let final_url = response.url().clone();
        let limit = self.policy.max_response_bytes;
        let too_large = || OutboundError::TooLarge {
            limit,
            url: origin_of(&final_url),
        };
        let declared = response.content_length();
        if declared.is_some_and(|length| length > limit) {
            return Err(too_large());
        }
        let capacity = declared.unwrap_or(0).min(limit).min(MAX_PREALLOCATION);
        let mut body = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
        let mut received: u64 = 0;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(e, &final_url))?
        {
            received = received.saturating_add(chunk.len() as u64);
            if received > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(OutboundResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: body.freeze(),
            url: final_url,
        })
    }
}

/// Recovers our own decisions (a refusal from the resolver or redirect policy, the redirect
/// limit) from reqwest's error chain, and strips the URL from anything else.
fn classify(error: reqwest::Error, fallback: &Url) -> OutboundError {
    let origin = error.url().map_or_else(|| origin_of(fallback), origin_of);
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<Refusal>() {
            return OutboundError::Refused(refusal.clone());
        }
        if let Some(RedirectLimit(limit)) = cause.downcast_ref::<RedirectLimit>() {
            return OutboundError::TooManyRedirects {
                limit: *limit,
                url: origin,
            };
        }
        source = cause.source();
    }
    if error.is_timeout() {
        return OutboundError::Timeout { url: origin };
    }
    OutboundError::Http(error.without_url())
}

fn redirect_policy(policy: Arc<OutboundPolicy>) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        if let Err(refusal) = check_url(attempt.url(), &policy) {
            return attempt.error(refusal);
        }
        // `previous` holds the original URL and every hop so far, so its length is the
        // number of redirects including this one.
        if attempt.previous().len() > policy.max_redirects {
            return attempt.error(RedirectLimit(policy.max_redirects));
        }
        attempt.follow()
    })
}

/// Resolves with the system resolver, then keeps only the addresses the policy permits.
struct GuardedResolver {
    policy: Arc<OutboundPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if resolved.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no addresses found for {host}"),
                )
                .into());
            }
            let permitted = permitted_addrs(&host, resolved, &policy)?;
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// The resolved addresses the policy permits for `host`, in their original order; when none
/// is permitted, the refusal of the first one.
fn permitted_addrs(
    host: &str,
    resolved: Vec<SocketAddr>,
    policy: &OutboundPolicy,
) -> Result<Vec<SocketAddr>, Refusal> {
    let mut first_refusal = None;
    let permitted: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|addr| match check_ip(addr.ip(), policy, host) {
            Ok(()) => true,
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
                false
            }
        })
        .collect();
    match first_refusal {
        Some(refusal) if permitted.is_empty() => Err(refusal),
        _ => Ok(permitted),
    }
}

#[cfg(test)]
mod tests {
    //! Live tests. They only ever dial 127.0.0.1: every other address in them is refused
    //! before any connection is attempted, which is exactly what they assert.

    use super::*;
    use crate::outbound::{AddressClass, HostRule, RefusalReason};
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;

    const MB: u64 = 1024 * 1024;

    /// Self-signed, CA:FALSE, for IP 127.0.0.1 and DNS localhost, valid 2000–2100. A test
    /// key protecting nothing.
    const TEST_CERT_PEM: &str = "\
-----BEGIN CERTIFICATE-----
MIIBjjCCATWgAwIBAgIUYO4bdANVx3yOrIFD0DhZb92KVJowCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSd2VmdCBvdXRib3VuZCB0ZXN0MCAXDTAwMDEwMTAwMDAwMFoY
DzIxMDAwMTAxMDAwMDAwWjAdMRswGQYDVQQDDBJ3ZWZ0IG91dGJvdW5kIHRlc3Qw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATAyXYx83G9delnSUJXK+UeRj45cQr1
RaOOUA2kaFA5W2nkrHnpV8idyUg9gKd2XpxpR6e2dKpTVXGTl8rIMIDFo1EwTzAa
BgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwDAYDVR0TAQH/BAIwADAOBgNVHQ8B
Af8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwCgYIKoZIzj0EAwIDRwAwRAIg
Kda6e2EDzclFxUWyYJNlZo91V1BZj37Efxn8JRJ09Y8CIC1NvRIysWSv3sjKjJFK
UKpDJQd5mUqOUTG6WzXbZBAS
-----END CERTIFICATE-----
";

    const TEST_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfwCPsclEKZxuqvR1
z5qYU0GqtP7rib/YCtRSx5F7pGShRANCAATAyXYx83G9delnSUJXK+UeRj45cQr1
RaOOUA2kaFA5W2nkrHnpV8idyUg9gKd2XpxpR6e2dKpTVXGTl8rIMIDF
-----END PRIVATE KEY-----
";

    enum Reply {
        Text(String),
        Redirect(String),
        /// A body without Content-Length, `None` meaning endless.
        Stream(Option<u64>),
        /// Claims this Content-Length, sends a few bytes, then hangs.
        Declared(u64),
        /// Waits this long before answering.
        Slow(Duration),
        /// Sends headers and part of the body, then hangs.
        Stall,
    }

    type Route = dyn Fn(&str, u16) -> Reply + Send + Sync;

    struct TestServer {
        port: u16,
        accepted: Arc<AtomicUsize>,
    }

    impl TestServer {
        async fn start(route: impl Fn(&str, u16) -> Reply + Send + Sync + 'static) -> Self {
            Self::start_with(None, route).await
        }

        /// Serves HTTPS with the self-signed [`TEST_CERT_PEM`].
        async fn start_tls(route: impl Fn(&str, u16) -> Reply + Send + Sync + 'static) -> Self {
            use tokio_rustls::rustls::pki_types::pem::PemObject;
            use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
            use tokio_rustls::rustls::{ServerConfig, crypto::ring};

            let certs = CertificateDer::pem_slice_iter(TEST_CERT_PEM.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(TEST_KEY_PEM.as_bytes()).unwrap();
            // An explicit provider: the process-wide default depends on which rustls
            // features other crates in the build happen to enable.
            let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap();
            Self::start_with(Some(TlsAcceptor::from(Arc::new(config))), route).await
        }

        async fn start_with(
            tls: Option<TlsAcceptor>,
            route: impl Fn(&str, u16) -> Reply + Send + Sync + 'static,
        ) -> Self {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let accepted = Arc::new(AtomicUsize::new(0));
            let route: Arc<Route> = Arc::new(route);
            let counter = Arc::clone(&accepted);
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let route = Arc::clone(&route);
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let _ = match tls {
                            None => serve(stream, &*route, port).await,
                            Some(tls) => match tls.accept(stream).await {
                                Ok(stream) => serve(stream, &*route, port).await,
                                Err(e) => Err(e),
                            },
                        };
                    });
                }
            });
            Self { port, accepted }
        }

        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }

        async fn connections(&self) -> usize {
            // Let a connection that might have been made reach the accept loop.
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.accepted.load(Ordering::SeqCst)
        }
    }

    async fn serve(
        mut stream: impl AsyncRead + AsyncWrite + Unpin,
        route: &Route,
        port: u16,
    ) -> io::Result<()> {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&head);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let text = |body: &str| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Test: yes\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        match route(&path, port) {
            Reply::Text(body) => stream.write_all(text(&body).as_bytes()).await?,
            Reply::Redirect(location) => {
                let head = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                     Connection: close\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await?;
            }
            Reply::Stream(total) => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    .await?;
                let chunk = vec![b'x'; 64 * 1024];
                let mut sent = 0u64;
                while total.is_none_or(|total| sent < total) {
                    stream.write_all(&chunk).await?;
                    sent += chunk.len() as u64;
                }
            }
            Reply::Declared(length) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(b"just the start").await?;
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Reply::Slow(delay) => {
                tokio::time::sleep(delay).await;
                stream.write_all(text("late").as_bytes()).await?;
            }
            Reply::Stall => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
                    .await?;
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
        }
        stream.shutdown().await
    }

    fn rules(list: &str) -> Vec<HostRule> {
        HostRule::parse_list(list).unwrap()
    }

    /// Only 127.0.0.1 is reachable (allowlisted by address, so plain http is fine there).
    fn loopback_only() -> OutboundPolicy {
        OutboundPolicy {
            allowed_hosts: rules("127.0.0.1"),
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            ..OutboundPolicy::default()
        }
    }

    fn guarded(policy: OutboundPolicy) -> OutboundClient {
        OutboundClient::with_policy(policy).unwrap()
    }

    fn refusal(result: Result<OutboundResponse, OutboundError>) -> Refusal {
        match result {
            Err(OutboundError::Refused(refusal)) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn hello() -> impl Fn(&str, u16) -> Reply + Send + Sync + 'static {
        |_: &str, _: u16| Reply::Text("hello".into())
    }

    #[tokio::test]
    async fn outbound_default_policy_never_connects_to_loopback() {
        let server = TestServer::start(hello()).await;
        let permissive_http = OutboundPolicy {
            allow_http: true,
            ..OutboundPolicy::default()
        };
        for policy in [OutboundPolicy::default(), permissive_http] {
            let client = guarded(policy);
            for url in [
                server.url("/"),
                format!("https://127.0.0.1:{}/", server.port),
                format!("http://2130706433:{}/", server.port),
                format!("http://0x7f.1:{}/", server.port),
                format!("http://[::ffff:127.0.0.1]:{}/", server.port),
            ] {
                let refused = refusal(client.send(client.get(&url)).await);
                assert_eq!(
                    refused.reason.address_class(),
                    Some(AddressClass::Loopback),
                    "{url}: {refused}"
                );
            }
        }
        assert_eq!(server.connections().await, 0);
    }

    #[tokio::test]
    async fn outbound_allowlisted_loopback_get_succeeds() {
        let server = TestServer::start(hello()).await;
        let client = guarded(loopback_only());
        let response = client.send(client.get(server.url("/greet"))).await.unwrap();
        assert_eq!(response.status, 200);
        assert!(response.is_success());
        assert_eq!(&response.body[..], b"hello");
        assert_eq!(response.headers.get("x-test").unwrap(), "yes");
        assert_eq!(response.url.as_str(), server.url("/greet"));
        assert_eq!(server.connections().await, 1);

        // `execute` takes a built request, and clones share the policy.
        let request = client.get(server.url("/again")).build().unwrap();
        let response = client.clone().execute(request).await.unwrap();
        assert_eq!(&response.body[..], b"hello");
    }

    #[tokio::test]
    async fn outbound_redirects_are_rechecked_on_every_hop() {
        let server = TestServer::start(|path: &str, port: u16| {
            let target = match path {
                "/to-metadata" => "http://169.254.169.254/latest/meta-data/".to_string(),
                "/to-metadata-https" => "https://169.254.169.254/latest/meta-data/".to_string(),
                "/to-metadata-decimal" => "http://2852039166/latest/meta-data/".to_string(),
                "/to-metadata-octal" => "http://0251.0376.0251.0376/".to_string(),
                "/to-private" => "http://10.0.0.1/".to_string(),
                "/to-mapped-metadata" => "http://[::ffff:169.254.169.254]/".to_string(),
                "/to-alibaba" => "http://100.100.100.200/latest/meta-data/".to_string(),
                "/to-aws-v6" => "http://[fd00:ec2::254]/latest/meta-data/".to_string(),
                "/to-v6-loopback" => format!("http://[::1]:{port}/"),
                "/to-other-loopback" => format!("http://127.0.0.2:{port}/"),
                "/to-localhost-http" => format!("http://localhost:{port}/"),
                "/to-file" => "file:///etc/passwd".to_string(),
                "/to-credentials" => format!("http://user:pw@127.0.0.1:{port}/"),
                _ => return Reply::Text("landed".into()),
            };
            Reply::Redirect(target)
        })
        .await;
        let client = guarded(loopback_only());
        let cases = [
            ("/to-metadata", Some(AddressClass::CloudMetadata)),
            ("/to-metadata-https", Some(AddressClass::CloudMetadata)),
            ("/to-metadata-decimal", Some(AddressClass::CloudMetadata)),
            ("/to-metadata-octal", Some(AddressClass::CloudMetadata)),
            ("/to-private", Some(AddressClass::Private)),
            ("/to-mapped-metadata", Some(AddressClass::CloudMetadata)),
            ("/to-alibaba", Some(AddressClass::CloudMetadata)),
            ("/to-aws-v6", Some(AddressClass::CloudMetadata)),
            ("/to-v6-loopback", Some(AddressClass::Loopback)),
            ("/to-other-loopback", Some(AddressClass::Loopback)),
            // The name is not allowlisted and allow_http is off: refused before resolving.
            ("/to-localhost-http", None),
            ("/to-credentials", None),
        ];
        let cases_len = cases.len();
        for (index, (path, class)) in cases.into_iter().enumerate() {
            let refused = refusal(client.send(client.get(server.url(path))).await);
            assert_eq!(refused.reason.address_class(), class, "{path}: {refused}");
            // Only the first hop, to the test server itself, was dialled.
            assert_eq!(server.connections().await, index + 1, "{path}");
        }

        // reqwest never follows a redirect to another scheme: the 3xx itself comes back.
        let response = client
            .send(client.get(server.url("/to-file")))
            .await
            .unwrap();
        assert_eq!(response.status, 302);
        assert_eq!(server.connections().await, cases_len + 1);
    }

    #[tokio::test]
    async fn outbound_redirect_to_a_name_resolving_to_an_allowlisted_address() {
        // Decision: an IP rule permits that address whatever name led there, so with
        // 127.0.0.1 allowlisted `localhost` may be followed once plain http is allowed; the
        // resolver still drops any other loopback address (::1) the name resolves to.
        let server = TestServer::start(|path: &str, port: u16| match path {
            "/hop" => Reply::Redirect(format!("http://localhost:{port}/landed")),
            _ => Reply::Text("landed".into()),
        })
        .await;
        let client = guarded(OutboundPolicy {
            allow_http: true,
            ..loopback_only()
        });
        let response = client.send(client.get(server.url("/hop"))).await.unwrap();
        assert_eq!(&response.body[..], b"landed");
        assert_eq!(response.url.host_str(), Some("localhost"));
        assert_eq!(server.connections().await, 2);
    }

    #[tokio::test]
    async fn outbound_redirect_limit() {
        let server = TestServer::start(|path: &str, _: u16| {
            let n: usize = path.trim_start_matches("/hop/").parse().unwrap_or(0);
            Reply::Redirect(format!("/hop/{}", n + 1))
        })
        .await;
        let client = guarded(OutboundPolicy {
            max_redirects: 3,
            ..loopback_only()
        });
        match client.send(client.get(server.url("/hop/0"))).await {
            Err(OutboundError::TooManyRedirects { limit: 3, url }) => {
                assert_eq!(url, format!("http://127.0.0.1:{}", server.port));
            }
            other => panic!("expected too many redirects, got {other:?}"),
        }
        assert_eq!(server.connections().await, 4);
    }

    #[tokio::test]
    async fn outbound_resolver_refuses_names_resolving_to_loopback() {
        let server = TestServer::start(hello()).await;
        let url = format!("http://localhost:{}/", server.port);
        let client = guarded(OutboundPolicy {
            allow_http: true,
            ..OutboundPolicy::default()
        });
        let refused = refusal(client.send(client.get(&url)).await);
        assert_eq!(refused.host, "localhost");
        assert_eq!(refused.address, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(
            refused.reason,
            RefusalReason::Address(AddressClass::Loopback)
        );
        assert!(
            refused
                .to_string()
                .starts_with("refused to connect to 127.0.0.1 (localhost): loopback address")
        );
        assert_eq!(server.connections().await, 0);

        // Permitted by a name rule, or by private networks being allowed.
        for policy in [
            OutboundPolicy {
                allowed_hosts: rules("localhost"),
                ..OutboundPolicy::default()
            },
            OutboundPolicy {
                allow_http: true,
                allow_private_networks: true,
                ..OutboundPolicy::default()
            },
        ] {
            let client = guarded(policy);
            let response = client.send(client.get(&url)).await.unwrap();
            assert_eq!(&response.body[..], b"hello");
        }
        assert_eq!(server.connections().await, 2);

        // A name rule does not vouch for the address literal.
        let client = guarded(OutboundPolicy {
            allowed_hosts: rules("localhost"),
            ..OutboundPolicy::default()
        });
        refusal(client.send(client.get(server.url("/"))).await);
        assert_eq!(server.connections().await, 2);
    }

    #[test]
    fn outbound_resolver_filters_each_address() {
        let addr = |text: &str| -> SocketAddr { text.parse().unwrap() };
        let resolved = vec![
            addr("[::1]:0"),
            addr("127.0.0.1:0"),
            addr("93.184.216.34:0"),
            addr("169.254.169.254:0"),
        ];
        // A rebinding answer mixing public and internal addresses keeps only the public one.
        let permitted = permitted_addrs(
            "mixed.example",
            resolved.clone(),
            &OutboundPolicy::default(),
        )
        .unwrap();
        assert_eq!(permitted, vec![addr("93.184.216.34:0")]);

        let loopback = OutboundPolicy {
            allowed_hosts: rules("127.0.0.1"),
            ..OutboundPolicy::default()
        };
        let permitted = permitted_addrs("localhost", resolved.clone(), &loopback).unwrap();
        assert_eq!(
            permitted,
            vec![addr("127.0.0.1:0"), addr("93.184.216.34:0")]
        );

        let private = OutboundPolicy {
            allow_private_networks: true,
            ..OutboundPolicy::default()
        };
        let permitted = permitted_addrs("x", resolved, &private).unwrap();
        assert!(!permitted.contains(&addr("169.254.169.254:0")));
        assert_eq!(permitted.len(), 3);

        let refused = permitted_addrs(
            "metadata.example",
            vec![addr("169.254.169.254:0"), addr("10.0.0.1:0")],
            &OutboundPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(
            refused.address,
            Some("169.254.169.254".parse::<IpAddr>().unwrap())
        );
        assert!(
            refused
                .to_string()
                .starts_with("refused to connect to 169.254.169.254 (metadata.example)")
        );
    }

    #[tokio::test]
    async fn outbound_streamed_body_over_the_limit_is_cut_off() {
        let server = TestServer::start(|path: &str, _: u16| match path {
            "/twenty" => Reply::Stream(Some(20 * MB)),
            _ => Reply::Stream(None),
        })
        .await;
        let client = guarded(loopback_only());
        assert_eq!(client.policy().max_response_bytes, 10 * MB);
        for path in ["/twenty", "/endless"] {
            match client.send(client.get(server.url(path))).await {
                Err(OutboundError::TooLarge { limit, url }) => {
                    assert_eq!(limit, 10 * MB);
                    assert_eq!(url, format!("http://127.0.0.1:{}", server.port));
                }
                other => panic!("{path}: expected too large, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn outbound_declared_length_over_the_limit_is_refused_early() {
        let server = TestServer::start(|_: &str, _: u16| Reply::Declared(20 * MB)).await;
        let client = guarded(OutboundPolicy {
            timeout: Duration::from_secs(20),
            ..loopback_only()
        });
        let started = Instant::now();
        let result = client.send(client.get(server.url("/"))).await;
        assert!(
            matches!(result, Err(OutboundError::TooLarge { .. })),
            "{result:?}"
        );
        // The server never finishes; only the header can have ended this so quickly.
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn outbound_limit_is_inclusive() {
        let server = TestServer::start(|path: &str, _: u16| {
            let size = if path == "/exact" { 1000 } else { 1001 };
            Reply::Text("a".repeat(size))
        })
        .await;
        let client = guarded(OutboundPolicy {
            max_response_bytes: 1000,
            ..loopback_only()
        });
        let response = client.send(client.get(server.url("/exact"))).await.unwrap();
        assert_eq!(response.body.len(), 1000);
        let result = client.send(client.get(server.url("/over"))).await;
        assert!(
            matches!(result, Err(OutboundError::TooLarge { limit: 1000, .. })),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn outbound_slow_server_times_out() {
        let server = TestServer::start(|path: &str, _: u16| match path {
            "/slow" => Reply::Slow(Duration::from_secs(10)),
            _ => Reply::Stall,
        })
        .await;
        let client = guarded(OutboundPolicy {
            timeout: Duration::from_millis(300),
            ..loopback_only()
        });
        for path in ["/slow", "/stall"] {
            let started = Instant::now();
            let result = client.send(client.get(server.url(path))).await;
            match result {
                Err(OutboundError::Timeout { url }) => {
                    assert_eq!(url, format!("http://127.0.0.1:{}", server.port));
                }
                other => panic!("{path}: expected a timeout, got {other:?}"),
            }
            assert!(started.elapsed() < Duration::from_secs(3), "{path}");
        }
    }

    #[tokio::test]
    async fn outbound_errors_do_not_leak_secrets() {
        // Bind and drop to get a port nobody listens on: the connection is refused.
        let port = {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let client = guarded(loopback_only());
        let request = client
            .get(format!(
                "http://127.0.0.1:{port}/hooks/secret-path?token=secret-token"
            ))
            .header("authorization", "Bearer secret-header");
        let error = client.send(request).await.unwrap_err();
        assert!(matches!(error, OutboundError::Http(_)), "{error:?}");
        let message = error.to_string();
        assert!(!message.contains("secret"), "{message}");
        assert!(message.starts_with("HTTP request failed: "), "{message}");
    }

    #[test]
    fn outbound_extra_root_must_be_a_certificate() {
        let result = OutboundClient::with_policy(OutboundPolicy {
            extra_root_pem: Some(b"not a certificate".to_vec()),
            ..OutboundPolicy::default()
        });
        assert!(
            matches!(result, Err(OutboundError::Config(_))),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn outbound_extra_root_trusts_a_self_signed_loopback_server() {
        let server = TestServer::start_tls(hello()).await;
        let trusting = guarded(OutboundPolicy {
            extra_root_pem: Some(TEST_CERT_PEM.as_bytes().to_vec()),
            ..loopback_only()
        });
        for url in [
            format!("https://127.0.0.1:{}/", server.port),
            format!("https://localhost:{}/", server.port),
        ] {
            let response = trusting.send(trusting.get(&url)).await.unwrap();
            assert_eq!(&response.body[..], b"hello", "{url}");
        }

        // Without the extra root the same server is rejected by certificate verification.
        let client = guarded(loopback_only());
        let url = format!("https://127.0.0.1:{}/", server.port);
        let error = client.send(client.get(&url)).await.unwrap_err();
        assert!(matches!(error, OutboundError::Http(_)), "{error:?}");
        assert!(error.to_string().contains("certificate"), "{error}");
        assert_eq!(server.connections().await, 3);
    }
}
