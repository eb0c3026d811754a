//! The parsed form of an event enum, validated.

use crate::case::{distance, snake_case};
use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::{Attribute, Fields, Ident, ItemEnum, LitStr, Type, Visibility};

pub(crate) struct EventEnum {
    /// The enum as written, minus `#[primus(..)]` attributes.
    pub(crate) item: ItemEnum,
    pub(crate) variants: Vec<EventVariant>,
}

pub(crate) struct EventVariant {
    pub(crate) ident: Ident,
    pub(crate) wire_name: String,
    pub(crate) shape: Shape,
    pub(crate) reply: Option<Type>,
}

pub(crate) enum Shape {
    Unit,
    /// Tuple fields (one field: a newtype variant).
    Tuple(Vec<Type>),
    /// Named fields.
    Struct(Vec<(Ident, Type, Visibility)>),
}

impl EventEnum {
    pub(crate) fn parse(args: TokenStream, input: TokenStream) -> syn::Result<EventEnum> {
        if !args.is_empty() {
            return Err(syn::Error::new(
                args.span(),
                "`#[primus::event]` takes no arguments; put options on variants, e.g. `#[primus(rename = \"name\")]`",
            ));
        }
        let mut item: ItemEnum = match syn::parse2(input.clone()) {
            Ok(item) => item,
            Err(_) => return Err(not_an_enum(input)),
        };
        check_enum_attributes(&item.attrs)?;
        if item.variants.is_empty() {
            return Err(syn::Error::new(
                item.ident.span(),
                "an event enum needs at least one variant: each variant is one event",
            ));
        }
        let mut variants = Vec::new();
        let mut seen: Vec<(String, Ident)> = Vec::new();
        for variant in &mut item.variants {
            let options = VariantOptions::take(&mut variant.attrs)?;
            if let Some((_, span)) = variant.discriminant.as_ref().map(|(eq, _)| ((), eq.span)) {
                return Err(syn::Error::new(
                    span,
                    "event variants cannot have explicit discriminants: events are named on the wire, not numbered",
                ));
            }
            let wire_name = options
                .rename
                .as_ref()
                .map_or_else(|| snake_case(&variant.ident.to_string()), LitStr::value);
            let name_span = options.rename.as_ref().map_or(variant.ident.span(), LitStr::span);
            if let Some((_, other)) = seen.iter().find(|(name, _)| *name == wire_name) {
                return Err(syn::Error::new(
                    name_span,
                    format!(
                        "`{}` and `{other}` are both named `{wire_name}` on the wire; give one another name with `#[primus(rename = \"...\")]`",
                        variant.ident
                    ),
                ));
            }
            seen.push((wire_name.clone(), variant.ident.clone()));
            let shape = match &variant.fields {
                Fields::Unit => Shape::Unit,
                Fields::Unnamed(fields) => {
                    Shape::Tuple(fields.unnamed.iter().map(|f| f.ty.clone()).collect())
                }
                Fields::Named(fields) => Shape::Struct(
                    fields
                        .named
                        .iter()
                        .filter_map(|f| f.ident.clone().map(|ident| (ident, f.ty.clone(), f.vis.clone())))
                        .collect(),
                ),
            };
            variants.push(EventVariant {
                ident: variant.ident.clone(),
                wire_name,
                shape,
                reply: options.reply,
            });
        }
        Ok(EventEnum { item, variants })
    }
}

fn not_an_enum(input: TokenStream) -> syn::Error {
    match syn::parse2::<syn::Item>(input.clone()) {
        Ok(syn::Item::Struct(item)) => syn::Error::new(
            item.struct_token.span,
            "`#[primus::event]` goes on an enum whose variants are the events; wrap this struct in a variant, e.g. `enum ClientEvent { Say(MyStruct) }`",
        ),
        Ok(syn::Item::Union(item)) => syn::Error::new(
            item.union_token.span,
            "`#[primus::event]` cannot be used on a union: serde cannot represent unions; use an enum",
        ),
        Ok(other) => syn::Error::new(other.span(), "`#[primus::event]` goes on an enum"),
        Err(error) => error,
    }
}

/// Attributes that would fight the wire shape the macro sets up.
fn check_enum_attributes(attrs: &[Attribute]) -> syn::Result<()> {
    for attr in attrs {
        if attr.path().is_ident("derive") {
            let mut result = Ok(());
            attr.parse_nested_meta(|meta| {
                let name = meta.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                if name == "Serialize" || name == "Deserialize" {
                    result = Err(syn::Error::new_spanned(
                        &meta.path,
                        format!("remove `{name}` from this derive: `#[primus::event]` derives `Serialize` and `Deserialize` itself, with the Primus wire shape"),
                    ));
                }
                Ok(())
            })?;
            result?;
        }
        if attr.path().is_ident("serde") {
            attr.parse_nested_meta(|meta| {
                for key in ["tag", "content", "untagged", "rename_all", "rename_all_fields"] {
                    if meta.path.is_ident(key) {
                        return Err(meta.error(format!(
                            "`#[serde({key})]` conflicts with the event wire shape set by `#[primus::event]` (`{{\"event\":…,\"data\":…}}` with snake_case names); rename single variants with `#[primus(rename = \"...\")]`"
                        )));
                    }
                }
                if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                    let _ = meta.value()?.parse::<syn::Expr>()?;
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

#[derive(Default)]
struct VariantOptions {
    rename: Option<LitStr>,
    reply: Option<Type>,
}

impl VariantOptions {
    /// Reads and removes `#[primus(..)]`; rejects `#[serde(rename)]`.
    fn take(attrs: &mut Vec<Attribute>) -> syn::Result<VariantOptions> {
        let mut options = VariantOptions::default();
        for attr in attrs.iter() {
            if attr.path().is_ident("serde") {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") || meta.path.is_ident("alias") {
                        return Err(meta.error(
                            "rename events with `#[primus(rename = \"...\")]` instead of serde attributes",
                        ));
                    }
                    if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                        let _ = meta.value()?.parse::<syn::Expr>()?;
                    }
                    Ok(())
                })?;
            }
            if !attr.path().is_ident("primus") {
                continue;
            }
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    let name: LitStr = meta.value()?.parse()?;
                    if name.value().is_empty() {
                        return Err(syn::Error::new(name.span(), "an event name cannot be empty"));
                    }
                    options.rename = Some(name);
                    Ok(())
                } else if meta.path.is_ident("reply") {
                    options.reply = Some(meta.value()?.parse()?);
                    Ok(())
                } else {
                    let key = meta.path.get_ident().map(Ident::to_string).unwrap_or_default();
                    let hint = ["rename", "reply"]
                        .into_iter()
                        .filter(|known| distance(&key, known) <= 2)
                        .min_by_key(|known| distance(&key, known))
                        .map(|known| format!("did you mean `{known}`? "))
                        .unwrap_or_default();
                    Err(syn::Error::new_spanned(
                        &meta.path,
                        format!(
                            "unknown option `{key}`; {hint}`#[primus(..)]` on a variant accepts `rename = \"name\"` and `reply = Type`"
                        ),
                    ))
                }
            })?;
        }
        attrs.retain(|attr| !attr.path().is_ident("primus"));
        Ok(options)
    }
}
