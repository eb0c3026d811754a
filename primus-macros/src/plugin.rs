//! `#[primus::plugin]`: registers a plugin type so that
//! `handlers_from_registry` adds it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl};

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let item: ItemImpl = syn::parse2(input).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[primus::plugin]` goes on the `impl primus::Plugin for YourType { .. }` block",
        )
    })?;
    // On a misuse the impl is still emitted, so the only error is ours.
    match registration(args, &item) {
        Ok(registration) => Ok(quote!(#item #registration)),
        Err(error) => {
            let error = error.into_compile_error();
            Ok(quote!(#item #error))
        }
    }
}

fn registration(args: TokenStream, item: &ItemImpl) -> syn::Result<TokenStream> {
    if !args.is_empty() {
        return Err(syn::Error::new(
            args.span(),
            "`#[primus::plugin]` takes no arguments",
        ));
    }
    let Some((_, trait_path, _)) = &item.trait_ else {
        return Err(syn::Error::new(
            item.self_ty.span(),
            "`#[primus::plugin]` goes on the `impl primus::Plugin for YourType` block, not an inherent impl",
        ));
    };
    if trait_path.segments.last().map(|s| s.ident.to_string()).as_deref() != Some("Plugin") {
        return Err(syn::Error::new(
            trait_path.span(),
            "`#[primus::plugin]` goes on an implementation of `primus::Plugin`",
        ));
    }
    if let Some(param) = item.generics.params.first() {
        return Err(syn::Error::new(
            param.span(),
            "a registered plugin cannot be generic: the registry makes it with `Default::default()`",
        ));
    }
    let defines = |name: &str| {
        item.items
            .iter()
            .any(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == name))
    };
    if !defines("server") && !defines("browser") {
        return Err(syn::Error::new(
            item.self_ty.span(),
            "this plugin has neither a server part nor a browser part: add `fn server(&self, setup: &mut PluginSetup<'_>)` or `fn browser(&self) -> Option<&'static str>`",
        ));
    }
    let self_ty = &item.self_ty;
    let type_name = self_ty.to_token_stream().to_string();
    let make = quote_spanned! {self_ty.span()=>
        fn __primus_make_plugin() -> ::std::boxed::Box<dyn ::primus::__private::Plugin> {
            ::std::boxed::Box::new(<#self_ty as ::core::default::Default>::default())
        }
    };
    Ok(quote! {
        #[doc(hidden)]
        const _: () = {
            #make

            ::primus::__private::inventory::submit! {
                ::primus::__private::PluginRegistration {
                    type_name: #type_name,
                    make: __primus_make_plugin,
                }
            }
        };
    })
}
