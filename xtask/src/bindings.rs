//! Reads the bindings utun-sys generated (`$OUT_DIR/<module>.rs`) and lists
//! every public item in it: the surface that verify-constants must cover.

use anyhow::{Context, Result};
use quote::ToTokens;

/// One public item of the generated bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `pub const NAME: TY = ...;` (integers, or a byte string if `bytes`).
    Const { name: String, ty: String, bytes: bool },
    /// `pub type NAME = ...;`
    Alias { name: String },
    /// `pub struct` / `pub union` with its fields in order.
    Record { name: String, union: bool, fields: Vec<Field> },
    /// Anything else public: reported as not covered.
    Other { name: String, what: String },
}

/// A field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub ty: String,
}

impl Item {
    pub fn name(&self) -> &str {
        match self {
            Item::Const { name, .. } | Item::Alias { name } | Item::Record { name, .. } | Item::Other { name, .. } => {
                name
            }
        }
    }
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

/// Parses the generated file. `impl` blocks and `const _` layout assertions
/// are not part of the surface (bindgen's layout assertions are compiled, and
/// so checked, with the crate).
pub fn parse(source: &str) -> Result<Vec<Item>> {
    let file = syn::parse_file(source).context("parsing the generated bindings")?;
    let mut items = Vec::new();
    for item in file.items {
        match item {
            syn::Item::Const(c) if c.ident == "_" => {}
            syn::Item::Const(c) if is_pub(&c.vis) => {
                let ty = c.ty.to_token_stream().to_string();
                let bytes = ty.contains("u8 ;") || ty.starts_with('&');
                items.push(Item::Const { name: c.ident.to_string(), ty, bytes });
            }
            syn::Item::Type(t) if is_pub(&t.vis) => items.push(Item::Alias { name: t.ident.to_string() }),
            syn::Item::Struct(s) if is_pub(&s.vis) => {
                let fields = match &s.fields {
                    syn::Fields::Named(named) => named.named.iter().map(field).collect(),
                    _ => Vec::new(),
                };
                items.push(Item::Record { name: s.ident.to_string(), union: false, fields });
            }
            syn::Item::Union(u) if is_pub(&u.vis) => {
                let fields = u.fields.named.iter().map(field).collect();
                items.push(Item::Record { name: u.ident.to_string(), union: true, fields });
            }
            syn::Item::Impl(_) | syn::Item::Use(_) => {}
            syn::Item::Fn(f) if is_pub(&f.vis) => {
                items.push(Item::Other { name: f.sig.ident.to_string(), what: "function".into() })
            }
            syn::Item::Static(s) if is_pub(&s.vis) => {
                items.push(Item::Other { name: s.ident.to_string(), what: "static".into() })
            }
            syn::Item::ForeignMod(m) => {
                for fi in m.items {
                    let name = match &fi {
                        syn::ForeignItem::Fn(f) => f.sig.ident.to_string(),
                        syn::ForeignItem::Static(s) => s.ident.to_string(),
                        other => other.to_token_stream().to_string(),
                    };
                    items.push(Item::Other { name, what: "extern item".into() });
                }
            }
            syn::Item::Enum(e) if is_pub(&e.vis) => {
                items.push(Item::Other { name: e.ident.to_string(), what: "enum".into() })
            }
            syn::Item::Const(_) | syn::Item::Type(_) | syn::Item::Struct(_) | syn::Item::Union(_) => {}
            syn::Item::Fn(_) | syn::Item::Static(_) | syn::Item::Enum(_) => {}
            other => {
                let text = other.to_token_stream().to_string();
                items.push(Item::Other { name: text.chars().take(40).collect(), what: "unrecognised item".into() });
            }
        }
    }
    Ok(items)
}

fn field(f: &syn::Field) -> Field {
    Field {
        name: f.ident.as_ref().map(ToString::to_string).unwrap_or_default(),
        ty: f.ty.to_token_stream().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_consts_aliases_records_and_flags_the_rest() {
        let src = r#"
            pub const A: u32 = 1;
            pub const S: &[u8; 3] = b"ab\0";
            pub type t = u32;
            #[repr(C)] pub struct s { pub x: u32, pub u: s__bindgen_ty_1 }
            #[repr(C)] pub union s__bindgen_ty_1 { pub a: u8 }
            impl Default for s { fn default() -> Self { todo!() } }
            const _: () = { };
            pub fn f() {}
            unsafe extern "C" { pub fn g(); }
        "#;
        let items = parse(src).unwrap();
        let names: Vec<_> = items.iter().map(Item::name).collect();
        assert_eq!(names, ["A", "S", "t", "s", "s__bindgen_ty_1", "f", "g"]);
        assert!(matches!(&items[1], Item::Const { bytes: true, .. }));
        assert!(matches!(&items[0], Item::Const { bytes: false, .. }));
        assert!(matches!(&items[4], Item::Record { union: true, .. }));
        assert!(matches!(&items[5], Item::Other { .. }));
        assert!(matches!(&items[6], Item::Other { .. }));
    }
}
