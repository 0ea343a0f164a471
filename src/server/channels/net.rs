//! Outbound network policy. Channel endpoints are typed in by admins, so a careless or hostile
//! address must not reach the machine's own services: loopback and private addresses are
//! refused unless the operator allows them. The check runs on every address a name resolves
//! to, at connection time (a custom resolver), so a name cannot point somewhere else between
//! the check and the connection; redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetPolicy {
    /// `CONCIERGE_ALLOW_LOOPBACK=1`: 127.0.0.0/8 and ::1 (tests, local set-ups).
    pub allow_loopback: bool,
    /// `CONCIERGE_ALLOW_PRIVATE_NETWORKS=1`: 10/8, 172.16/12, 192.168/16, 100.64/10,
    /// link-local and fc00::/7 (an SMTP relay on the office network).
    pub allow_private: bool,
}

impl NetPolicy {
    /// Why `ip` may not be reached, or `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let (loopback, private, never) = match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                (
                    v4.is_loopback(),
                    v4.is_private()
                        || v4.is_link_local()
                        || (o[0] == 100 && (64..128).contains(&o[1])),
                    v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast(),
                )
            }
            IpAddr::V6(v6) => (
                v6.is_loopback(),
                v6.is_unique_local() || v6.is_unicast_link_local(),
                v6.is_unspecified() || v6.is_multicast(),
            ),
        };
        if never {
            Some("is not a reachable address")
        } else if loopback && !self.allow_loopback {
            Some("is a loopback address (set CONCIERGE_ALLOW_LOOPBACK=1 to allow it)")
        } else if private && !self.allow_private {
            Some("is a private address (set CONCIERGE_ALLOW_PRIVATE_NETWORKS=1 to allow it)")
        } else {
            None
        }
    }

    /// Resolves `host` and keeps the addresses this policy allows; an error names the host
    /// when none is left.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let all: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("could not resolve {host}: {e}"))?
            .collect();
        let mut why = None;
        let allowed: Vec<SocketAddr> = all
            .into_iter()
            .filter(|a| match self.refusal(a.ip()) {
                None => true,
                Some(reason) => {
                    why.get_or_insert(format!("{host} ({}) {reason}", a.ip()));
                    false
                }
            })
            .collect();
        if allowed.is_empty() {
            Err(why.unwrap_or_else(|| format!("{host} has no address")))
        } else {
            Ok(allowed)
        }
    }

    /// Checks a URL whose host is an address literal (the resolver never sees those).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err(format!("{url} has no host")),
        }
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        match self.refusal(ip) {
            None => Ok(()),
            Some(reason) => Err(format!("{ip} {reason}")),
        }
    }
}

struct GuardedResolver(NetPolicy);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = policy.resolve(&host, 0).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client every channel shares: the policy's resolver, no redirects, bounded time.
pub fn http_client(policy: NetPolicy, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver(policy)))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .pool_max_idle_per_host(64)
        .user_agent(concat!("Concierge/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_private_need_permission() {
        let strict = NetPolicy::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(strict.refusal(ip).is_some(), "{ip} should be refused");
        }
        assert!(strict.refusal("93.184.216.34".parse().unwrap()).is_none());
        let loopback = NetPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        assert!(loopback.refusal("127.0.0.1".parse().unwrap()).is_none());
        assert!(loopback.refusal("10.0.0.1".parse().unwrap()).is_some());
        let open = NetPolicy {
            allow_loopback: true,
            allow_private: true,
        };
        assert!(open.refusal("10.0.0.1".parse().unwrap()).is_none());
        assert!(open.refusal("0.0.0.0".parse().unwrap()).is_some());
    }
}
