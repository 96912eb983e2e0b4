//! Turns the generated surface into checks, each a C expression and a Rust
//! expression for the same value, and writes the two probe sources.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use crate::bindings::{Field, Item};

/// Width of the buffer a string constant is compared in.
pub const BYTES: usize = 256;

/// One value to compare.
#[derive(Debug, Clone)]
pub struct Check {
    /// What is compared, as a C programmer would write it.
    pub label: String,
    /// The exported item this check covers.
    pub item: String,
    /// The value through the C compiler, straight from the headers' macros and types.
    pub c_expr: String,
    /// The value as utun-sys has it (path relative to `m`, the bindings module).
    pub rust_expr: String,
    /// A string constant (compared as `BYTES` zero-padded bytes), not a number.
    pub bytes: bool,
    /// The value rests on utun-sys's own declaration of a header the SDK lacked.
    pub own: bool,
    /// In `--own-declarations` mode: the C side of this check compiles the
    /// real header the own declaration stands in for (the reference headers
    /// have it), so equality proves the own declaration.
    pub proven: bool,
}

/// The checks, and the exported items no check covers.
#[derive(Debug, Default)]
pub struct Plan {
    pub checks: Vec<Check>,
    pub uncovered: Vec<(String, String)>,
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
    "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override",
    "priv", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// bindgen appends `_` to C names that are Rust keywords (`type` -> `type_`).
fn c_field_name(rust: &str) -> &str {
    match rust.strip_suffix('_') {
        Some(stem) if RUST_KEYWORDS.contains(&stem) => stem,
        _ => rust,
    }
}

/// The functions utun-sys declares itself, with the type XNU gives them:
/// Apple's private batch socket calls (utun-sys shim/apple/own/socket_private.h),
/// which no SDK header declares. Each is `(name, C type, Rust type)`, the C
/// type as bsd/sys/socket_private.h prototypes it (bsd/kern/syscalls.master
/// 480 and 481: `int s, struct msghdr_x *msgp, u_int cnt, int flags`,
/// returning `user_ssize_t`). The check: the C compiler finds the shim's
/// declaration of that type (`__builtin_types_compatible_p`, 1), and the Rust
/// declaration coerces to the same signature.
const OWN_FUNCTIONS: &[(&str, &str, &str)] = &[
    (
        "recvmsg_x",
        "ssize_t(int, const struct msghdr_x *, u_int, int)",
        "unsafe extern \"C\" fn(::core::ffi::c_int, *const m::msghdr_x, m::u_int, ::core::ffi::c_int) -> isize",
    ),
    (
        "sendmsg_x",
        "ssize_t(int, const struct msghdr_x *, u_int, int)",
        "unsafe extern \"C\" fn(::core::ffi::c_int, *const m::msghdr_x, m::u_int, ::core::ffi::c_int) -> isize",
    ),
];

/// Builds the plan. `own_names` are the names (macros, structs) that utun-sys's
/// own declarations supplied for this build; `proven_names` those of them
/// whose real header the C probe compiles instead (`--own-declarations`).
pub fn plan(items: &[Item], own_names: &BTreeSet<String>, proven_names: &BTreeSet<String>) -> Plan {
    let records: HashMap<&str, (bool, &[Field])> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record { name, union, fields } => Some((name.as_str(), (*union, fields.as_slice()))),
            _ => None,
        })
        .collect();
    let mut plan = Plan::default();
    for item in items {
        match item {
            Item::Const { name, bytes, .. } => {
                let own = own_names.contains(name);
                let proven = own && proven_names.contains(name);
                let rust_expr = if *bytes { format!("pad(m::{name})") } else { format!("(m::{name} as i64) as u64") };
                plan.checks.push(Check {
                    label: name.clone(),
                    item: name.clone(),
                    c_expr: name.clone(),
                    rust_expr,
                    bytes: *bytes,
                    own,
                    proven,
                });
            }
            Item::Alias { name } => {
                let is_enum = items.iter().any(|i| matches!(i, Item::Const { ty, .. } if ty == name));
                let c_type = if is_enum && !name.starts_with("_bindgen_ty_") {
                    // A named enum whose constants bindgen typed with this alias.
                    format!("enum {name}")
                } else if name.starts_with("_bindgen_ty_") {
                    // An anonymous enum: C names it only through its constants.
                    match items.iter().find(|i| matches!(i, Item::Const { ty, .. } if ty == name)) {
                        Some(first) => format!("__typeof__({})", first.name()),
                        None => {
                            plan.uncovered.push((name.clone(), "anonymous enum with no constant".into()));
                            continue;
                        }
                    }
                } else {
                    name.clone()
                };
                plan.checks.push(Check {
                    label: format!("sizeof({name})"),
                    item: name.clone(),
                    c_expr: format!("sizeof({c_type})"),
                    rust_expr: format!("::core::mem::size_of::<m::{name}>() as u64"),
                    bytes: false,
                    own: false,
                    proven: false,
                });
            }
            Item::Record { name, .. } if name.starts_with("__Bindgen") => {
                // bindgen's own helper (the storage of an opaque type): no C
                // counterpart; the size and alignment of the type using it are checked.
            }
            Item::Record { name, fields, .. } => {
                let Some((c_type, root)) = c_record_type(name, &records, 0) else {
                    plan.uncovered.push((name.clone(), "anonymous record whose parent field was not found".into()));
                    continue;
                };
                let own = own_names.contains(&root);
                let proven = own && proven_names.contains(&root);
                let shown = if c_type.starts_with("__typeof__") { name.clone() } else { c_type.clone() };
                let mut push = |label: String, c_expr: String, rust_expr: String| {
                    plan.checks.push(Check { label, item: name.clone(), c_expr, rust_expr, bytes: false, own, proven })
                };
                push(
                    format!("sizeof({shown})"),
                    format!("sizeof({c_type})"),
                    format!("::core::mem::size_of::<m::{name}>() as u64"),
                );
                push(
                    format!("alignof({shown})"),
                    format!("_Alignof({c_type})"),
                    format!("::core::mem::align_of::<m::{name}>() as u64"),
                );
                for f in fields {
                    if f.name == "_bindgen_opaque_blob" {
                        // bindgen's opaque type: only its size and alignment mean anything.
                        continue;
                    }
                    if f.name.starts_with("_bitfield") || f.name.starts_with("__bindgen") {
                        plan.uncovered.push((format!("{name}.{}", f.name), "bitfield or anonymous member".into()));
                        continue;
                    }
                    let c = c_field_name(&f.name);
                    push(
                        format!("offsetof({shown}, {c})"),
                        format!("__builtin_offsetof({c_type}, {c})"),
                        format!("::core::mem::offset_of!(m::{name}, {}) as u64", f.name),
                    );
                    push(
                        format!("sizeof({shown}.{c})"),
                        format!("sizeof((({c_type} *)0)->{c})"),
                        format!(
                            "{{ let u = ::core::mem::MaybeUninit::<m::{name}>::uninit(); \
                             sz(unsafe {{ &raw const (*u.as_ptr()).{} }}) as u64 }}",
                            f.name
                        ),
                    );
                }
            }
            Item::Other { name, what } if what == "extern item" => {
                match OWN_FUNCTIONS.iter().find(|(function, ..)| function == name) {
                    Some((_, c_type, rust_type)) => plan.checks.push(Check {
                        label: format!("{name}: {c_type}"),
                        item: name.clone(),
                        c_expr: format!("__builtin_types_compatible_p(__typeof__({name}), {c_type})"),
                        // A declaration of another type does not coerce: the probe fails to build.
                        rust_expr: format!("{{ let _f: {rust_type} = m::{name}; 1u64 }}"),
                        bytes: false,
                        own: false,
                        proven: false,
                    }),
                    None => plan.uncovered.push((name.clone(), what.clone())),
                }
            }
            Item::Other { name, what } => plan.uncovered.push((name.clone(), what.clone())),
        }
    }
    plan
}

/// The C type of a generated record, and the named record it belongs to.
/// bindgen names an anonymous struct or union inside `parent` as
/// `parent__bindgen_ty_N`; C reaches it through the parent's field.
fn c_record_type(name: &str, records: &HashMap<&str, (bool, &[Field])>, depth: usize) -> Option<(String, String)> {
    let (union, _) = records.get(name)?;
    let Some(at) = name.rfind("__bindgen_ty_") else {
        let kw = if *union { "union" } else { "struct" };
        return Some((format!("{kw} {name}"), name.to_string()));
    };
    if depth > 8 {
        return None;
    }
    let parent = &name[..at];
    let (_, parent_fields) = records.get(parent)?;
    let field = parent_fields.iter().find(|f| f.ty == name)?;
    let (parent_c, root) = c_record_type(parent, records, depth + 1)?;
    Some((format!("__typeof__((({parent_c} *)0)->{})", c_field_name(&field.name)), root))
}

/// Names declared by utun-sys's own stand-in headers (macros and structs).
pub fn declared_names(header_text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in header_text.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("#define"), Some(name)) if !name.starts_with("UTUN_OWN") => {
                names.insert(name.split('(').next().unwrap_or(name).to_string());
            }
            (Some("struct"), Some(name)) if line.trim_end().ends_with('{') => {
                names.insert(name.to_string());
            }
            _ => {}
        }
    }
    names
}

/// The C probe: one external constant per check.
pub fn c_source(shim: &str, checks: &[Check]) -> String {
    let mut s = format!(
        "/* Generated by cargo xtask verify-constants: every value straight from the headers. */\n\
         #include \"{shim}\"\n"
    );
    for (i, c) in checks.iter().enumerate() {
        if c.bytes {
            let _ = writeln!(s, "__attribute__((used)) const char utun_probe_{i}[{BYTES}] = {};", c.c_expr);
        } else {
            let _ = writeln!(
                s,
                "__attribute__((used)) const unsigned long long utun_probe_{i} = (unsigned long long)(long long)({});",
                c.c_expr
            );
        }
    }
    s
}

/// The Rust probe: the same values as utun-sys has them. `inject` perturbs one
/// item's values, to prove that a wrong value is caught.
pub fn rust_source(module: &str, checks: &[Check], inject: Option<&str>) -> String {
    let mut s = format!(
        "// Generated by cargo xtask verify-constants: every value as utun-sys has it.\n\
         #![no_std]\n#![allow(non_upper_case_globals, unused_unsafe, unused_parens)]\n\
         use utun_sys::{module} as m;\n\
         const fn pad<const N: usize>(s: &[u8; N]) -> [u8; {BYTES}] {{\n\
         \x20   let mut out = [0u8; {BYTES}];\n    let mut i = 0;\n\
         \x20   while i < N && i < {BYTES} {{ out[i] = s[i]; i += 1; }}\n    out\n}}\n\
         #[allow(dead_code)]\nconst fn sz<T>(_: *const T) -> usize {{ ::core::mem::size_of::<T>() }}\n"
    );
    for (i, c) in checks.iter().enumerate() {
        let perturbed = inject == Some(c.item.as_str());
        let (ty, expr) = match (c.bytes, perturbed) {
            (true, false) => (format!("[u8; {BYTES}]"), c.rust_expr.clone()),
            (true, true) => (format!("[u8; {BYTES}]"), format!("{{ let mut v = {}; v[0] ^= 1; v }}", c.rust_expr)),
            (false, false) => ("u64".to_string(), c.rust_expr.clone()),
            (false, true) => ("u64".to_string(), format!("({}).wrapping_add(1)", c.rust_expr)),
        };
        let _ = writeln!(s, "#[unsafe(no_mangle)]\n#[used]\npub static utun_probe_{i}: {ty} = {expr};");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::parse;

    #[test]
    fn anonymous_members_are_reached_through_their_parent() {
        let items = parse(
            "pub struct ifreq { pub ifr_name: [u8; 16], pub ifr_ifru: ifreq__bindgen_ty_1 }
             pub union ifreq__bindgen_ty_1 { pub ifru_flags: i16, pub type_: u32 }",
        )
        .unwrap();
        let plan = plan(&items, &BTreeSet::new(), &BTreeSet::new());
        assert!(plan.uncovered.is_empty(), "{:?}", plan.uncovered);
        let c: Vec<_> = plan.checks.iter().map(|c| c.c_expr.as_str()).collect();
        assert!(c.contains(&"sizeof(struct ifreq)"));
        assert!(c.contains(&"__builtin_offsetof(__typeof__(((struct ifreq *)0)->ifr_ifru), ifru_flags)"));
        // bindgen's `type_` is C's `type`.
        assert!(c.contains(&"__builtin_offsetof(__typeof__(((struct ifreq *)0)->ifr_ifru), type)"));
    }

    #[test]
    fn items_no_check_can_cover_are_reported() {
        let items = parse(
            "pub struct s { pub _bitfield_1: u8 }
             pub fn f() {}
             pub type _bindgen_ty_9 = u32;
             pub union orphan__bindgen_ty_1 { pub a: u8 }",
        )
        .unwrap();
        let plan = plan(&items, &BTreeSet::new(), &BTreeSet::new());
        let names: Vec<_> = plan.uncovered.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["s._bitfield_1", "f", "_bindgen_ty_9", "orphan__bindgen_ty_1"]);
    }

    #[test]
    fn own_declarations_are_marked() {
        let names =
            declared_names("#define SIOCAIFADDR_IN6 _IOW('i', 26, struct in6_aliasreq)\nstruct in6_aliasreq {\n");
        assert!(names.contains("SIOCAIFADDR_IN6") && names.contains("in6_aliasreq"));
        let items = parse("pub const SIOCAIFADDR_IN6: u64 = 1; pub const AF_INET: u32 = 2;").unwrap();
        let plan = plan(&items, &names, &BTreeSet::new());
        assert!(plan.checks[0].own && !plan.checks[1].own);
        assert!(!plan.checks[0].proven, "nothing proven without the real header");
        let plan = super::plan(&items, &names, &names);
        assert!(plan.checks[0].proven && !plan.checks[1].proven);
    }
}
