//! bindgen over the shim, with tight allowlists, and the manifest beside it.

use std::fmt::Write as _;
use std::path::Path;

use crate::headers::{self, Found};

/// Which set of bindings.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// macOS: the whole Apple surface.
    Apple,
    /// iOS: the same `apple` module, packet path only: no routing socket
    /// (the Network Extension owns routes there, and the iPhoneOS SDK has no
    /// net/route.h).
    Ios,
    Linux,
}

impl Os {
    /// The module (and file) name: `utun_sys::apple`, `utun_sys::linux`.
    pub fn module(self) -> &'static str {
        match self {
            Os::Apple | Os::Ios => "apple",
            Os::Linux => "linux",
        }
    }

    /// Whether these are Apple bindings (macOS or iOS).
    pub fn is_apple(self) -> bool {
        self != Os::Linux
    }

    fn shim(self) -> &'static str {
        match self {
            Os::Apple | Os::Ios => "apple/utun_shim.h",
            Os::Linux => "linux/utun_shim.h",
        }
    }

    /// Constants and macros utun needs, as anchored regular expressions.
    fn vars(self) -> Vec<&'static str> {
        const COMMON: &[&str] = &[
            "AF_(UNSPEC|INET|INET6)",
            "PF_(UNSPEC|INET|INET6)",
            "IFNAMSIZ",
            "IFF_(UP|BROADCAST|DEBUG|LOOPBACK|POINTOPOINT|RUNNING|NOARP|PROMISC|MULTICAST)",
        ];
        const APPLE: &[&str] = &[
            "AF_(SYSTEM|LINK|ROUTE)",
            "PF_(SYSTEM|ROUTE)",
            "SYSPROTO_CONTROL",
            "AF_SYS_CONTROL",
            "MAX_KCTL_NAME",
            "UTUN_CONTROL_NAME",
            "UTUN_OPT_[A-Z_]+",
            "IFT_OTHER",
            "RTM_(VERSION|ADD|DELETE|CHANGE|GET|LOSING|REDIRECT|MISS|NEWADDR|DELADDR|IFINFO)",
            "RTF_(UP|GATEWAY|HOST|REJECT|DYNAMIC|MODIFIED|DONE|CLONING|LLINFO|STATIC|BLACKHOLE|PRCLONING|WASCLONED|LOCAL|BROADCAST|MULTICAST|IFSCOPE|PROXY|ROUTER)",
            "RTA_(DST|GATEWAY|NETMASK|GENMASK|IFP|IFA|AUTHOR|BRD)",
            "RTAX_(DST|GATEWAY|NETMASK|GENMASK|IFP|IFA|AUTHOR|BRD|MAX)",
            "IN6_IFF_[A-Z]+",
            "ND6_INFINITE_LIFETIME",
            // Socket buffers, and recvmsg_x's largest count (own/socket_private.h).
            "SOL_SOCKET",
            "SO_(RCVBUF|SNDBUF)",
            "MSG_(DONTWAIT|TRUNC)",
            "UIO_MAXIOV",
        ];
        const LINUX: &[&str] = &[
            "AF_NETLINK",
            "PF_NETLINK",
            "NETLINK_ROUTE",
            "IFF_(TUN|TAP|NO_PI|ONE_QUEUE|MULTI_QUEUE|TUN_EXCL|VNET_HDR|PERSIST|ATTACH_QUEUE|DETACH_QUEUE)",
            // Offload (linux/if_tun.h, linux/virtio_net.h); USO4/USO6 and
            // GSO_UDP_L4 only where the headers have them (Linux 6.2+).
            "TUN_F_(CSUM|TSO4|TSO6|TSO_ECN|USO4|USO6)",
            "VIRTIO_NET_HDR_F_(NEEDS_CSUM|DATA_VALID)",
            "VIRTIO_NET_HDR_GSO_(NONE|TCPV4|TCPV6|UDP_L4|ECN)",
            "TUN_PKT_STRIP",
            "ETH_P_(IP|IPV6)",
            "NLM_F_(REQUEST|MULTI|ACK|ECHO|ROOT|MATCH|DUMP|REPLACE|EXCL|CREATE|APPEND)",
            "NLMSG_(NOOP|ERROR|DONE|OVERRUN|ALIGNTO)",
            "RTM_(NEWLINK|DELLINK|GETLINK|NEWADDR|DELADDR|GETADDR|NEWROUTE|DELROUTE|GETROUTE)",
            "RTM_F_[A-Z_]+",
            "RTA_(UNSPEC|DST|SRC|IIF|OIF|GATEWAY|PRIORITY|PREFSRC|METRICS|TABLE|VIA)",
            "RTN_(UNSPEC|UNICAST|LOCAL|BROADCAST|ANYCAST|MULTICAST|BLACKHOLE|UNREACHABLE|PROHIBIT)",
            "RT_SCOPE_[A-Z]+",
            "RT_TABLE_(UNSPEC|MAIN|LOCAL|DEFAULT)",
            "RTPROT_(UNSPEC|KERNEL|BOOT|STATIC)",
            "RTA_ALIGNTO",
            "IFA_(UNSPEC|ADDRESS|LOCAL|LABEL|BROADCAST|ANYCAST|CACHEINFO|FLAGS)",
            "IFA_F_(NODAD|PERMANENT|NOPREFIXROUTE|SECONDARY)",
            "IFLA_(IFNAME|MTU|LINKINFO)",
            "IFLA_INFO_(KIND|DATA)",
            "IFLA_TUN_(TYPE|PI|VNET_HDR)",
            "IP6_RT_PRIO_USER",
            "IPV6_MIN_MTU",
        ];
        let own: Vec<&'static str> = match self {
            Os::Apple => APPLE.to_vec(),
            // The routing socket's messages, flags and address slots are net/route.h's.
            Os::Ios => APPLE.iter().copied().filter(|v| !v.starts_with("RT")).collect(),
            Os::Linux => LINUX.to_vec(),
        };
        [COMMON, &own].concat()
    }

    /// Types kept as sized, aligned blobs: Linux's `ifreq` union holds an
    /// `if_settings` (WAN/HDLC line settings) that nobody here reads, and whose
    /// members would drag a dozen HDLC structs into the public surface.
    fn opaque(self) -> &'static [&'static str] {
        match self {
            Os::Apple | Os::Ios => &[],
            Os::Linux => &["if_settings"],
        }
    }

    /// The HDLC structs only `if_settings` refers to (bindgen still walks an
    /// opaque type's members when it allowlists recursively).
    fn blocked(self) -> &'static [&'static str] {
        match self {
            Os::Apple | Os::Ios => &[],
            Os::Linux => &[
                "if_settings__bindgen_ty_1",
                "sync_serial_settings",
                "te1_settings",
                "raw_hdlc_proto",
                "fr_proto",
                "fr_proto_pvc",
                "fr_proto_pvc_info",
                "cisco_proto",
                "x25_hdlc_proto",
            ],
        }
    }

    /// Functions no other crate declares: Apple's private batch socket calls
    /// (own/socket_private.h), as anchored regular expressions.
    fn functions(self) -> &'static [&'static str] {
        match self {
            Os::Apple | Os::Ios => &["recvmsg_x", "sendmsg_x"],
            Os::Linux => &[],
        }
    }

    /// Structures utun builds or parses (their field types come along).
    fn types(self) -> Vec<&'static str> {
        match self {
            // net/route.h's messages are left out on iOS.
            Os::Ios => Os::Apple.types().into_iter().filter(|t| !t.starts_with("rt_")).collect(),
            Os::Apple => vec![
                "ctl_info",
                "sockaddr_ctl",
                "sockaddr_sys",
                "ifreq",
                "ifaliasreq",
                "in6_aliasreq",
                "in6_ifreq",
                "in6_addrlifetime",
                "rt_msghdr",
                "rt_metrics",
                "sockaddr",
                "sockaddr_dl",
                "sockaddr_in",
                "sockaddr_in6",
                "in_addr",
                "in6_addr",
                // recvmsg_x/sendmsg_x (own/socket_private.h); `iovec` comes along.
                "msghdr_x",
            ],
            Os::Linux => vec![
                // Constants that are members of named enums (IFF_* in linux/if.h;
                // RTA_*, RT_SCOPE_*, RT_TABLE_* in linux/rtnetlink.h).
                "net_device_flags",
                "rtattr_type_t",
                "rt_scope_t",
                "rt_class_t",
                "ifreq",
                "in6_ifreq",
                "sockaddr",
                "sockaddr_in",
                "sockaddr_in6",
                "in_addr",
                "in6_addr",
                "sockaddr_nl",
                "tun_pi",
                "nlmsghdr",
                "nlmsgerr",
                "rtattr",
                "rtmsg",
                "ifaddrmsg",
                "ifinfomsg",
                // The header before each packet of a device opened with IFF_VNET_HDR.
                "virtio_net_hdr",
            ],
        }
    }
}

/// Linux values only newer UAPI headers define (Linux 6.2 added UDP
/// segmentation offload), and the `cfg` the crate gets when the bindings
/// have them. `utun_sys::linux::optional` turns each into an `Option`.
pub const LINUX_OPTIONAL: &[(&str, &str)] = &[
    ("TUN_F_USO4", "utun_sys_tun_f_uso4"),
    ("TUN_F_USO6", "utun_sys_tun_f_uso6"),
    ("VIRTIO_NET_HDR_GSO_UDP_L4", "utun_sys_virtio_net_hdr_gso_udp_l4"),
];

/// Tells rustc which of [`LINUX_OPTIONAL`] the generated Linux bindings at
/// `out` define: the probe is bindgen's own output (a macro the headers lack
/// is simply not generated), so the `cfg` and the constant cannot disagree.
pub fn probe_linux_optional(out: &Path) {
    let text =
        std::fs::read_to_string(out).unwrap_or_else(|e| crate::fail(&format!("could not read {}: {e}", out.display())));
    for (name, cfg) in LINUX_OPTIONAL {
        if text.contains(&format!("pub const {name}:")) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}

/// Renames `utun_shim_NAME` (the shim's evaluated macros) to `NAME`.
#[derive(Debug)]
struct Rename;

impl bindgen::callbacks::ParseCallbacks for Rename {
    fn item_name(&self, item: bindgen::callbacks::ItemInfo) -> Option<String> {
        item.name.strip_prefix("utun_shim_").map(str::to_string)
    }
}

/// The clang arguments bindgen (and verify-constants' C probe) compile with.
pub fn clang_args(os: Os, clang_target: &str, found: &Found, shim_dir: &Path) -> Vec<String> {
    let mut args = vec![format!("--target={clang_target}")];
    args.extend(found.clang_args.iter().cloned());
    args.push(format!("-I{}", shim_dir.display()));
    if os == Os::Ios {
        args.push("-DUTUN_SHIM_PACKET_PATH".into());
    }
    if os.is_apple() {
        for (header, define) in headers::APPLE_OWN {
            if found.own_declarations.iter().any(|h| h == header) {
                args.push(format!("-D{define}"));
            }
        }
    }
    args
}

/// Runs bindgen and writes the bindings to `out`.
pub fn bindings(os: Os, clang_target: &str, found: &Found, shim_dir: &Path, out: &Path) -> Result<(), String> {
    let mut builder = bindgen::Builder::default()
        .header(shim_dir.join(os.shim()).display().to_string())
        .clang_args(clang_args(os, clang_target, found, shim_dir))
        .detect_include_paths(false)
        .use_core()
        .ctypes_prefix("::core::ffi")
        .layout_tests(true)
        .derive_default(true)
        .derive_debug(true)
        .impl_debug(false)
        .prepend_enum_name(false)
        .generate_comments(true)
        .allowlist_recursively(true)
        .parse_callbacks(Box::new(Rename));
    for ty in os.opaque() {
        builder = builder.opaque_type(ty);
    }
    for ty in os.blocked() {
        builder = builder.blocklist_type(ty);
    }
    for var in os.vars() {
        builder = builder.allowlist_var(var);
    }
    // Every value the shim computes (the ioctls), and nothing else by that name.
    builder = builder.allowlist_var("utun_shim_.*");
    for ty in os.types() {
        builder = builder.allowlist_type(ty);
    }
    for function in os.functions() {
        builder = builder.allowlist_function(function);
    }
    let bindings = builder
        .generate()
        .map_err(|e| format!("bindgen failed on {} for {clang_target} with {}: {e}", os.shim(), found.description))?;
    bindings.write_to_file(out).map_err(|e| format!("could not write {}: {e}", out.display()))
}

/// Writes `$OUT_DIR/<module>.manifest`: one `key<TAB>value` a line. It tells
/// `cargo xtask verify-constants` how the bindings were made, so that its
/// independent C probe compiles against exactly the same headers.
pub fn write_manifest(
    out_dir: &Path,
    os: Os,
    clang_target: &str,
    found: Option<&Found>,
    shim_dir: &Path,
    own: &[String],
) {
    let mut m = String::new();
    let _ = writeln!(m, "module\t{}", os.module());
    let _ = writeln!(m, "clang_target\t{clang_target}");
    let _ = writeln!(m, "shim\t{}", shim_dir.join(os.shim()).display());
    match found {
        Some(found) => {
            let _ = writeln!(m, "headers\t{}", found.description);
            let _ = writeln!(m, "include_root\t{}", found.include_root.display());
            for arg in clang_args(os, clang_target, found, shim_dir) {
                let _ = writeln!(m, "clang_arg\t{arg}");
            }
        }
        None => {
            let _ = writeln!(m, "headers\tdocs.rs snapshot (no headers)");
        }
    }
    // The own declaration's header, and the shim define that selects it.
    for header in own {
        let define = headers::APPLE_OWN.iter().find(|(h, _)| h == header).map_or("", |(_, d)| d);
        let _ = writeln!(m, "own_header\t{header}\t{define}");
    }
    let path = out_dir.join(format!("{}.manifest", os.module()));
    if let Err(e) = std::fs::write(&path, m) {
        crate::fail(&format!("could not write {}: {e}", path.display()));
    }
}
