//! Which addresses a request to a URL a user gave may reach: every address
//! that is not public unicast has a class, and the policy says which
//! classes `allow_private_targets` opens.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not a public one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`), unique local `fc00::/7`,
    /// the old site-local `fec0::/10`, local-use NAT64 `64:ff9b:1::/48`.
    Private,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// A cloud's instance metadata service (`169.254.169.254`,
    /// `fd00:ec2::254`, `100.100.100.200`, Azure's `168.63.129.16`, and
    /// the names `metadata.google.internal`, `metadata.goog`, `metadata`).
    CloudMetadata,
    /// Carrier-grade NAT, `100.64.0.0/10`.
    SharedCgnat,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// Everything else not routed on the internet: `240/4`, `192.0.0/24`,
    /// `192.88.99/24`, IPv6 outside `2000::/3`, `2001::/23` (Teredo
    /// included), the discard prefix `100::/64`, IPv4-compatible IPv6.
    Reserved,
}

impl AddressClass {
    /// Whether `allow_private_targets` lets requests reach this class: the
    /// networks a self-hosted WordPress may live on. Metadata services,
    /// broadcast, multicast and unroutable addresses stay refused.
    pub fn opened_by_allow_private(self) -> bool {
        matches!(
            self,
            Self::Loopback | Self::Private | Self::LinkLocal | Self::SharedCgnat
        )
    }

    /// The class's stable name, as error messages give it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::CloudMetadata => "cloud metadata",
            Self::SharedCgnat => "carrier-grade NAT",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which classes of address requests may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPolicy {
    allow_private: bool,
}

impl AddressPolicy {
    /// Public unicast addresses only (the default).
    pub const PUBLIC_ONLY: Self = Self {
        allow_private: false,
    };

    /// Also loopback, private, link-local and CGNAT addresses
    /// (`GSW_ALLOW_PRIVATE_TARGETS=true`).
    pub const ALLOW_PRIVATE: Self = Self {
        allow_private: true,
    };

    /// The policy `allow_private_targets` asks for.
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Whether `ip` may be reached; if not, its class.
    pub fn check(self, ip: IpAddr) -> Result<(), AddressClass> {
        match classify(ip) {
            None => Ok(()),
            Some(class) if self.allow_private && class.opened_by_allow_private() => Ok(()),
            Some(class) => Err(class),
        }
    }
}

/// Host names that are metadata services whatever they resolve to.
pub fn refused_name(host: &str) -> Option<AddressClass> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    matches!(
        host.as_str(),
        "metadata.google.internal" | "metadata.goog" | "metadata"
    )
    .then_some(AddressClass::CloudMetadata)
}

/// The class of `ip`, or `None` for a public unicast address.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Whether `ip` is in `net`/`len`.
fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    const METADATA: [[u8; 4]; 3] = [
        [169, 254, 169, 254],
        [100, 100, 100, 200],
        [168, 63, 129, 16],
    ];
    const TABLE: [([u8; 4], u32, AddressClass); 16] = [
        ([0, 0, 0, 0], 8, Unspecified),
        ([127, 0, 0, 0], 8, Loopback),
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([192, 0, 2, 0], 24, Documentation),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 88, 99, 0], 24, Reserved),
        ([224, 0, 0, 0], 4, Multicast),
        // Before 240/4, which holds it.
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    if METADATA.contains(&ip.octets()) {
        return Some(CloudMetadata);
    }
    TABLE
        .iter()
        .find(|(net, len, _)| in_v4(ip, *net, *len))
        .map(|(_, _, class)| *class)
}

/// Whether `ip` is in `net`/`len`.
fn in_v6(ip: Ipv6Addr, net: u128, len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    u128::from(ip) & mask == net & mask
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let bits = u128::from(ip);
    let low_v4 = Ipv4Addr::from(bits as u32);
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some(CloudMetadata);
    }
    // IPv4-mapped (::ffff:a.b.c.d) and well-known NAT64 (64:ff9b::a.b.c.d)
    // reach the IPv4 address they carry: judge that one.
    if in_v6(ip, 0xffff_0000_0000, 96) || in_v6(ip, 0x0064_ff9b << 96, 96) {
        return classify_v4(low_v4);
    }
    // IPv4-compatible (::a.b.c.d) is deprecated and unroutable.
    if in_v6(ip, 0, 96) {
        return Some(classify_v4(low_v4).unwrap_or(Reserved));
    }
    // 6to4 (2002:aabb:ccdd::) reaches the IPv4 address in bits 16..48.
    if in_v6(ip, 0x2002 << 112, 16) {
        return classify_v4(Ipv4Addr::from((bits >> 80) as u32));
    }
    const TABLE: [(u128, u32, AddressClass); 10] = [
        (0x0064_ff9b_0001 << 80, 48, Private),
        (0xfc00 << 112, 7, Private),
        (0xfe80 << 112, 10, LinkLocal),
        (0xfec0 << 112, 10, Private),
        (0xff00 << 112, 8, Multicast),
        (0x2001_0db8 << 96, 32, Documentation),
        (0x3fff << 112, 20, Documentation),
        (0x2001_0002 << 96, 48, Benchmarking),
        (0x2001 << 112, 23, Reserved),
        (0x0100 << 112, 64, Reserved),
    ];
    if let Some((_, _, class)) = TABLE.iter().find(|(net, len, _)| in_v6(ip, *net, *len)) {
        return Some(*class);
    }
    // Global unicast is 2000::/3; nothing outside it is routed.
    (!in_v6(ip, 0x2000 << 112, 3)).then_some(Reserved)
}

#[cfg(test)]
mod tests {
    use super::AddressClass::*;
    use super::*;

    fn class(ip: &str) -> Option<AddressClass> {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn ipv4_classes_from_edge_to_edge() {
        let cases: &[(&str, Option<AddressClass>)] = &[
            ("0.0.0.0", Some(Unspecified)),
            ("0.255.255.255", Some(Unspecified)),
            ("1.0.0.0", None),
            ("126.255.255.255", None),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("128.0.0.0", None),
            ("9.255.255.255", None),
            ("10.0.0.0", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("11.0.0.0", None),
            ("172.15.255.255", None),
            ("172.16.0.0", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.0", None),
            ("192.167.255.255", None),
            ("192.168.0.1", Some(Private)),
            ("192.168.255.255", Some(Private)),
            ("192.169.0.0", None),
            ("169.253.255.255", None),
            ("169.254.0.1", Some(LinkLocal)),
            ("169.254.255.255", Some(LinkLocal)),
            ("169.255.0.0", None),
            ("169.254.169.254", Some(CloudMetadata)),
            ("100.100.100.200", Some(CloudMetadata)),
            ("168.63.129.16", Some(CloudMetadata)),
            ("168.63.129.17", None),
            ("100.63.255.255", None),
            ("100.64.0.0", Some(SharedCgnat)),
            ("100.127.255.255", Some(SharedCgnat)),
            ("100.128.0.0", None),
            ("192.0.0.0", Some(Reserved)),
            ("192.0.0.255", Some(Reserved)),
            ("192.0.1.0", None),
            ("192.0.2.0", Some(Documentation)),
            ("192.0.2.255", Some(Documentation)),
            ("192.0.3.0", None),
            ("198.51.100.7", Some(Documentation)),
            ("198.51.101.0", None),
            ("203.0.113.9", Some(Documentation)),
            ("203.0.114.0", None),
            ("198.17.255.255", None),
            ("198.18.0.0", Some(Benchmarking)),
            ("198.19.255.255", Some(Benchmarking)),
            ("198.20.0.0", None),
            ("192.88.99.1", Some(Reserved)),
            ("192.88.100.0", None),
            ("223.255.255.255", None),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.255", Some(Multicast)),
            ("240.0.0.0", Some(Reserved)),
            ("255.255.255.254", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            ("8.8.8.8", None),
            ("93.184.215.14", None),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), *want, "{ip}");
        }
    }

    #[test]
    fn ipv6_classes() {
        let cases: &[(&str, Option<AddressClass>)] = &[
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("::2", Some(Unspecified)),
            ("fc00::1", Some(Private)),
            ("fdff:ffff::1", Some(Private)),
            ("fd00:ec2::254", Some(CloudMetadata)),
            ("fd00:ec2::253", Some(Private)),
            ("fe80::1", Some(LinkLocal)),
            ("febf:ffff::1", Some(LinkLocal)),
            ("fec0::1", Some(Private)),
            ("ff02::1", Some(Multicast)),
            ("ff0e::1", Some(Multicast)),
            ("2001:db8::1", Some(Documentation)),
            ("2001:db9::1", None),
            ("3fff::1", Some(Documentation)),
            ("3fff:0fff::1", Some(Documentation)),
            ("3fff:1000::1", None),
            ("2001:2::1", Some(Benchmarking)),
            ("2001::1", Some(Reserved)),
            ("2001:1ff::1", Some(Reserved)),
            ("2001:200::1", None),
            ("100::1", Some(Reserved)),
            ("64:ff9b:1::1", Some(Private)),
            ("1fff:ffff::1", Some(Reserved)),
            ("4000::1", Some(Reserved)),
            ("2a00:1450:4001:81b::200e", None),
            ("2606:4700::6810:84e5", None),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), *want, "{ip}");
        }
    }

    /// Every IPv4 class is found again inside each IPv6 form that carries an
    /// IPv4 address, and a public IPv4 address stays public in the forms
    /// that route to it.
    #[test]
    fn ipv6_forms_carrying_ipv4_are_judged_by_it() {
        let v4 = [
            ("0.0.0.0", Some(Unspecified)),
            ("127.0.0.1", Some(Loopback)),
            ("10.1.2.3", Some(Private)),
            ("172.16.5.4", Some(Private)),
            ("192.168.1.1", Some(Private)),
            ("169.254.1.1", Some(LinkLocal)),
            ("169.254.169.254", Some(CloudMetadata)),
            ("100.100.100.200", Some(CloudMetadata)),
            ("100.64.1.1", Some(SharedCgnat)),
            ("224.0.0.1", Some(Multicast)),
            ("255.255.255.255", Some(Broadcast)),
            ("192.0.2.1", Some(Documentation)),
            ("198.18.0.1", Some(Benchmarking)),
            ("240.0.0.1", Some(Reserved)),
            ("93.184.215.14", None),
        ];
        for (ip, want) in v4 {
            let o: Ipv4Addr = ip.parse().unwrap();
            let [a, b, c, d] = o.octets();
            let hi = u16::from_be_bytes([a, b]);
            let lo = u16::from_be_bytes([c, d]);
            let mapped = o.to_ipv6_mapped();
            let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo);
            let six_to_four = Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1);
            for form in [mapped, nat64, six_to_four] {
                assert_eq!(classify(IpAddr::V6(form)), want, "{ip} as {form}");
            }
            // IPv4-compatible: the IPv4 class, or reserved when public.
            let compatible = Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo);
            if compatible.is_loopback() {
                continue; // ::0.0.0.1 is ::1
            }
            assert_eq!(
                classify(IpAddr::V6(compatible)),
                Some(want.unwrap_or(Reserved)),
                "{ip} as {compatible}"
            );
        }
        assert_eq!(class("::ffff:127.0.0.1"), Some(Loopback));
        assert_eq!(class("::ffff:7f00:1"), Some(Loopback));
        assert_eq!(class("64:ff9b::a9fe:a9fe"), Some(CloudMetadata));
    }

    #[test]
    fn the_policy_opens_only_the_networks_a_site_may_live_on() {
        let opened = [
            "127.0.0.1",
            "::1",
            "10.0.0.1",
            "fd12::1",
            "169.254.3.4",
            "fe80::1",
            "100.64.0.1",
            "::ffff:192.168.0.1",
        ];
        let never = [
            "169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "192.0.2.1",
            "2001:db8::1",
            "198.18.0.1",
            "240.0.0.1",
            "::ffff:169.254.169.254",
        ];
        for ip in opened {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(AddressPolicy::PUBLIC_ONLY.check(ip).is_err(), "{ip}");
            assert_eq!(AddressPolicy::ALLOW_PRIVATE.check(ip), Ok(()), "{ip}");
        }
        for ip in never {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(AddressPolicy::PUBLIC_ONLY.check(ip).is_err(), "{ip}");
            assert!(AddressPolicy::ALLOW_PRIVATE.check(ip).is_err(), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "2606:4700::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(AddressPolicy::PUBLIC_ONLY.check(ip), Ok(()), "{ip}");
        }
        assert_eq!(
            AddressPolicy::PUBLIC_ONLY.check("192.168.1.1".parse().unwrap()),
            Err(Private)
        );
    }

    #[test]
    fn metadata_names_are_refused_by_name() {
        for name in [
            "metadata.google.internal",
            "METADATA.google.internal.",
            "metadata.goog",
            "metadata",
        ] {
            assert_eq!(refused_name(name), Some(CloudMetadata), "{name}");
        }
        for name in ["metadata.example.com", "example.com", "google.internal"] {
            assert_eq!(refused_name(name), None, "{name}");
        }
    }
}
