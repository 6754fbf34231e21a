//! What outbound requests may reach: the secure defaults, the operator's overrides from the
//! environment, and the host allowlist rules.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

/// Environment variable that lets requests reach private, loopback and other non-public
/// addresses (but not cloud metadata endpoints, which need an explicit allowlist rule).
pub const ENV_ALLOW_PRIVATE_NETWORKS: &str = "WEFT_ALLOW_PRIVATE_NETWORKS";
/// Environment variable that permits plain `http://` URLs to any host.
pub const ENV_ALLOW_HTTP: &str = "WEFT_ALLOW_HTTP";
/// Environment variable holding comma-separated [`HostRule`]s.
pub const ENV_OUTBOUND_ALLOWLIST: &str = "WEFT_OUTBOUND_ALLOWLIST";

/// Default total time for one request, from connecting until the body is read.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default response body cap (10 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;
/// Default number of redirects followed before giving up.
pub const DEFAULT_MAX_REDIRECTS: usize = 5;

/// Rules for outbound HTTP. [`Default`] is the secure configuration: HTTPS only, every
/// non-public address refused, no allowlist.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Permit `http://` URLs to any host (allowlisted hosts may always use `http://`).
    pub allow_http: bool,
    /// Permit loopback, private, link-local and other non-public addresses. Cloud metadata
    /// addresses stay refused unless an IP or CIDR allowlist rule covers them.
    pub allow_private_networks: bool,
    /// Hosts and networks that are reachable whatever their address, over http or https.
    pub allowed_hosts: Vec<HostRule>,
    /// Total time for one request, from connecting until the whole body has been read.
    pub timeout: Duration,
    /// Time allowed for establishing a connection.
    pub connect_timeout: Duration,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: u64,
    /// Redirects followed before the request fails; every hop is checked like the first URL.
    pub max_redirects: usize,
    /// Extra trusted root certificates (one or more PEM certificates), in addition to the
    /// built-in web roots; meant for private CAs and self-signed test servers.
    pub extra_root_pem: Option<Vec<u8>>,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            allow_http: false,
            allow_private_networks: false,
            allowed_hosts: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            extra_root_pem: None,
        }
    }
}

impl fmt::Debug for OutboundPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The PEM bytes would drown everything else in logs; their size is enough.
        f.debug_struct("OutboundPolicy")
            .field("allow_http", &self.allow_http)
            .field("allow_private_networks", &self.allow_private_networks)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_redirects", &self.max_redirects)
            .field(
                "extra_root_pem",
                &self
                    .extra_root_pem
                    .as_ref()
                    .map(|pem| format!("<{} bytes>", pem.len())),
            )
            .finish()
    }
}

/// A malformed outbound setting in the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A boolean variable held something other than 1/true/yes/on or 0/false/no/off.
    #[error("{var} must be true or false (1/0, yes/no, on/off), not {value:?}")]
    InvalidFlag {
        /// The variable's name.
        var: &'static str,
        /// What it held.
        value: String,
    },
    /// An allowlist entry could not be parsed.
    #[error("{var}: {source}")]
    InvalidRule {
        /// The variable's name.
        var: &'static str,
        /// Why the entry was rejected.
        source: HostRuleError,
    },
}

impl OutboundPolicy {
    /// The secure defaults adjusted by `WEFT_ALLOW_PRIVATE_NETWORKS`, `WEFT_ALLOW_HTTP` and
    /// `WEFT_OUTBOUND_ALLOWLIST`. A malformed value is an error rather than ignored, so a
    /// typo cannot silently widen or narrow what the server may reach.
    pub fn from_env() -> Result<Self, PolicyError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`OutboundPolicy::from_env`] but reading variables through `lookup`, so callers
    /// (and tests) need not mutate the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, PolicyError> {
        let flag = |var: &'static str| -> Result<bool, PolicyError> {
            match lookup(var) {
                None => Ok(false),
                Some(value) => parse_flag(&value).ok_or(PolicyError::InvalidFlag { var, value }),
            }
        };
        let allowed_hosts = match lookup(ENV_OUTBOUND_ALLOWLIST) {
            None => Vec::new(),
            Some(list) => {
                HostRule::parse_list(&list).map_err(|source| PolicyError::InvalidRule {
                    var: ENV_OUTBOUND_ALLOWLIST,
                    source,
                })?
            }
        };
        Ok(Self {
            allow_http: flag(ENV_ALLOW_HTTP)?,
            allow_private_networks: flag(ENV_ALLOW_PRIVATE_NETWORKS)?,
            allowed_hosts,
            ..Self::default()
        })
    }

    /// Whether a host-name rule (exact or wildcard) matches `host`. IP and CIDR rules never
    /// match here: they are about addresses, see [`OutboundPolicy::ip_allowlisted`].
    pub fn host_allowlisted(&self, host: &str) -> bool {
        let host = normalize_name(host);
        self.allowed_hosts
            .iter()
            .any(|rule| rule.matches_name(&host))
    }

    /// Whether an IP or CIDR rule covers `ip` (an IPv4-mapped IPv6 address counts as its
    /// IPv4 address, since dialling either reaches the same host).
    pub fn ip_allowlisted(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        self.allowed_hosts
            .iter()
            .any(|rule| rule.contains_ip(ip) || rule.contains_ip(canonical))
    }
}

fn parse_flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "" | "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Lower-cases a host name and drops one trailing dot, so `Example.COM.` and `example.com`
/// compare equal (the `url` crate already lower-cases and punycode-encodes URL hosts).
pub(crate) fn normalize_name(host: &str) -> String {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.to_ascii_lowercase()
}

/// One allowlist entry. Parses from `example.com` (that exact host), `*.example.com` (any
/// subdomain at any depth, but not `example.com` itself), `127.0.0.1`, `::1` or `[::1]`
/// (that address), and `10.0.0.0/8` or `fd00::/8` (a network). A `:port` suffix is accepted
/// and ignored: rules are about hosts, not ports.
///
/// Name rules match the URL's host name and then permit every address it resolves to
/// (except cloud metadata addresses); IP and CIDR rules match the address actually dialled,
/// whichever name led there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostRule {
    /// Exactly this host name (lower-case, punycode, no trailing dot).
    Host(String),
    /// Any proper subdomain of this name.
    Subdomains(String),
    /// Exactly this address.
    Ip(IpAddr),
    /// Every address in this network; host bits of `network` are zero.
    Cidr {
        /// The network address.
        network: IpAddr,
        /// Prefix length in bits.
        prefix: u8,
    },
}

/// Why an allowlist entry was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid allowlist rule {rule:?}: {why}")]
pub struct HostRuleError {
    /// The entry as written.
    pub rule: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl HostRule {
    /// Parses a comma-separated list, skipping empty entries (so a trailing comma is fine).
    pub fn parse_list(list: &str) -> Result<Vec<Self>, HostRuleError> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::parse)
            .collect()
    }

    /// Whether this is a name rule matching `host` (already normalised).
    fn matches_name(&self, host: &str) -> bool {
        match self {
            Self::Host(name) => host == name,
            Self::Subdomains(parent) => host
                .strip_suffix(parent.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
            Self::Ip(_) | Self::Cidr { .. } => false,
        }
    }

    /// Whether this is an IP or CIDR rule covering `ip`.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        match *self {
            Self::Ip(rule) => rule == ip,
            Self::Cidr { network, prefix } => in_network(ip, network, prefix),
            Self::Host(_) | Self::Subdomains(_) => false,
        }
    }
}

/// Whether `ip` lies in `network/prefix`; addresses of the other family never do.
pub(crate) fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

impl FromStr for HostRule {
    type Err = HostRuleError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |why| HostRuleError {
            rule: input.to_owned(),
            why,
        };
        let rule = input.trim();
        if rule.is_empty() {
            return Err(error("empty rule"));
        }
        if rule.contains("://") {
            return Err(error("expected a host, address or network, not a URL"));
        }
        if let Some((address, prefix)) = rule.split_once('/') {
            let address = address
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .unwrap_or(address);
            let network: IpAddr = address
                .parse()
                .map_err(|_| error("a network must be an IP address followed by /prefix"))?;
            let prefix: u8 = prefix
                .parse()
                .map_err(|_| error("the prefix length must be a number"))?;
            let bits = if network.is_ipv4() { 32 } else { 128 };
            if prefix > bits {
                return Err(error("the prefix length is longer than the address"));
            }
            return Ok(Self::Cidr {
                network: mask_network(network, prefix),
                prefix,
            });
        }
        let host = strip_port(rule).ok_or_else(|| error("malformed host or port"))?;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        if let Some(parent) = host.strip_prefix("*.") {
            return match parse_host(parent) {
                Some(Parsed::Name(name)) => Ok(Self::Subdomains(name)),
                Some(Parsed::Ip(_)) => Err(error("a wildcard needs a domain name, not an address")),
                None => Err(error("not a valid host name")),
            };
        }
        match parse_host(host) {
            Some(Parsed::Name(name)) => Ok(Self::Host(name)),
            Some(Parsed::Ip(ip)) => Ok(Self::Ip(ip)),
            None => Err(error("not a valid host name")),
        }
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host(name) => f.write_str(name),
            Self::Subdomains(parent) => write!(f, "*.{parent}"),
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Cidr { network, prefix } => write!(f, "{network}/{prefix}"),
        }
    }
}

fn mask_network(network: IpAddr, prefix: u8) -> IpAddr {
    match network {
        IpAddr::V4(ip) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(ip) & mask).into())
        }
        IpAddr::V6(ip) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(ip) & mask).into())
        }
    }
}

/// Drops a `:port` suffix; `None` when what follows the colon is not a port.
fn strip_port(rule: &str) -> Option<&str> {
    if let Some(rest) = rule.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        return match after {
            "" => Some(inner),
            port => port.strip_prefix(':').filter(|p| is_port(p)).map(|_| inner),
        };
    }
    if rule.parse::<IpAddr>().is_ok() {
        // A bare IPv6 address is full of colons that are not port separators.
        return Some(rule);
    }
    match rule.rsplit_once(':') {
        None => Some(rule),
        Some((host, port)) if is_port(port) && !host.contains(':') => Some(host),
        Some(_) => None,
    }
}

fn is_port(port: &str) -> bool {
    !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
}

enum Parsed {
    Name(String),
    Ip(IpAddr),
}

/// Parses a host the way URL hosts are parsed, so a rule and a URL naming the same host
/// compare equal (IDNA to punycode, numeric IPv4 forms such as `127.1` to dotted quads).
fn parse_host(host: &str) -> Option<Parsed> {
    match url::Host::parse(host).ok()? {
        url::Host::Ipv4(ip) => Some(Parsed::Ip(ip.into())),
        url::Host::Ipv6(ip) => Some(Parsed::Ip(ip.into())),
        url::Host::Domain(name) => {
            let name = normalize_name(&name);
            let valid = !name.is_empty()
                && name.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
            valid.then_some(Parsed::Name(name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rule(text: &str) -> HostRule {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    #[test]
    fn defaults_are_the_secure_ones() {
        let policy = OutboundPolicy::default();
        assert!(!policy.allow_http);
        assert!(!policy.allow_private_networks);
        assert!(policy.allowed_hosts.is_empty());
        assert_eq!(policy.timeout, Duration::from_secs(10));
        assert_eq!(policy.max_response_bytes, 10 * 1024 * 1024);
        assert_eq!(policy.max_redirects, 5);
        assert!(policy.extra_root_pem.is_none());
    }

    #[test]
    fn parses_each_rule_form() {
        assert_eq!(rule("example.com"), HostRule::Host("example.com".into()));
        assert_eq!(rule(" Example.COM. "), HostRule::Host("example.com".into()));
        assert_eq!(
            rule("*.example.com"),
            HostRule::Subdomains("example.com".into())
        );
        assert_eq!(rule("localhost:8080"), HostRule::Host("localhost".into()));
        assert_eq!(
            rule("bücher.example"),
            HostRule::Host("xn--bcher-kva.example".into())
        );
        assert_eq!(
            rule("127.0.0.1"),
            HostRule::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            rule("127.0.0.1:9000"),
            HostRule::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(rule("::1"), HostRule::Ip("::1".parse().unwrap()));
        assert_eq!(rule("[::1]"), HostRule::Ip("::1".parse().unwrap()));
        assert_eq!(rule("[::1]:443"), HostRule::Ip("::1".parse().unwrap()));
        // Numeric IPv4 forms are read the way URL hosts are, so they cannot sneak past.
        assert_eq!(rule("0x7f.1"), HostRule::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(
            rule("10.0.0.0/8"),
            HostRule::Cidr {
                network: "10.0.0.0".parse().unwrap(),
                prefix: 8
            }
        );
        assert_eq!(
            rule("10.1.2.3/8"),
            HostRule::Cidr {
                network: "10.0.0.0".parse().unwrap(),
                prefix: 8
            }
        );
        assert_eq!(
            rule("[fd00::1]/8"),
            HostRule::Cidr {
                network: "fd00::".parse().unwrap(),
                prefix: 8
            }
        );
        assert_eq!(
            rule("0.0.0.0/0"),
            HostRule::Cidr {
                network: "0.0.0.0".parse().unwrap(),
                prefix: 0
            }
        );
    }

    #[test]
    fn rejects_malformed_rules() {
        for bad in [
            "",
            "   ",
            "https://example.com",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/x",
            "example.com/8",
            "*.10.0.0.1",
            "*",
            "*.",
            "foo*.example.com",
            "example.com:http",
            "example.com:99999",
            "[::1",
            "a b.example",
            "exa mple.com",
            "example..com",
        ] {
            assert!(
                bad.parse::<HostRule>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn rule_display_round_trips() {
        for text in [
            "example.com",
            "*.example.com",
            "127.0.0.1",
            "::1",
            "10.0.0.0/8",
            "fc00::/7",
        ] {
            assert_eq!(rule(text).to_string(), text);
            assert_eq!(rule(&rule(text).to_string()), rule(text));
        }
    }

    #[test]
    fn name_rules_match_exact_and_wildcard() {
        let policy = OutboundPolicy {
            allowed_hosts: vec![rule("api.example.com"), rule("*.internal.test")],
            ..OutboundPolicy::default()
        };
        assert!(policy.host_allowlisted("api.example.com"));
        assert!(policy.host_allowlisted("API.Example.com."));
        assert!(!policy.host_allowlisted("example.com"));
        assert!(!policy.host_allowlisted("evil-api.example.com"));
        assert!(!policy.host_allowlisted("api.example.com.evil.test"));
        assert!(policy.host_allowlisted("a.internal.test"));
        assert!(policy.host_allowlisted("a.b.internal.test"));
        assert!(!policy.host_allowlisted("internal.test"));
        assert!(!policy.host_allowlisted("xinternal.test"));
        assert!(!policy.host_allowlisted(".internal.test"));
        // Name rules say nothing about addresses.
        assert!(!policy.ip_allowlisted("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn address_rules_match_ips_and_networks() {
        let policy = OutboundPolicy {
            allowed_hosts: vec![rule("127.0.0.1"), rule("10.0.0.0/8"), rule("fd00::/8")],
            ..OutboundPolicy::default()
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(policy.ip_allowlisted(ip("127.0.0.1")));
        assert!(!policy.ip_allowlisted(ip("127.0.0.2")));
        assert!(policy.ip_allowlisted(ip("::ffff:127.0.0.1")));
        assert!(policy.ip_allowlisted(ip("10.255.1.2")));
        assert!(!policy.ip_allowlisted(ip("11.0.0.1")));
        assert!(policy.ip_allowlisted(ip("fd12:3456::1")));
        assert!(!policy.ip_allowlisted(ip("fe80::1")));
        assert!(!policy.ip_allowlisted(ip("::1")));
        assert!(!policy.host_allowlisted("127.0.0.1"));
        assert!(in_network(ip("1.2.3.4"), ip("0.0.0.0"), 0));
        assert!(in_network(ip("::1"), ip("::"), 0));
        assert!(!in_network(ip("::1"), ip("0.0.0.0"), 0));
    }

    #[test]
    fn reads_the_environment() {
        let env: HashMap<&str, &str> = [
            (ENV_ALLOW_PRIVATE_NETWORKS, "1"),
            (ENV_ALLOW_HTTP, "TRUE"),
            (
                ENV_OUTBOUND_ALLOWLIST,
                "example.com, *.corp.test,10.0.0.0/8,",
            ),
        ]
        .into();
        let policy = OutboundPolicy::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert!(policy.allow_private_networks);
        assert!(policy.allow_http);
        assert_eq!(
            policy.allowed_hosts,
            vec![rule("example.com"), rule("*.corp.test"), rule("10.0.0.0/8")]
        );
        assert_eq!(policy.timeout, DEFAULT_TIMEOUT);

        let empty = OutboundPolicy::from_lookup(|_| None).unwrap();
        assert_eq!(empty, OutboundPolicy::default());

        let off =
            OutboundPolicy::from_lookup(|k| (k != ENV_OUTBOUND_ALLOWLIST).then(|| "0".to_string()))
                .unwrap();
        assert_eq!(off, OutboundPolicy::default());
    }

    #[test]
    fn malformed_environment_is_an_error() {
        let err = OutboundPolicy::from_lookup(|k| {
            (k == ENV_ALLOW_PRIVATE_NETWORKS).then(|| "sure".to_string())
        })
        .unwrap_err();
        assert!(
            matches!(err, PolicyError::InvalidFlag { var, .. } if var == ENV_ALLOW_PRIVATE_NETWORKS)
        );

        let err = OutboundPolicy::from_lookup(|k| {
            (k == ENV_OUTBOUND_ALLOWLIST).then(|| "example.com,10.0.0.0/99".to_string())
        })
        .unwrap_err();
        assert!(err.to_string().contains("10.0.0.0/99"), "{err}");
    }

    #[test]
    fn debug_does_not_dump_certificates() {
        let policy = OutboundPolicy {
            extra_root_pem: Some(vec![b'x'; 5000]),
            ..OutboundPolicy::default()
        };
        let debug = format!("{policy:?}");
        assert!(debug.contains("<5000 bytes>"));
        assert!(debug.len() < 1000);
    }
}
