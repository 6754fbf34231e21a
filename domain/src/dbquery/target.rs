//! Which database servers a user's connection may reach, decided on the resolved address
//! before anything is dialled.
//!
//! Why: a database connection names any host and port, so without this check it is a
//! port scanner and a way into whatever listens on the Weft host or its network — a
//! trust-auth PostgreSQL on loopback, cloud metadata, and on a PostgreSQL-backed install
//! Weft's own database (where one `UPDATE users SET role = 'admin'` makes anyone an
//! administrator). The decision is the outbound HTTP guard's ([`check_ip`]): loopback,
//! private, link-local and other non-public addresses are refused unless
//! `WEFT_ALLOW_PRIVATE_NETWORKS` is set or a rule of `WEFT_DATABASE_ALLOWED_HOSTS` covers
//! them; cloud metadata addresses only open to an IP or CIDR rule.
//!
//! Decisions worth knowing:
//! - The allowlist is the database's own (`WEFT_DATABASE_ALLOWED_HOSTS`), not the HTTP one:
//!   an operator who lets workflows call a web service on 127.0.0.1 has not said that users
//!   may log in to the databases listening there.
//! - A name is resolved once, every address it resolves to must pass, and the pool then
//!   dials that checked address, never the name again (no DNS rebinding between check and
//!   connect). The one exception is MongoDB with `tlsMode: require`, whose certificate check
//!   needs the name: it is dialled by name, after its addresses were checked, and a server
//!   the name re-resolved to would have to present a certificate for that name.
//! - Weft's own database (the address and port of `WEFT_DATABASE_URL` and its database
//!   name) is refused even when allowlisted. Loopback addresses count as one host, since
//!   every one of them reaches the same server.

use std::net::IpAddr;
use std::time::Duration;

use crate::outbound::{
    ENV_ALLOW_PRIVATE_NETWORKS, HostRule, OutboundPolicy, PolicyError, Refusal, RefusalReason,
    check_ip,
};

/// Environment variable holding comma-separated [`HostRule`]s of database servers that may
/// be reached whatever their address (cloud metadata only by an IP or CIDR rule).
pub const ENV_DATABASE_ALLOWED_HOSTS: &str = "WEFT_DATABASE_ALLOWED_HOSTS";

/// How long resolving a connection's host may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database servers connections may reach. [`Default`] is the secure configuration:
/// public addresses only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabasePolicy {
    /// Permit loopback, private, link-local and other non-public addresses (not metadata).
    pub allow_private_networks: bool,
    /// Servers reachable whatever their address.
    pub allowed_hosts: Vec<HostRule>,
    /// Weft's own database, which is never a target.
    pub own_database: Option<OwnDatabase>,
}

/// Where Weft keeps its own data, as a connection target would name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnDatabase {
    /// Every address the host of `WEFT_DATABASE_URL` resolved to at start-up.
    pub addresses: Vec<IpAddr>,
    pub port: u16,
    pub database: String,
}

impl OwnDatabase {
    /// Weft's database as a target, from its URL; `None` for SQLite (no server to reach).
    /// A PostgreSQL URL without a host (a Unix socket) counts as loopback.
    pub async fn from_url(url: &str) -> Option<Self> {
        let parsed = url::Url::parse(url).ok()?;
        if !matches!(
            parsed.scheme(),
            "postgres" | "postgresql" | "mysql" | "mariadb"
        ) {
            return None;
        }
        let port = parsed
            .port()
            .unwrap_or(if parsed.scheme().starts_with("postgres") {
                5432
            } else {
                3306
            });
        let database = match parsed.path().trim_start_matches('/') {
            "" if parsed.username().is_empty() => "postgres".to_owned(),
            "" => parsed.username().to_owned(),
            name => percent_decode(name),
        };
        let host = parsed.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addresses = if host.is_empty() {
            vec![IpAddr::from([127, 0, 0, 1])]
        } else {
            resolve(host, port).await.unwrap_or_default()
        };
        Some(Self {
            addresses,
            port,
            database,
        })
    }

    /// Whether `address:port`, database `database`, is this database.
    pub fn is(&self, address: IpAddr, port: u16, database: &str) -> bool {
        port == self.port
            && database == self.database
            && self.addresses.iter().any(|own| same_host(*own, address))
    }
}

/// Whether two addresses reach the same server: equal (IPv4-mapped forms as IPv4), or both
/// local (every loopback address and the unspecified address reach this machine).
fn same_host(a: IpAddr, b: IpAddr) -> bool {
    let local = |ip: IpAddr| ip.is_loopback() || ip.is_unspecified();
    let (a, b) = (a.to_canonical(), b.to_canonical());
    a == b || (local(a) && local(b))
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| text.to_owned())
}

/// Why a connection target was refused. The message names the host, the address and the
/// setting that would permit it; it says nothing a scan could use about the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetRefusal {
    /// The host has no address.
    #[error("could not resolve the host `{host}`")]
    Unresolvable { host: String },
    /// An address of the host is not one databases may be reached at.
    #[error("{}", describe(.0))]
    Address(Refusal),
    /// The target is the database Weft itself stores its data in.
    #[error(
        "refused to connect to {address} port {port}: that is Weft's own database, which no \
         connection may use"
    )]
    OwnDatabase { address: IpAddr, port: u16 },
}

fn describe(refusal: &Refusal) -> String {
    let mut text = String::from("refused to connect to ");
    match refusal.address {
        Some(ip) if refusal.host.trim_matches(['[', ']']) != ip.to_string() => {
            text.push_str(&format!("{ip} ({})", refusal.host));
        }
        Some(ip) => text.push_str(&ip.to_string()),
        None => text.push_str(&refusal.host),
    }
    text.push_str(": ");
    let class = match &refusal.reason {
        RefusalReason::Address(class) => {
            text.push_str(class.describe());
            Some(*class)
        }
        RefusalReason::Embedded { form, ipv4, class } => {
            text.push_str(&format!(
                "{} form of {ipv4}, a {}",
                form.describe(),
                class.describe()
            ));
            Some(*class)
        }
        _ => None,
    };
    if class.is_some_and(|c| c.is_metadata()) {
        text.push_str(&format!(
            "; only an IP or CIDR rule in {ENV_DATABASE_ALLOWED_HOSTS} covering this address \
             permits it ({ENV_ALLOW_PRIVATE_NETWORKS} does not)"
        ));
    } else {
        text.push_str(&format!(
            "; set {ENV_ALLOW_PRIVATE_NETWORKS} or allowlist the host in \
             {ENV_DATABASE_ALLOWED_HOSTS}"
        ));
    }
    text
}

impl DatabasePolicy {
    /// The secure default adjusted by `WEFT_ALLOW_PRIVATE_NETWORKS` and
    /// `WEFT_DATABASE_ALLOWED_HOSTS`, read through `lookup`. Weft's own database is set by
    /// whoever opens it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, PolicyError> {
        // The switch means the same for HTTP and databases; read it the same way.
        let outbound = OutboundPolicy::from_lookup(|name| {
            (name == ENV_ALLOW_PRIVATE_NETWORKS)
                .then(|| lookup(name))
                .flatten()
        })?;
        let allowed_hosts = match lookup(ENV_DATABASE_ALLOWED_HOSTS) {
            None => Vec::new(),
            Some(list) => {
                HostRule::parse_list(&list).map_err(|source| PolicyError::InvalidRule {
                    var: ENV_DATABASE_ALLOWED_HOSTS,
                    source,
                })?
            }
        };
        Ok(Self {
            allow_private_networks: outbound.allow_private_networks,
            allowed_hosts,
            own_database: None,
        })
    }

    /// [`DatabasePolicy::from_lookup`] over the process environment.
    pub fn from_env() -> Result<Self, PolicyError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// A policy that permits exactly the addresses and hosts of `rules` beyond public ones.
    pub fn allowing(rules: &str) -> Result<Self, PolicyError> {
        Ok(Self {
            allowed_hosts: HostRule::parse_list(rules).map_err(|source| {
                PolicyError::InvalidRule {
                    var: ENV_DATABASE_ALLOWED_HOSTS,
                    source,
                }
            })?,
            ..Self::default()
        })
    }

    /// The decision for one resolved address of `host`: the address rules of the outbound
    /// guard, then Weft's own database, which no rule opens.
    pub fn check_address(
        &self,
        host: &str,
        address: IpAddr,
        port: u16,
        database: &str,
    ) -> Result<(), TargetRefusal> {
        let policy = OutboundPolicy {
            allow_private_networks: self.allow_private_networks,
            allowed_hosts: self.allowed_hosts.clone(),
            ..OutboundPolicy::default()
        };
        check_ip(address, &policy, host).map_err(TargetRefusal::Address)?;
        if self
            .own_database
            .as_ref()
            .is_some_and(|own| own.is(address, port, database))
        {
            return Err(TargetRefusal::OwnDatabase { address, port });
        }
        Ok(())
    }

    /// Resolves `host` and checks every address it has; the first one is what the caller
    /// must dial. An address literal is checked as it is.
    pub async fn resolve(
        &self,
        host: &str,
        port: u16,
        database: &str,
    ) -> Result<IpAddr, TargetRefusal> {
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        let addresses = resolve(host, port).await?;
        for address in &addresses {
            self.check_address(host, *address, port, database)?;
        }
        Ok(addresses[0])
    }
}

/// Every address of `host` (itself when it is an address), never empty.
async fn resolve(host: &str, port: u16) -> Result<Vec<IpAddr>, TargetRefusal> {
    let unresolvable = || TargetRefusal::Unresolvable {
        host: host.to_owned(),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| unresolvable())?
        .map_err(|_| unresolvable())?;
    let mut addresses: Vec<IpAddr> = Vec::new();
    for address in found {
        if !addresses.contains(&address.ip()) {
            addresses.push(address.ip());
        }
    }
    if addresses.is_empty() {
        return Err(unresolvable());
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn own() -> OwnDatabase {
        OwnDatabase {
            addresses: vec![ip("127.0.0.1"), ip("::1")],
            port: 5432,
            database: "weft".into(),
        }
    }

    #[test]
    fn the_secure_default_refuses_every_non_public_address_with_the_reason() {
        let policy = DatabasePolicy::default();
        for (address, words) in [
            ("127.0.0.1", "loopback address"),
            ("::1", "loopback address"),
            ("10.1.2.3", "private network address"),
            ("192.168.0.10", "private network address"),
            ("172.20.0.2", "private network address"),
            ("169.254.169.254", "cloud-metadata"),
            ("fe80::1", "link-local"),
            ("fd00:ec2::254", "cloud-metadata"),
            ("0.0.0.0", "unspecified"),
            (
                "::ffff:127.0.0.1",
                "IPv4-mapped form of 127.0.0.1, a loopback address",
            ),
            ("100.64.0.1", "carrier-grade NAT"),
        ] {
            let refusal = policy
                .check_address(address, ip(address), 5432, "app")
                .unwrap_err();
            let message = refusal.to_string();
            assert!(message.contains(words), "{address}: {message}");
            assert!(message.contains(ENV_DATABASE_ALLOWED_HOSTS), "{message}");
        }
        for public in ["203.0.114.7", "8.8.8.8", "2606:4700:4700::1111"] {
            assert_eq!(
                policy.check_address(public, ip(public), 5432, "app"),
                Ok(())
            );
        }
    }

    #[test]
    fn the_switches_open_private_networks_but_metadata_needs_an_address_rule() {
        let private = DatabasePolicy {
            allow_private_networks: true,
            ..DatabasePolicy::default()
        };
        assert!(
            private
                .check_address("db", ip("10.0.0.5"), 5432, "x")
                .is_ok()
        );
        assert!(
            private
                .check_address("db", ip("127.0.0.1"), 5432, "x")
                .is_ok()
        );
        assert!(
            private
                .check_address("db", ip("169.254.169.254"), 80, "x")
                .is_err()
        );

        let named = DatabasePolicy::allowing("db.internal").unwrap();
        assert!(
            named
                .check_address("db.internal", ip("10.0.0.5"), 5432, "x")
                .is_ok()
        );
        assert!(
            named
                .check_address("other.internal", ip("10.0.0.5"), 5432, "x")
                .is_err()
        );
        let network = DatabasePolicy::allowing("10.0.0.0/8,169.254.169.254").unwrap();
        assert!(
            network
                .check_address("a", ip("10.9.9.9"), 5432, "x")
                .is_ok()
        );
        assert!(
            network
                .check_address("a", ip("127.0.0.1"), 5432, "x")
                .is_err()
        );
        assert!(
            network
                .check_address("a", ip("169.254.169.254"), 80, "x")
                .is_ok()
        );
    }

    #[test]
    fn weft_s_own_database_is_refused_even_when_allowlisted() {
        let policy = DatabasePolicy {
            allow_private_networks: true,
            own_database: Some(own()),
            ..DatabasePolicy::allowing("127.0.0.0/8,::1,localhost").unwrap()
        };
        for address in [
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            let refusal = policy
                .check_address("localhost", ip(address), 5432, "weft")
                .unwrap_err();
            assert!(
                matches!(refusal, TargetRefusal::OwnDatabase { .. }),
                "{address}: {refusal}"
            );
            assert!(refusal.to_string().contains("Weft's own database"));
        }
        // Another database of the same server, or another port, is a different target.
        assert!(
            policy
                .check_address("localhost", ip("127.0.0.1"), 5432, "test")
                .is_ok()
        );
        assert!(
            policy
                .check_address("localhost", ip("127.0.0.1"), 5433, "weft")
                .is_ok()
        );
    }

    #[tokio::test]
    async fn own_database_is_read_from_the_url() {
        let own = OwnDatabase::from_url("postgres://weft:pw@127.0.0.1:6543/weft_prod")
            .await
            .unwrap();
        assert_eq!(own.addresses, vec![ip("127.0.0.1")]);
        assert_eq!(own.port, 6543);
        assert_eq!(own.database, "weft_prod");
        let own = OwnDatabase::from_url("postgresql://app@[::1]/")
            .await
            .unwrap();
        assert_eq!((own.port, own.database.as_str()), (5432, "app"));
        assert!(
            OwnDatabase::from_url("sqlite://./data/weft.db?mode=rwc")
                .await
                .is_none()
        );
    }

    #[tokio::test]
    async fn every_address_of_a_name_is_checked_and_a_literal_is_not_looked_up() {
        let policy = DatabasePolicy::default();
        // `localhost` resolves through the system resolver without any network traffic.
        let refusal = policy.resolve("localhost", 5432, "x").await.unwrap_err();
        assert!(refusal.to_string().contains("loopback"), "{refusal}");
        let allowed = DatabasePolicy::allowing("127.0.0.1,::1").unwrap();
        assert!(
            allowed
                .resolve("localhost", 5432, "x")
                .await
                .unwrap()
                .is_loopback()
        );
        assert_eq!(
            allowed.resolve("[::1]", 5432, "x").await.unwrap(),
            ip("::1")
        );
        assert!(matches!(
            policy.resolve("no-such-host.invalid", 5432, "x").await,
            Err(TargetRefusal::Unresolvable { .. })
        ));
    }

    #[test]
    fn the_environment_is_read_and_a_typo_is_an_error() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let policy = DatabasePolicy::from_lookup(env(&[
            (ENV_ALLOW_PRIVATE_NETWORKS, "yes"),
            (ENV_DATABASE_ALLOWED_HOSTS, "db.corp, 10.0.0.0/8"),
            ("WEFT_OUTBOUND_ALLOWLIST", "127.0.0.1"),
        ]))
        .unwrap();
        assert!(policy.allow_private_networks);
        assert_eq!(policy.allowed_hosts.len(), 2);
        assert_eq!(
            DatabasePolicy::from_lookup(|_| None).unwrap(),
            DatabasePolicy::default()
        );
        let err = DatabasePolicy::from_lookup(env(&[(ENV_DATABASE_ALLOWED_HOSTS, "10.0.0.0/99")]))
            .unwrap_err();
        assert!(
            err.to_string().contains(ENV_DATABASE_ALLOWED_HOSTS),
            "{err}"
        );
    }
}
