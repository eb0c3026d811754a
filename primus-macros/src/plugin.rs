//! `#[primus::plugin]`: registers a plugin type so that
//! `handlers_from_registry` adds it.
//!
//! [`Plugin::parse`] reads the `impl` block into the model, recording every
//! misuse; [`Plugin::generate`] runs only when there is none.

use crate::attr::{take_crate_option, ItemKind};
use crate::ctxt::Ctxt;
use crate::glue::{Glue, Runtime};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl, Type};

/// A plugin implementation, validated.
struct Plugin {
    glue: Glue,
    /// The `impl` block as written, minus `#[primus(..)]`.
    item: ItemImpl,
}

/// Reads the `impl` block into the model, then generates. On any mistake,
/// reports all of them and keeps the block, so the only errors are ours.
pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let mut item: ItemImpl = match syn::parse2(input) {
        Ok(item) => item,
        Err(error) => {
            cx.error(
                error.span(),
                "`#[primus::plugin]` goes on the `impl primus::Plugin for YourType { .. }` block",
            );
            return cx
                .check()
                .err()
                .map(syn::Error::into_compile_error)
                .unwrap_or_default();
        }
    };
    let krate = take_crate_option(&mut cx, &mut item.attrs, ItemKind::Impl);
    Plugin::check(&mut cx, &args, &item);
    match cx.check() {
        Ok(()) => Plugin {
            glue: Glue::resolve(Runtime::Primus, krate),
            item,
        }
        .generate(),
        Err(errors) => {
            let errors = errors.into_compile_error();
            quote!(#item #errors)
        }
    }
}

impl Plugin {
    /// Records every reason the block cannot be registered.
    fn check(cx: &mut Ctxt, args: &TokenStream, item: &ItemImpl) {
        if !args.is_empty() {
            cx.error(
                args.span(),
                "`#[primus::plugin]` takes no arguments; the crate path goes in `#[primus(crate = \"...\")]` under this attribute",
            );
        }
        match &item.trait_ {
            None => cx.error(
                item.self_ty.span(),
                "`#[primus::plugin]` goes on the `impl primus::Plugin for YourType` block, not an inherent impl",
            ),
            Some((_, path, _)) if path.segments.last().is_none_or(|s| s.ident != "Plugin") => cx.error(
                path.span(),
                "`#[primus::plugin]` goes on an implementation of `primus::Plugin`",
            ),
            Some(_) => {}
        }
        if let Some(param) = item.generics.params.first() {
            cx.error(
                param.span(),
                "a registered plugin cannot be generic: the registry makes it with `Default::default()`",
            );
        }
        let defines = |name: &str| {
            item.items
                .iter()
                .any(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == name))
        };
        if item.trait_.is_some() && !defines("server") && !defines("browser") {
            cx.error(
                item.self_ty.span(),
                "this plugin has neither a server part nor a browser part: add `fn server(&self, setup: &mut PluginSetup<'_>)` or `fn browser(&self) -> Option<&'static str>`",
            );
        }
    }

    fn generate(&self) -> TokenStream {
        let Plugin { glue, item } = self;
        let self_ty: &Type = &item.self_ty;
        let type_name = self_ty.to_token_stream().to_string();
        // Spanned on the type: a missing `Default` is reported there. A
        // closure, so that the boxed trait object's type is never named: the
        // registration's field type gives it.
        let make = quote_spanned! {self_ty.span()=>
            || ::std::boxed::Box::new(<#self_ty as ::core::default::Default>::default())
        };
        let import = glue.import();
        quote! {
            #item

            #[doc(hidden)]
            const _: () = {
                #import

                __primus::inventory::submit! {
                    __primus::PluginRegistration {
                        type_name: #type_name,
                        make: #make,
                    }
                }
            };
        }
    }
}
