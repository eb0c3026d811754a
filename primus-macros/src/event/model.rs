//! The parsed form of an event enum.
//!
//! [`EventEnum::parse`] reads the whole enum and records every misuse in the
//! [`Ctxt`]; the model is only handed to the generator when there is none.

use crate::attr::{did_you_mean, key_name, skip_to_comma, skip_value, take_crate_option, ItemKind};
use crate::case::snake_case;
use crate::ctxt::Ctxt;
use crate::glue::{Glue, Runtime};
use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Attribute, Fields, Ident, ItemEnum, LitStr, Type, Variant, Visibility};

pub(crate) struct EventEnum {
    /// Where generated code finds primus.
    pub(crate) glue: Glue,
    /// The enum as written, minus `#[primus(..)]` attributes.
    pub(crate) item: ItemEnum,
    pub(crate) variants: Vec<EventVariant>,
}

pub(crate) struct EventVariant {
    pub(crate) ident: Ident,
    pub(crate) wire_name: String,
    pub(crate) shape: Shape,
    pub(crate) reply: Option<Type>,
    /// Where a clash of wire names is reported: the `rename` string, or the
    /// variant's name.
    name_span: Span,
}

pub(crate) enum Shape {
    Unit,
    /// Tuple fields (one field: a newtype variant).
    Tuple(Vec<Type>),
    /// Named fields.
    Struct(Vec<(Ident, Type, Visibility)>),
}

/// Enum-level serde options that would change the wire shape.
const SERDE_SHAPE_KEYS: [&str; 5] = ["tag", "content", "untagged", "rename_all", "rename_all_fields"];

impl EventEnum {
    /// Reads `#[primus::event]`'s arguments and the enum. `None` when the
    /// item is not an enum; every problem is recorded in `cx`.
    pub(crate) fn parse(cx: &mut Ctxt, args: TokenStream, input: TokenStream) -> Option<EventEnum> {
        if !args.is_empty() {
            cx.error(
                args.span(),
                "`#[primus::event]` takes no arguments; put options on variants, e.g. `#[primus(rename = \"name\")]`, and the crate path in `#[primus(crate = \"...\")]` under this attribute",
            );
        }
        let mut item: ItemEnum = match syn::parse2(input.clone()) {
            Ok(item) => item,
            Err(_) => {
                cx.push(not_an_enum(input));
                return None;
            }
        };
        let krate = take_crate_option(cx, &mut item.attrs, ItemKind::Enum);
        check_enum_attributes(cx, &item.attrs);
        if item.variants.is_empty() {
            cx.error(
                item.ident.span(),
                "an event enum needs at least one variant: each variant is one event",
            );
        }
        let mut variants: Vec<EventVariant> = Vec::new();
        for variant in &mut item.variants {
            let event = EventVariant::parse(cx, variant);
            if let Some(other) = variants.iter().find(|other| other.wire_name == event.wire_name) {
                cx.error(
                    event.name_span,
                    format!(
                        "`{}` and `{}` are both named `{}` on the wire; give one another name with `#[primus(rename = \"...\")]`",
                        event.ident, other.ident, event.wire_name
                    ),
                );
            }
            variants.push(event);
            variant.attrs.retain(|attr| !attr.path().is_ident("primus"));
        }
        Some(EventEnum {
            glue: Glue::resolve(Runtime::Primus, krate),
            item,
            variants,
        })
    }
}

impl EventVariant {
    fn parse(cx: &mut Ctxt, variant: &Variant) -> EventVariant {
        let options = VariantOptions::parse(cx, &variant.attrs);
        if let Some((eq, _)) = &variant.discriminant {
            cx.error(
                eq.span,
                "event variants cannot have explicit discriminants: events are named on the wire, not numbered",
            );
        }
        let wire_name = options
            .rename
            .as_ref()
            .map_or_else(|| snake_case(&variant.ident.to_string()), LitStr::value);
        let name_span = options.rename.as_ref().map_or(variant.ident.span(), LitStr::span);
        let shape = match &variant.fields {
            Fields::Unit => Shape::Unit,
            Fields::Unnamed(fields) => Shape::Tuple(fields.unnamed.iter().map(|f| f.ty.clone()).collect()),
            Fields::Named(fields) => Shape::Struct(
                fields
                    .named
                    .iter()
                    .filter_map(|f| f.ident.clone().map(|ident| (ident, f.ty.clone(), f.vis.clone())))
                    .collect(),
            ),
        };
        EventVariant {
            ident: variant.ident.clone(),
            wire_name,
            shape,
            reply: options.reply,
            name_span,
        }
    }
}

fn not_an_enum(input: TokenStream) -> syn::Error {
    match syn::parse2::<syn::Item>(input) {
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

/// Attributes that would fight the wire shape the macro sets up: a derive of
/// `Serialize`/`Deserialize`, and enum-level serde options of the shape.
fn check_enum_attributes(cx: &mut Ctxt, attrs: &[Attribute]) {
    for attr in attrs {
        let parsed = if attr.path().is_ident("derive") {
            attr.parse_nested_meta(|meta| {
                let name = key_name(&meta.path);
                if name == "Serialize" || name == "Deserialize" {
                    cx.error_spanned_by(
                        &meta.path,
                        format!("remove `{name}` from this derive: `#[primus::event]` derives `Serialize` and `Deserialize` itself, with the Primus wire shape"),
                    );
                }
                Ok(())
            })
        } else if attr.path().is_ident("serde") {
            attr.parse_nested_meta(|meta| {
                if let Some(key) = SERDE_SHAPE_KEYS.iter().find(|key| meta.path.is_ident(key)) {
                    cx.error_spanned_by(
                        &meta.path,
                        format!(
                            "`#[serde({key})]` conflicts with the event wire shape set by `#[primus::event]` (`{{\"event\":…,\"data\":…}}` with snake_case names); rename single variants with `#[primus(rename = \"...\")]`"
                        ),
                    );
                }
                skip_value(&meta)
            })
        } else {
            Ok(())
        };
        if let Err(error) = parsed {
            cx.push(error);
        }
    }
}

#[derive(Default)]
struct VariantOptions {
    rename: Option<LitStr>,
    reply: Option<Type>,
}

const VARIANT_KEYS: [&str; 2] = ["rename", "reply"];

impl VariantOptions {
    /// Reads `#[primus(..)]` of a variant; rejects serde's renames there.
    fn parse(cx: &mut Ctxt, attrs: &[Attribute]) -> VariantOptions {
        let mut options = VariantOptions::default();
        for attr in attrs {
            let parsed = if attr.path().is_ident("serde") {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") || meta.path.is_ident("alias") {
                        cx.error_spanned_by(
                            &meta.path,
                            "rename events with `#[primus(rename = \"...\")]` instead of serde attributes",
                        );
                    }
                    skip_value(&meta)
                })
            } else if attr.path().is_ident("primus") {
                attr.parse_nested_meta(|meta| options.read(cx, &meta))
            } else {
                Ok(())
            };
            if let Err(error) = parsed {
                cx.push(error);
            }
        }
        options
    }

    /// Reads one `key = value` of a variant's `#[primus(..)]`.
    fn read(&mut self, cx: &mut Ctxt, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = key_name(&meta.path);
        if !meta.path.is_ident("rename") && !meta.path.is_ident("reply") {
            let hint = did_you_mean(&key, &VARIANT_KEYS);
            let extra = if key == "crate" {
                "; `crate` goes on the enum"
            } else {
                ""
            };
            cx.error_spanned_by(
                &meta.path,
                format!("unknown option `{key}`; {hint}`#[primus(..)]` on a variant accepts `rename = \"name\"` and `reply = Type`{extra}"),
            );
            return skip_value(meta);
        }
        let twice = match key.as_str() {
            "rename" => self.rename.is_some(),
            _ => self.reply.is_some(),
        };
        if twice {
            cx.error_spanned_by(
                &meta.path,
                format!("`{key}` is given twice on this variant; keep one"),
            );
        }
        let value = match meta.value() {
            Ok(value) => value,
            Err(_) => {
                let example = if key == "rename" {
                    "rename = \"name\""
                } else {
                    "reply = Type"
                };
                cx.error_spanned_by(&meta.path, format!("write `{example}`"));
                return skip_value(meta);
            }
        };
        if key == "rename" {
            match value.parse::<LitStr>() {
                Ok(name) if name.value().is_empty() => cx.error(name.span(), "an event name cannot be empty"),
                Ok(name) => self.rename = Some(name),
                Err(error) => {
                    cx.error(
                        error.span(),
                        "`rename` takes a string, e.g. `rename = \"whisper\"`",
                    );
                    return skip_to_comma(value);
                }
            }
        } else {
            match value.parse::<Type>() {
                Ok(ty) => self.reply = Some(ty),
                Err(error) => {
                    cx.error(
                        error.span(),
                        "`reply` takes the reply's type, e.g. `reply = Vec<String>`",
                    );
                    return skip_to_comma(value);
                }
            }
        }
        Ok(())
    }
}
