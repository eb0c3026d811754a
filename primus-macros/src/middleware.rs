//! `#[primus::middleware(..)]`: registers an async function as a named
//! middleware layer.

use crate::case::distance;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, LitBool, LitInt, LitStr, Token};

struct Options {
    name: Option<LitStr>,
    http: bool,
    upgrade: bool,
    order: i32,
}

const KEYS: [&str; 4] = ["name", "http", "upgrade", "order"];

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Options> {
        let mut options = Options {
            name: None,
            http: true,
            upgrade: true,
            order: 0,
        };
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input
                .parse::<Token![=]>()
                .map_err(|e| syn::Error::new(e.span(), format!("write `{key} = value`")))?;
            match key.to_string().as_str() {
                "name" => options.name = Some(input.parse()?),
                "http" => options.http = input.parse::<LitBool>()?.value,
                "upgrade" => options.upgrade = input.parse::<LitBool>()?.value,
                "order" => options.order = input.parse::<LitInt>()?.base10_parse()?,
                other => {
                    let hint = KEYS
                        .iter()
                        .filter(|k| distance(other, k) <= 2)
                        .map(|k| format!("did you mean `{k}`? "))
                        .next()
                        .unwrap_or_default();
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown option `{other}`; {hint}`#[primus::middleware(..)]` accepts `name = \"...\"`, `http = bool`, `upgrade = bool`, `order = <integer>`"),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(options)
    }
}

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let function: ItemFn = syn::parse2(input)
        .map_err(|e| syn::Error::new(e.span(), "`#[primus::middleware]` goes on an `async fn`"))?;
    // On a misuse the function is still emitted, so the only error is ours.
    match registration(args, &function) {
        Ok(registration) => Ok(quote!(#function #registration)),
        Err(error) => {
            let error = error.into_compile_error();
            Ok(quote!(#function #error))
        }
    }
}

fn registration(args: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let options: Options = syn::parse2(args)?;
    let signature = &function.sig;
    let shape = "a middleware is `async fn(request: primus::middleware::HttpRequest) -> Outcome`";
    if signature.asyncness.is_none() {
        return Err(syn::Error::new(
            signature.fn_token.span,
            format!("middleware must be `async fn`: write `async fn` here ({shape})"),
        ));
    }
    if !options.http && !options.upgrade {
        return Err(syn::Error::new(
            signature.ident.span(),
            "this middleware runs neither for HTTP (`http = false`) nor for upgrades (`upgrade = false`)",
        ));
    }
    let argument = match signature.inputs.iter().collect::<Vec<_>>().as_slice() {
        [FnArg::Typed(argument)] => argument.ty.clone(),
        [] => {
            return Err(syn::Error::new(
                signature.paren_token.span.join(),
                format!("this middleware takes no request: {shape}"),
            ))
        }
        [_, extra, ..] => {
            return Err(syn::Error::new(
                extra.span(),
                format!("a middleware takes exactly one argument: {shape}"),
            ))
        }
        [FnArg::Receiver(receiver)] => {
            return Err(syn::Error::new(
                receiver.span(),
                format!("a middleware is a free function: {shape}"),
            ))
        }
    };
    let name = &signature.ident;
    let name_text = options
        .name
        .as_ref()
        .map_or_else(|| name.to_string(), LitStr::value);
    let (http, upgrade, order) = (options.http, options.upgrade, options.order);
    // Spanned on the argument type: a wrong type is reported there.
    let check = quote_spanned! {argument.span()=>
        fn __primus_request_type(request: ::primus::__private::HttpRequest) -> #argument {
            <#argument as ::primus::__private::MiddlewareArgument>::from_request(request)
        }
    };
    let make = quote_spanned! {name.span()=>
        fn __primus_make_middleware() -> ::primus::__private::MiddlewareFnBox {
            ::primus::__private::MiddlewareFnBox::new(|request| #name(__primus_request_type(request)))
        }
    };
    Ok(quote! {
        #[doc(hidden)]
        const _: () = {
            #check
            #make

            ::primus::__private::inventory::submit! {
                ::primus::__private::MiddlewareRegistration {
                    name: #name_text,
                    runs: ::primus::__private::Runs { http: #http, upgrade: #upgrade },
                    order: #order,
                    make: __primus_make_middleware,
                }
            }
        };
    })
}
