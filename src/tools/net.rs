//! Address checks for outgoing requests (the SSRF guard).
//!
//! A URL's host is resolved once, every address it resolves to is checked,
//! and the connection goes to a checked address: the check runs inside the
//! HTTP client's resolver ([`GuardedResolver`]), so no second lookup can
//! hand the client another answer (DNS rebinding). IP literals never reach
//! a resolver, so [`check_url`] checks them before a request is made; the
//! `url` crate has already turned decimal, octal and hex spellings of IPv4
//! (`2130706433`, `0177.0.0.1`, `0x7f.1`) into the address they mean.
//!
//! Refused unless a network of `allow_private` holds them: loopback,
//! private (RFC 1918), link-local (with the cloud metadata address),
//! CGNAT, unspecified, multicast, broadcast, reserved and documentation
//! ranges, ULA, site-local, and every IPv6 form that carries an IPv4
//! address (mapped, compatible, NAT64, 6to4, Teredo).

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use ipnet::IpNet;

/// Why an address may not be reached, or `None` when it is a public one.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [0, ..] => "an unspecified address (0.0.0.0/8)",
        [127, ..] => "a loopback address",
        [10, ..] | [192, 168, ..] => "a private address (RFC 1918)",
        [172, b, ..] if (16..32).contains(&b) => "a private address (RFC 1918)",
        [169, 254, 169, 254] => "the cloud metadata address",
        [169, 254, ..] => "a link-local address",
        [100, b, ..] if (64..128).contains(&b) => "a carrier-grade NAT address (100.64.0.0/10)",
        [255, 255, 255, 255] => "the broadcast address",
        [a, ..] if (224..240).contains(&a) => "a multicast address",
        [a, ..] if a >= 240 => "a reserved address (240.0.0.0/4)",
        [192, 0, 0, _] => "an IETF protocol address (192.0.0.0/24)",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "a documentation address",
        [198, b, ..] if b == 18 || b == 19 => "a benchmarking address (198.18.0.0/15)",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(if ip.is_unspecified() {
        "an unspecified address (::)"
    } else if ip.is_loopback() {
        "a loopback address (::1)"
    } else if s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
        "an IPv4-mapped IPv6 address (::ffff:0:0/96)"
    } else if s[0..6] == [0; 6] {
        "an IPv4-compatible IPv6 address (::/96)"
    } else if s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0; 4] || s[2] == 1) {
        "a NAT64 address (64:ff9b::/96, 64:ff9b:1::/48)"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "a unique local address (fc00::/7)"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "a link-local address (fe80::/10)"
    } else if s[0] & 0xffc0 == 0xfec0 {
        "a site-local address (fec0::/10)"
    } else if s[0] & 0xff00 == 0xff00 {
        "a multicast address (ff00::/8)"
    } else if s[0] == 0x2002 {
        "a 6to4 address (2002::/16), which carries an IPv4 address"
    } else if s[0] == 0x2001 && s[1] == 0 {
        "a Teredo address (2001::/32), which carries an IPv4 address"
    } else if s[0] == 0x2001 && s[1] == 0xdb8 {
        "a documentation address (2001:db8::/32)"
    } else if s[0..4] == [0x100, 0, 0, 0] {
        "a discard-only address (100::/64)"
    } else {
        return None;
    })
}

/// Which addresses a request may reach: public ones, plus the networks the
/// config allows.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub allow: Vec<IpNet>,
}

/// A refusal by the address guard; the message names the host, the
/// address and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl Policy {
    /// `Ok` when `ip` may be reached.
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), Refusal> {
        match special(ip) {
            None => Ok(()),
            Some(_) if self.allow.iter().any(|net| net.contains(&ip)) => Ok(()),
            Some(why) => Err(Refusal(format!(
                "{host} is {ip}, {why}; add its network to [tools.fetch] allow_private to reach it"
            ))),
        }
    }
}

/// Checks a URL before a request: http or https only, no credentials, and
/// an IP literal host must pass the policy (names are checked when they
/// resolve).
pub fn check_url(url: &url::Url, policy: &Policy) -> Result<(), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal(format!("only http and https URLs can be fetched, not {}:", url.scheme())));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal("URLs with credentials in them are refused".into()));
    }
    match url.host() {
        None => Err(Refusal("the URL has no host".into())),
        Some(url::Host::Ipv4(ip)) => policy.check(&ip.to_string(), IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => policy.check(&format!("[{ip}]"), IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => Ok(()),
    }
}

/// A boxed future, for the resolver seam.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Turns a host name into addresses. The system resolver in production; a
/// table in tests ("a name that resolves to 127.0.0.1" without DNS).
pub trait Resolve: Send + Sync + 'static {
    fn resolve(&self, host: String) -> BoxFuture<'static, io::Result<Vec<IpAddr>>>;
}

/// The system's resolver (getaddrinfo, on the blocking pool).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: String) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// The HTTP client's resolver: resolves once with the inner resolver and
/// hands the client only addresses that passed the policy. A name with
/// any refused address is refused whole (an attacker's DNS may answer a
/// public and a private address and hope the client tries both).
pub struct GuardedResolver {
    pub inner: Arc<dyn Resolve>,
    pub policy: Policy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let inner = self.inner.clone();
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let ips = inner.resolve(host.clone()).await?;
            if ips.is_empty() {
                return Err(io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address")).into());
            }
            for ip in &ips {
                policy.check(&host, *ip).map_err(Box::new)?;
            }
            let addrs: Box<dyn Iterator<Item = SocketAddr> + Send> =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect::<Vec<_>>().into_iter());
            Ok(addrs)
        })
    }
}

/// The refusal inside an error chain, if the guard caused the error.
pub fn refusal_in(err: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        if let Some(r) = e.downcast_ref::<Box<Refusal>>() {
            return Some((**r).clone());
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        special(s.parse().unwrap()).is_some()
    }

    #[test]
    fn every_special_class_is_refused_and_public_addresses_pass() {
        for ip in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "2a00:1450::1"]
        {
            assert!(!refused(ip), "{ip} should pass");
        }
    }

    #[test]
    fn the_allow_list_admits_only_its_networks() {
        let policy = Policy { allow: vec!["127.0.0.0/8".parse().unwrap(), "10.1.0.0/16".parse().unwrap()] };
        assert!(policy.check("h", "127.0.0.2".parse().unwrap()).is_ok());
        assert!(policy.check("h", "10.1.2.3".parse().unwrap()).is_ok());
        let err = policy.check("h", "10.2.0.1".parse().unwrap()).unwrap_err();
        assert!(err.0.contains("private") && err.0.contains("allow_private"), "{err}");
        assert!(Policy::default().check("h", "127.0.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn ipv4_spellings_are_normalised_before_the_check() {
        let policy = Policy::default();
        for url in [
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://017700000001/",
            "http://[::ffff:7f00:1]/",
            "http://[::1]:8080/",
            "http://0/",
        ] {
            let u = url::Url::parse(url).unwrap();
            assert!(check_url(&u, &policy).is_err(), "{url} ({:?}) should be refused", u.host());
        }
        for url in ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/"] {
            assert!(check_url(&url::Url::parse(url).unwrap(), &policy).is_err(), "{url}");
        }
        assert!(check_url(&url::Url::parse("https://example.com/x").unwrap(), &policy).is_ok());
    }
}
