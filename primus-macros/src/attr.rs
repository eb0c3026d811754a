//! Reading `#[primus(..)]` and option lists, shared by every macro.
//!
//! The readers record mistakes in the [`Ctxt`] and go on with the next
//! option, so that one build reports every mistake of an item.

use crate::case::distance;
use crate::ctxt::Ctxt;
use proc_macro2::TokenTree;
use syn::meta::ParseNestedMeta;
use syn::parse::discouraged::Speculative;
use syn::parse::ParseStream;
use syn::{Attribute, Expr, LitStr, Path, Token, Type};

/// `"did you mean `order`? "` when `key` is close to one of `known`, else
/// nothing.
pub(crate) fn did_you_mean(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .filter(|candidate| distance(key, candidate) <= 2)
        .min_by_key(|candidate| distance(key, candidate))
        .map(|candidate| format!("did you mean `{candidate}`? "))
        .unwrap_or_default()
}

/// The last segment of `path` as text (`order` for `order`), for messages.
pub(crate) fn key_name(path: &Path) -> String {
    path.segments
        .last()
        .map(|segment| segment.ident.to_string())
        .unwrap_or_default()
}

/// Skips the value of an option that was rejected (`= value` or `(..)`), so
/// that the options after it are still read.
pub(crate) fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let input = meta.input;
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        skip_to_comma(input)
    } else if input.peek(syn::token::Paren) {
        input.parse::<TokenTree>().map(drop)
    } else {
        Ok(())
    }
}

/// Skips one option value: an expression or a type (`Vec<A, B>` has a comma
/// that is not a separator), or else every token up to the next comma.
pub(crate) fn skip_to_comma(input: ParseStream<'_>) -> syn::Result<()> {
    let ends = |fork: ParseStream<'_>| fork.is_empty() || fork.peek(Token![,]);
    let fork = input.fork();
    if fork.parse::<Expr>().is_ok() && ends(&fork) {
        input.advance_to(&fork);
        return Ok(());
    }
    let fork = input.fork();
    if fork.parse::<Type>().is_ok() && ends(&fork) {
        input.advance_to(&fork);
        return Ok(());
    }
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((token, next)) = rest.token_tree() {
            if matches!(&token, TokenTree::Punct(punct) if punct.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

/// What carries an item-level `#[primus(..)]`, for messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    /// `#[primus::event]` on an enum.
    Enum,
    /// `#[primus::on]`, `#[primus_client::on]`, `#[primus::middleware]`.
    Function,
    /// `#[primus::plugin]` on an `impl` block.
    Impl,
}

/// Reads and removes the item-level `#[primus(..)]` attributes, whose only
/// option is `crate = "path"`: where generated code finds primus when the
/// dependency is renamed or reached through a re-export. Returns that path.
pub(crate) fn take_crate_option(cx: &mut Ctxt, attrs: &mut Vec<Attribute>, kind: ItemKind) -> Option<Path> {
    let mut found: Option<Path> = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("primus")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                match read_crate_path(cx, &meta)? {
                    Some(path) if found.is_none() => found = Some(path),
                    Some(_) => cx.error_spanned_by(&meta.path, "`crate` is given twice; keep one"),
                    None => {}
                }
                return Ok(());
            }
            let key = key_name(&meta.path);
            let message = match kind {
                ItemKind::Enum if key == "rename" || key == "reply" => format!(
                    "`{key}` goes on a variant, not on the enum: put `#[primus({key} = ..)]` above the variant it is about"
                ),
                _ => {
                    let hint = did_you_mean(&key, &["crate"]);
                    let (place, others) = match kind {
                        ItemKind::Enum => ("an event enum", "; variants take `rename` and `reply`"),
                        ItemKind::Function => ("a function", "; the macro's own options go in its parentheses"),
                        ItemKind::Impl => ("an `impl` block", ""),
                    };
                    format!("unknown option `{key}`; {hint}`#[primus(..)]` on {place} takes only `crate = \"path\"`{others}")
                }
            };
            cx.error_spanned_by(&meta.path, message);
            skip_value(&meta)
        });
        if let Err(error) = parsed {
            cx.push(error);
        }
    }
    attrs.retain(|attr| !attr.path().is_ident("primus"));
    found
}

/// The value of `crate`: a path in a string, as serde's `crate = ".."`, or
/// a bare path (what the compiler suggests when a string names no crate).
/// `None` when a mistake was recorded.
fn read_crate_path(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Path>> {
    let value = match meta.value() {
        Ok(value) => value,
        Err(error) => {
            cx.error(
                error.span(),
                "write `crate = \"path\"`, e.g. `#[primus(crate = \"realtime\")]`",
            );
            return skip_value(meta).map(|()| None);
        }
    };
    if value.peek(LitStr) {
        let literal: LitStr = value.parse()?;
        return Ok(match literal.parse::<Path>() {
            Ok(path) => Some(path),
            Err(_) => {
                cx.error(
                    literal.span(),
                    format!(
                        "`{}` is not a path; write the name your `Cargo.toml` gives primus, e.g. `crate = \"realtime\"` or `crate = \"primus_client::primus\"`",
                        literal.value()
                    ),
                );
                None
            }
        });
    }
    match value.parse::<Path>() {
        Ok(path) => Ok(Some(path)),
        Err(error) => {
            cx.error(
                error.span(),
                "`crate` takes a path in a string, e.g. `#[primus(crate = \"realtime\")]`",
            );
            skip_to_comma(value).map(|()| None)
        }
    }
}
