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

/// The instance metadata services of cloud hosts (AWS, GCP and Azure at 169.254.169.254, AWS's
/// IPv6 one, ECS task metadata, Alibaba's): refused even where private networks are allowed,
/// because they hand out the host's credentials.
const CLOUD_METADATA: &[IpAddr] = &[
    IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(std::net::Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];

/// The IPv4 address an IPv6 one carries, where it carries one that is reached through it:
/// IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`, and the local-use `64:ff9b:1::/48`)
/// and 6to4 (`2002:AABB:CCDD::/48`). A refused IPv4 address is refused in each of these forms.
fn embedded_v4(ip: IpAddr) -> Option<std::net::Ipv4Addr> {
    let IpAddr::V6(v6) = ip else {
        return None;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let o = v6.octets();
    let last = std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return Some(last);
    }
    if s[0] == 0x2002 {
        return Some(std::net::Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

impl NetPolicy {
    /// Why `ip` may not be reached, or `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        let ip = embedded_v4(ip).map(IpAddr::V4).unwrap_or(ip);
        if CLOUD_METADATA.contains(&ip) {
            return Some("is a cloud metadata address, never reachable from here");
        }
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
        // Proxy settings in the environment are not the operator's choice for these requests:
        // a proxy would also see past the network policy's resolver.
        .no_proxy()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .pool_max_idle_per_host(64)
        .user_agent(concat!("Concierge/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// A response's body, read up to `cap` bytes (the rest is left unread): a provider's or a
/// model's answer cannot fill the memory. `Err` names why the body broke off.
pub async fn read_capped(
    res: &mut reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), String> {
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
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

    #[test]
    fn metadata_addresses_are_never_reached() {
        let open = NetPolicy {
            allow_loopback: true,
            allow_private: true,
        };
        for ip in [
            "169.254.169.254",
            "fd00:ec2::254",
            "169.254.170.2",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(open.refusal(ip).unwrap().contains("metadata"), "{ip}");
        }
        assert!(open.refusal("169.254.1.1".parse().unwrap()).is_none());
    }

    #[test]
    fn refused_addresses_are_refused_in_their_ipv6_forms() {
        let strict = NetPolicy::default();
        for ip in [
            "64:ff9b::7f00:1",     // NAT64 of 127.0.0.1
            "64:ff9b::a00:1",      // NAT64 of 10.0.0.1
            "64:ff9b:1::c0a8:101", // local-use NAT64 of 192.168.1.1
            "2002:7f00:1::",       // 6to4 of 127.0.0.1
            "2002:a00:1::1",       // 6to4 of 10.0.0.1
            "2002:c0a8:101::",     // 6to4 of 192.168.1.1
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(strict.refusal(ip).is_some(), "{ip} should be refused");
        }
        // The same forms of a public address are fine.
        for ip in ["64:ff9b::5db8:d822", "2002:5db8:d822::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(strict.refusal(ip).is_none(), "{ip} should be allowed");
        }
    }
}
