//! The pure decision: may this URL be requested, may this address be dialled? No I/O here,
//! so every rule is tested without network traffic.
//!
//! Decisions worth knowing:
//! - Only `http` and `https`; `http` only when `allow_http` is set or the host is
//!   allowlisted (a name rule for a name, an IP/CIDR rule for an IP literal).
//! - URLs with user info (`https://user:pass@host/`) are refused: the HTTP client would turn
//!   them into a Basic `Authorization` header, and URLs end up in workflow definitions,
//!   execution data and logs where a password must not. Nodes use stored credentials instead.
//! - Non-public addresses are refused unless `allow_private_networks` is set or an allowlist
//!   rule matches the host name or the address. Cloud metadata addresses (all of
//!   169.254.0.0/16, 100.100.100.200, 192.0.0.192, fd00:ec2::/32) are refused even then:
//!   only an IP or CIDR rule that covers the address unlocks them, because a leaked instance
//!   credential is far worse than a reachable intranet and nobody needs it by accident.
//! - IPv6 forms that carry an IPv4 address (mapped, compatible, translated, NAT64, 6to4) are
//!   judged by that IPv4 address; Teredo and other tunnel or unallocated space is refused.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use super::policy::{
    ENV_ALLOW_HTTP, ENV_ALLOW_PRIVATE_NETWORKS, ENV_OUTBOUND_ALLOWLIST, OutboundPolicy, in_network,
};

/// A kind of non-public address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// 0.0.0.0 or `::`; dialling it reaches the local host on most systems.
    Unspecified,
    /// 0.0.0.0/8, "this network".
    ThisNetwork,
    /// 127.0.0.0/8 or `::1`.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, local-use NAT64.
    Private,
    /// 100.64.0.0/10, carrier-grade NAT.
    SharedAddressSpace,
    /// fe80::/10.
    LinkLocal,
    /// 169.254.0.0/16 and the known cloud metadata endpoints.
    CloudMetadata,
    /// fc00::/7.
    UniqueLocal,
    /// fec0::/10, deprecated but still routed by some stacks.
    SiteLocal,
    /// 224.0.0.0/4 or ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18.0.0/15, 2001:2::/48.
    Benchmarking,
    /// Protocol-assignment, future-use, tunnel and unallocated space.
    Reserved,
}

impl AddressClass {
    /// Whether this class stays refused under `allow_private_networks`.
    pub fn is_metadata(self) -> bool {
        self == Self::CloudMetadata
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified address",
            Self::ThisNetwork => "\"this network\" address",
            Self::Loopback => "loopback address",
            Self::Private => "private network address",
            Self::SharedAddressSpace => "shared (carrier-grade NAT) address",
            Self::LinkLocal => "link-local address",
            Self::CloudMetadata => "link-local/cloud-metadata address",
            Self::UniqueLocal => "unique-local IPv6 address",
            Self::SiteLocal => "site-local IPv6 address",
            Self::Multicast => "multicast address",
            Self::Broadcast => "broadcast address",
            Self::Documentation => "documentation address",
            Self::Benchmarking => "benchmarking address",
            Self::Reserved => "reserved address",
        }
    }
}

/// How an IPv6 address carries an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`.
    Mapped,
    /// `::a.b.c.d` (deprecated).
    Compatible,
    /// `::ffff:0:a.b.c.d` (SIIT).
    Translated,
    /// `64:ff9b::a.b.c.d`.
    Nat64,
    /// `2002:AABB:CCDD::/48`.
    SixToFour,
}

impl Embedding {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Mapped => "IPv4-mapped",
            Self::Compatible => "IPv4-compatible",
            Self::Translated => "IPv4-translated",
            Self::Nat64 => "NAT64",
            Self::SixToFour => "6to4",
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalReason {
    /// A scheme other than http or https.
    UnsupportedScheme(String),
    /// Plain http while neither `allow_http` nor an allowlist rule permits it.
    PlainHttp,
    /// The URL embeds a user name or password.
    Credentials,
    /// The URL has no host.
    MissingHost,
    /// The address is in a non-public range.
    Address(AddressClass),
    /// The IPv6 address embeds an IPv4 address in a non-public range.
    Embedded {
        /// How it is embedded.
        form: Embedding,
        /// The embedded address.
        ipv4: Ipv4Addr,
        /// Its range.
        class: AddressClass,
    },
}

impl RefusalReason {
    /// The range that made the address refused, if this is about an address.
    pub fn address_class(&self) -> Option<AddressClass> {
        match *self {
            Self::Address(class) | Self::Embedded { class, .. } => Some(class),
            _ => None,
        }
    }
}

/// A request the outbound policy does not permit. The message names the host, the address
/// (when there is one), why, and which setting would permit it; it never contains the path,
/// query or user info of the URL, which can hold secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The host as written in the URL or handed to the resolver.
    pub host: String,
    /// The address refused, when the refusal is about an address.
    pub address: Option<IpAddr>,
    /// Why.
    pub reason: RefusalReason,
}

impl Refusal {
    fn new(host: impl Into<String>, address: Option<IpAddr>, reason: RefusalReason) -> Self {
        Self {
            host: host.into(),
            address,
            reason,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refused to connect to ")?;
        match self.address {
            Some(ip) if self.host.trim_matches(['[', ']']) != ip.to_string() => {
                write!(f, "{ip} ({})", self.host)?;
            }
            Some(ip) => write!(f, "{ip}")?,
            None if self.host.is_empty() => f.write_str("a URL without a host")?,
            None => f.write_str(&self.host)?,
        }
        f.write_str(": ")?;
        match &self.reason {
            RefusalReason::UnsupportedScheme(scheme) => write!(
                f,
                "the {scheme:?} scheme is not allowed; only http and https are"
            ),
            RefusalReason::PlainHttp => write!(
                f,
                "plain http is not allowed; use https, set {ENV_ALLOW_HTTP} or allowlist the \
                 host in {ENV_OUTBOUND_ALLOWLIST}"
            ),
            RefusalReason::Credentials => f.write_str(
                "URLs must not embed a user name or password; use a stored credential instead",
            ),
            RefusalReason::MissingHost => f.write_str("the URL has no host"),
            RefusalReason::Address(class) => {
                write!(f, "{}; ", class.describe())?;
                write_hint(f, *class)
            }
            RefusalReason::Embedded { form, ipv4, class } => {
                write!(
                    f,
                    "{} form of {ipv4}, a {}; ",
                    form.describe(),
                    class.describe()
                )?;
                write_hint(f, *class)
            }
        }
    }
}

fn write_hint(f: &mut fmt::Formatter<'_>, class: AddressClass) -> fmt::Result {
    if class.is_metadata() {
        write!(
            f,
            "only an IP or CIDR rule in {ENV_OUTBOUND_ALLOWLIST} covering this address permits \
             it ({ENV_ALLOW_PRIVATE_NETWORKS} does not)"
        )
    } else {
        write!(
            f,
            "set {ENV_ALLOW_PRIVATE_NETWORKS} or allowlist the host in {ENV_OUTBOUND_ALLOWLIST}"
        )
    }
}

impl std::error::Error for Refusal {}

/// The non-public range `ip` falls in, with the IPv4 address it embeds if that is what
/// decided; `None` for an ordinary public address.
pub fn classify_ip(ip: IpAddr) -> Option<RefusalReason> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(RefusalReason::Address),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn v4_in(ip: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    in_network(IpAddr::V4(ip), IpAddr::V4(Ipv4Addr::from(net)), prefix)
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, prefix: u8) -> bool {
    in_network(IpAddr::V6(ip), IpAddr::V6(net), prefix)
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    // Most specific first: the metadata endpoints sit inside wider ranges.
    const TABLE: &[([u8; 4], u8, AddressClass)] = &[
        ([0, 0, 0, 0], 32, Unspecified),
        ([100, 100, 100, 200], 32, CloudMetadata), // Alibaba Cloud
        ([192, 0, 0, 192], 32, CloudMetadata),     // Oracle Cloud (legacy)
        ([169, 254, 0, 0], 16, CloudMetadata),     // AWS, GCP, Azure, OCI, ECS, EKS...
        ([255, 255, 255, 255], 32, Broadcast),
        ([0, 0, 0, 0], 8, ThisNetwork),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedAddressSpace),
        ([127, 0, 0, 0], 8, Loopback),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved), // deprecated 6to4 relay anycast
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    TABLE
        .iter()
        .find(|(net, prefix, _)| v4_in(ip, *net, *prefix))
        .map(|(_, _, class)| *class)
}

const fn v6(segments: [u16; 8]) -> Ipv6Addr {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Addr::new(a, b, c, d, e, f, g, h)
}

fn classify_v6(ip: Ipv6Addr) -> Option<RefusalReason> {
    use AddressClass::*;
    let plain = |class| Some(RefusalReason::Address(class));
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from(bits as u32);

    if ip.is_unspecified() {
        return plain(Unspecified);
    }
    if ip.is_loopback() {
        return plain(Loopback);
    }
    // Forms carrying an IPv4 address are judged by it; a public IPv4 inside a form that
    // actually routes to it (mapped, NAT64, 6to4) is as public as the address itself.
    let embedded = if v6_in(ip, v6([0, 0, 0, 0, 0, 0xffff, 0, 0]), 96) {
        Some((Embedding::Mapped, low32, true))
    } else if v6_in(ip, v6([0, 0, 0, 0, 0xffff, 0, 0, 0]), 96) {
        Some((Embedding::Translated, low32, true))
    } else if v6_in(ip, Ipv6Addr::UNSPECIFIED, 96) {
        // Deprecated and routed nowhere useful, so refused even around a public address.
        Some((Embedding::Compatible, low32, false))
    } else if v6_in(ip, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96) {
        Some((Embedding::Nat64, low32, true))
    } else if v6_in(ip, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16) {
        Some((
            Embedding::SixToFour,
            Ipv4Addr::from((bits >> 80) as u32),
            true,
        ))
    } else {
        None
    };
    if let Some((form, ipv4, public_is_fine)) = embedded {
        return match classify_v4(ipv4) {
            Some(class) => Some(RefusalReason::Embedded { form, ipv4, class }),
            None if public_is_fine => None,
            None => plain(Reserved),
        };
    }

    const TABLE: &[(Ipv6Addr, u8, AddressClass)] = &[
        (v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0]), 32, CloudMetadata), // AWS IMDS, EKS, ...
        (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]), 48, Private),        // local-use NAT64
        (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, Reserved),           // discard-only
        (v6([0x2001, 0x2, 0, 0, 0, 0, 0, 0]), 48, Benchmarking),
        (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32, Documentation),
        (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 23, Reserved), // Teredo, ORCHID, protocol use
        (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, Documentation),
        (v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]), 16, Reserved), // SRv6 SIDs
        (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, UniqueLocal),
        (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, LinkLocal),
        (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, SiteLocal),
        (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, Multicast),
    ];
    if let Some((_, _, class)) = TABLE.iter().find(|(net, p, _)| v6_in(ip, *net, *p)) {
        return plain(*class);
    }
    // Only 2000::/3 is allocated for global unicast; anything else cannot be a public host.
    if !v6_in(ip, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        return plain(Reserved);
    }
    None
}

/// Whether `ip` may be dialled for `host` (the name in the URL, or the address itself for an
/// IP-literal URL). Public addresses always may; a non-public one only when an IP/CIDR rule
/// covers it, or — unless it is a cloud metadata address — when `allow_private_networks` is
/// set or a name rule matches `host`.
pub fn check_ip(ip: IpAddr, policy: &OutboundPolicy, host: &str) -> Result<(), Refusal> {
    let Some(reason) = classify_ip(ip) else {
        return Ok(());
    };
    if policy.ip_allowlisted(ip) {
        return Ok(());
    }
    let metadata = reason
        .address_class()
        .is_some_and(AddressClass::is_metadata);
    if !metadata && (policy.allow_private_networks || policy.host_allowlisted(host)) {
        return Ok(());
    }
    Err(Refusal::new(host, Some(ip), reason))
}

/// Whether `url` may be requested: scheme, user info, plain-http rule, and for IP-literal
/// hosts the address itself (those never reach the resolver, so this is their only check).
/// Host names pass here and have their addresses checked after resolution.
pub fn check_url(url: &Url, policy: &OutboundPolicy) -> Result<(), Refusal> {
    let host_text = url.host_str().unwrap_or_default();
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(Refusal::new(
            host_text,
            None,
            RefusalReason::UnsupportedScheme(scheme.to_owned()),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::new(host_text, None, RefusalReason::Credentials));
    }
    let allowlisted = match url.host() {
        None => return Err(Refusal::new("", None, RefusalReason::MissingHost)),
        Some(Host::Domain(name)) => policy.host_allowlisted(name),
        Some(Host::Ipv4(ip)) => {
            check_ip(ip.into(), policy, host_text)?;
            policy.ip_allowlisted(ip.into())
        }
        Some(Host::Ipv6(ip)) => {
            check_ip(ip.into(), policy, host_text)?;
            policy.ip_allowlisted(ip.into())
        }
    };
    if scheme == "http" && !policy.allow_http && !allowlisted {
        return Err(Refusal::new(host_text, None, RefusalReason::PlainHttp));
    }
    Ok(())
}

/// `scheme://host[:port]` of `url`: what error messages show, because paths and queries
/// routinely carry secrets (webhook tokens, API keys).
pub fn origin_of(url: &Url) -> String {
    let mut origin = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        origin.push_str(&format!(":{port}"));
    }
    origin
}

#[cfg(test)]
mod tests {
    use super::AddressClass::*;
    use super::*;
    use crate::outbound::HostRule;

    fn ip(text: &str) -> IpAddr {
        text.parse()
            .unwrap_or_else(|_| panic!("{text} is not an address"))
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn policy(rules: &[&str]) -> OutboundPolicy {
        OutboundPolicy {
            allowed_hosts: rules.iter().map(|r| r.parse().unwrap()).collect(),
            ..OutboundPolicy::default()
        }
    }

    fn private_ok() -> OutboundPolicy {
        OutboundPolicy {
            allow_private_networks: true,
            ..OutboundPolicy::default()
        }
    }

    fn class_of(text: &str) -> Option<AddressClass> {
        classify_ip(ip(text)).and_then(|r| r.address_class())
    }

    /// Every listed address: refused by default, with `class`, and then allowed or still
    /// refused under `allow_private_networks` depending on whether it is metadata.
    fn assert_refused(cases: &[(&str, AddressClass)]) {
        for &(text, class) in cases {
            assert_eq!(class_of(text), Some(class), "{text}");
            let err = check_ip(ip(text), &OutboundPolicy::default(), "some.host").unwrap_err();
            assert_eq!(err.address, Some(ip(text)));
            assert_eq!(
                check_ip(ip(text), &private_ok(), "h").is_ok(),
                !class.is_metadata()
            );
            // An exact IP rule always permits it, metadata included.
            assert!(check_ip(ip(text), &policy(&[text]), "h").is_ok(), "{text}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "169.253.255.255",
            "169.255.0.1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(classify_ip(ip(text)), None, "{text}");
            assert!(check_ip(ip(text), &OutboundPolicy::default(), text).is_ok());
        }
    }

    #[test]
    fn ipv4_special_ranges_are_refused() {
        assert_refused(&[
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("127.1.2.3", Loopback),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", ThisNetwork),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.0.1", Private),
            ("192.168.255.255", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("169.254.0.1", CloudMetadata),
            ("169.254.169.254", CloudMetadata),
            ("169.254.170.2", CloudMetadata),
            ("100.100.100.200", CloudMetadata),
            ("192.0.0.192", CloudMetadata),
            ("192.0.0.1", Reserved),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("192.88.99.1", Reserved),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("254.255.255.255", Reserved),
            ("255.255.255.255", Broadcast),
        ]);
    }

    #[test]
    fn ipv6_special_ranges_are_refused() {
        assert_refused(&[
            ("::1", Loopback),
            ("::", Unspecified),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fec0::1", SiteLocal),
            ("fc00::1", UniqueLocal),
            ("fdff:ffff::1", UniqueLocal),
            ("fd00:ec2::254", CloudMetadata),
            ("fd00:ec2::23", CloudMetadata),
            ("ff02::1", Multicast),
            ("ff0e::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001:2::1", Benchmarking),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Reserved), // Teredo
            ("2001:10::1", Reserved),                           // ORCHID
            ("100::1", Reserved),
            ("64:ff9b:1::a00:1", Private),
            ("5f00::1", Reserved),
            ("4000::1", Reserved),
            ("::2:0:0:1", Reserved),
        ]);
    }

    #[test]
    fn ipv6_forms_embedding_refused_ipv4_are_refused() {
        let cases = [
            ("::ffff:127.0.0.1", Embedding::Mapped, "127.0.0.1", Loopback),
            ("::ffff:7f00:1", Embedding::Mapped, "127.0.0.1", Loopback),
            (
                "::ffff:169.254.169.254",
                Embedding::Mapped,
                "169.254.169.254",
                CloudMetadata,
            ),
            ("::ffff:10.0.0.1", Embedding::Mapped, "10.0.0.1", Private),
            ("::ffff:0.0.0.0", Embedding::Mapped, "0.0.0.0", Unspecified),
            ("::127.0.0.1", Embedding::Compatible, "127.0.0.1", Loopback),
            (
                "::169.254.169.254",
                Embedding::Compatible,
                "169.254.169.254",
                CloudMetadata,
            ),
            (
                "::ffff:0:192.168.1.1",
                Embedding::Translated,
                "192.168.1.1",
                Private,
            ),
            (
                "64:ff9b::127.0.0.1",
                Embedding::Nat64,
                "127.0.0.1",
                Loopback,
            ),
            (
                "64:ff9b::a9fe:a9fe",
                Embedding::Nat64,
                "169.254.169.254",
                CloudMetadata,
            ),
            ("2002:7f00:1::", Embedding::SixToFour, "127.0.0.1", Loopback),
            (
                "2002:a9fe:a9fe::1",
                Embedding::SixToFour,
                "169.254.169.254",
                CloudMetadata,
            ),
            (
                "2002:c0a8:101:5::1",
                Embedding::SixToFour,
                "192.168.1.1",
                Private,
            ),
        ];
        for (text, form, v4, class) in cases {
            let expected = RefusalReason::Embedded {
                form,
                ipv4: v4.parse().unwrap(),
                class,
            };
            assert_eq!(classify_ip(ip(text)), Some(expected.clone()), "{text}");
            let err = check_ip(ip(text), &OutboundPolicy::default(), text).unwrap_err();
            assert_eq!(err.reason, expected);
            assert_eq!(
                check_ip(ip(text), &private_ok(), "h").is_ok(),
                !class.is_metadata()
            );
        }
        // A compatible address is refused even around a public IPv4: nothing routes it.
        assert_eq!(class_of("::8.8.8.8"), Some(Reserved));
    }

    #[test]
    fn metadata_needs_an_address_rule() {
        let metadata = ip("169.254.169.254");
        let by_name = OutboundPolicy {
            allow_private_networks: true,
            ..policy(&["metadata.google.internal", "*.internal"])
        };
        assert!(check_ip(metadata, &by_name, "metadata.google.internal").is_err());
        assert!(check_ip(metadata, &by_name, "metadata.internal").is_err());
        assert!(check_ip(metadata, &policy(&["169.254.169.254"]), "x").is_ok());
        assert!(check_ip(metadata, &policy(&["169.254.0.0/16"]), "x").is_ok());
        assert!(
            check_ip(
                ip("::ffff:169.254.169.254"),
                &policy(&["169.254.169.254"]),
                "x"
            )
            .is_ok()
        );
        assert!(check_ip(metadata, &policy(&["169.254.169.253"]), "x").is_err());
        assert!(check_ip(ip("fd00:ec2::254"), &policy(&["fd00::/8"]), "x").is_ok());
        assert!(check_ip(ip("fd00:ec2::254"), &private_ok(), "x").is_err());
    }

    #[test]
    fn allowlist_permits_private_addresses() {
        // A name rule permits whatever that name resolves to (bar metadata).
        let named = policy(&["intranet.corp", "*.svc.local"]);
        assert!(check_ip(ip("10.1.2.3"), &named, "intranet.corp").is_ok());
        assert!(check_ip(ip("10.1.2.3"), &named, "INTRANET.corp.").is_ok());
        assert!(check_ip(ip("10.1.2.3"), &named, "db.svc.local").is_ok());
        assert!(check_ip(ip("10.1.2.3"), &named, "other.corp").is_err());
        assert!(check_ip(ip("10.1.2.3"), &named, "svc.local").is_err());
        // An address rule permits that address whatever name led there.
        let cidr = policy(&["10.0.0.0/8", "127.0.0.1", "fd00::/8"]);
        assert!(check_ip(ip("10.9.8.7"), &cidr, "anything.example").is_ok());
        assert!(check_ip(ip("127.0.0.1"), &cidr, "localhost").is_ok());
        assert!(check_ip(ip("127.0.0.2"), &cidr, "localhost").is_err());
        assert!(check_ip(ip("::1"), &cidr, "localhost").is_err());
        assert!(check_ip(ip("fd12::1"), &cidr, "x").is_ok());
        assert!(check_ip(ip("192.168.1.1"), &cidr, "x").is_err());
    }

    #[test]
    fn refusal_message_names_host_address_and_remedy() {
        let err = check_ip(
            ip("169.254.169.254"),
            &OutboundPolicy::default(),
            "metadata.example",
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with(
            "refused to connect to 169.254.169.254 (metadata.example): \
             link-local/cloud-metadata address; "
        ));
        assert!(message.contains("WEFT_OUTBOUND_ALLOWLIST"), "{message}");

        let message = check_ip(ip("10.0.0.1"), &OutboundPolicy::default(), "10.0.0.1")
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "refused to connect to 10.0.0.1: private network address; set \
             WEFT_ALLOW_PRIVATE_NETWORKS or allowlist the host in WEFT_OUTBOUND_ALLOWLIST"
        );

        let message = check_url(
            &url("http://[::ffff:a9fe:a9fe]/"),
            &OutboundPolicy::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            message.starts_with(
                "refused to connect to ::ffff:169.254.169.254 ([::ffff:a9fe:a9fe]): IPv4-mapped \
                 form of 169.254.169.254, a link-local/cloud-metadata address"
            ),
            "{message}"
        );
    }

    #[test]
    fn only_http_and_https() {
        let open = OutboundPolicy {
            allow_http: true,
            allow_private_networks: true,
            ..OutboundPolicy::default()
        };
        for text in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
            "ws://example.com/",
            "data:text/plain,hi",
            "javascript:alert(1)",
        ] {
            let err = check_url(&url(text), &open).unwrap_err();
            assert!(
                matches!(err.reason, RefusalReason::UnsupportedScheme(_)),
                "{text}"
            );
        }
        assert!(check_url(&url("https://example.com/"), &OutboundPolicy::default()).is_ok());
        assert!(
            check_url(
                &url("HTTPS://Example.com:8443/x?y"),
                &OutboundPolicy::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn plain_http_needs_permission() {
        let default = OutboundPolicy::default();
        let err = check_url(&url("http://example.com/"), &default).unwrap_err();
        assert_eq!(err.reason, RefusalReason::PlainHttp);
        assert!(err.to_string().contains("WEFT_ALLOW_HTTP"));

        let allow_http = OutboundPolicy {
            allow_http: true,
            ..OutboundPolicy::default()
        };
        assert!(check_url(&url("http://example.com/"), &allow_http).is_ok());
        // allow_http is not allow_private.
        assert!(check_url(&url("http://127.0.0.1/"), &allow_http).is_err());

        // An allowlisted host may use http without allow_http; others still may not.
        let listed = policy(&["example.com", "*.corp.test", "127.0.0.1", "10.0.0.0/8"]);
        assert!(check_url(&url("http://example.com/"), &listed).is_ok());
        assert!(check_url(&url("http://example.com./"), &listed).is_ok());
        assert!(check_url(&url("http://a.corp.test:8080/"), &listed).is_ok());
        assert!(check_url(&url("http://127.0.0.1:3000/"), &listed).is_ok());
        assert!(check_url(&url("http://10.2.3.4/"), &listed).is_ok());
        assert!(check_url(&url("http://example.org/"), &listed).is_err());
        // An address rule does not vouch for names: their addresses are unknown here.
        assert_eq!(
            check_url(&url("http://localhost:3000/"), &listed)
                .unwrap_err()
                .reason,
            RefusalReason::PlainHttp
        );
        // Private-network permission alone does not permit plain http to public hosts.
        assert!(check_url(&url("http://example.com/"), &private_ok()).is_err());
    }

    #[test]
    fn ip_literal_urls_are_checked_immediately() {
        let https_only = OutboundPolicy::default();
        let http = OutboundPolicy {
            allow_http: true,
            ..OutboundPolicy::default()
        };
        for text in [
            "http://127.0.0.1/",
            "http://127.0.0.1:8080/admin",
            "http://[::1]/",
            "http://[::]/",
            "http://0.0.0.0/",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://100.100.100.200/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::1]/",
            "http://[fe80::1]/",
            "http://[fc00::1]/",
            "http://[ff02::1]/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://192.0.2.1/",
        ] {
            for policy in [&https_only, &http] {
                let err = check_url(&url(text), policy).unwrap_err();
                assert!(err.address.is_some(), "{text}: {err}");
                assert!(err.reason.address_class().is_some(), "{text}: {err}");
            }
            let https = text.replacen("http://", "https://", 1);
            assert!(check_url(&url(&https), &https_only).is_err(), "{https}");
        }
        assert!(check_url(&url("https://1.1.1.1/"), &https_only).is_ok());
        assert!(check_url(&url("https://[2606:4700:4700::1111]/"), &https_only).is_ok());
    }

    #[test]
    fn odd_ipv4_spellings_are_normalised_then_refused() {
        let http = OutboundPolicy {
            allow_http: true,
            ..OutboundPolicy::default()
        };
        for (text, expected) in [
            ("http://2130706433/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://0x7f.0.0.1/", "127.0.0.1"),
            ("http://0x7f000001/", "127.0.0.1"),
            ("http://0x7F.1/", "127.0.0.1"),
            ("http://127.1/", "127.0.0.1"),
            ("http://127.0.1/", "127.0.0.1"),
            ("http://017700000001/", "127.0.0.1"),
            ("http://0/", "0.0.0.0"),
            ("http://2852039166/", "169.254.169.254"),
            ("http://0xa9fea9fe/", "169.254.169.254"),
            ("http://0251.0376.0251.0376/", "169.254.169.254"),
            ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
            ("http://169.254.43518/", "169.254.169.254"),
            ("http://169.16689662/", "169.254.169.254"),
            ("http://10.1/", "10.0.0.1"),
            ("http://012.0.0.1/", "10.0.0.1"),
            ("http://127.0.0.1./", "127.0.0.1"),
            ("http://%31%32%37.0.0.1/", "127.0.0.1"),
            ("http://１２７.0.0.1/", "127.0.0.1"),
            ("http://[0:0:0:0:0:ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
            ("http://[0000::1]/", "::1"),
        ] {
            let parsed = url(text);
            let err = check_url(&parsed, &http).unwrap_err();
            assert_eq!(err.address, Some(ip(expected)), "{text} -> {parsed}");
        }
    }

    #[test]
    fn credentials_in_urls_are_refused() {
        let open = OutboundPolicy {
            allow_http: true,
            allow_private_networks: true,
            ..OutboundPolicy::default()
        };
        for text in [
            "https://user:secret@example.com/",
            "https://user@example.com/",
            "https://:secret@example.com/",
            "https://example.com@127.0.0.1/",
        ] {
            let err = check_url(&url(text), &open).unwrap_err();
            assert_eq!(err.reason, RefusalReason::Credentials, "{text}");
            assert!(!err.to_string().contains("secret"));
        }
        // The classic confusion: the host is what follows the last `@`.
        let err = check_url(&url("https://example.com@127.0.0.1/"), &open).unwrap_err();
        assert_eq!(err.host, "127.0.0.1");
    }

    #[test]
    fn names_pass_until_resolved() {
        // Names are checked after resolution; here only scheme and http rules apply.
        let http = OutboundPolicy {
            allow_http: true,
            ..OutboundPolicy::default()
        };
        for text in [
            "http://localhost/",
            "http://localhost.:8080/",
            "http://metadata.google.internal/",
            "http://127.0.0.1.nip.io/",
        ] {
            assert!(check_url(&url(text), &http).is_ok(), "{text}");
        }
    }

    #[test]
    fn origin_hides_path_query_and_user_info() {
        assert_eq!(
            origin_of(&url(
                "https://u:p@hooks.example.com:8443/services/T0/B0/secret?token=x#f"
            )),
            "https://hooks.example.com:8443"
        );
        assert_eq!(origin_of(&url("http://[::1]/x")), "http://[::1]");
        assert_eq!(
            origin_of(&url("https://example.com:443/")),
            "https://example.com"
        );
    }

    #[test]
    fn host_rule_matching_through_check_url() {
        let rules: Vec<HostRule> = HostRule::parse_list("*.example.com").unwrap();
        let policy = OutboundPolicy {
            allowed_hosts: rules,
            ..OutboundPolicy::default()
        };
        assert!(check_url(&url("http://api.example.com/"), &policy).is_ok());
        assert!(check_url(&url("http://example.com/"), &policy).is_err());
        assert!(check_url(&url("http://api.example.com.evil.test/"), &policy).is_err());
    }
}
