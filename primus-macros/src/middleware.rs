//! `#[primus::middleware(..)]`: registers an async function as a named
//! middleware layer.
//!
//! [`Middleware::parse`] reads the options and the function into the model,
//! recording every misuse; [`Middleware::generate`] runs only when there is
//! none.

use crate::attr::{did_you_mean, key_name, skip_to_comma, skip_value, take_crate_option, ItemKind};
use crate::ctxt::Ctxt;
use crate::glue::{Glue, Runtime};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitBool, LitInt, LitStr, Type};

/// A middleware function, validated.
struct Middleware {
    glue: Glue,
    options: Options,
    /// The function as written, minus `#[primus(..)]`.
    function: ItemFn,
    /// The type of its one argument.
    argument: Type,
}

struct Options {
    name: Option<LitStr>,
    http: bool,
    upgrade: bool,
    order: i32,
}

const KEYS: [&str; 4] = ["name", "http", "upgrade", "order"];

const SHAPE: &str = "a middleware is `async fn(request: primus::middleware::HttpRequest) -> Outcome`";

/// Reads the function into the model, then generates. On any mistake,
/// reports all of them and keeps the function, so the only errors are ours.
pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let function: ItemFn = match syn::parse2(input) {
        Ok(function) => function,
        Err(error) => {
            cx.error(error.span(), "`#[primus::middleware]` goes on an `async fn`");
            return cx
                .check()
                .err()
                .map(syn::Error::into_compile_error)
                .unwrap_or_default();
        }
    };
    let middleware = Middleware::parse(&mut cx, args, function.clone());
    match (cx.check(), middleware) {
        (Ok(()), Some(middleware)) => middleware.generate(),
        (Err(errors), _) => {
            let errors = errors.into_compile_error();
            let mut function = function;
            function.attrs.retain(|attr| !attr.path().is_ident("primus"));
            quote!(#function #errors)
        }
        // `parse` records an error whenever it returns `None`.
        (Ok(()), None) => TokenStream::new(),
    }
}

impl Options {
    fn parse(cx: &mut Ctxt, args: TokenStream) -> Options {
        let mut options = Options {
            name: None,
            http: true,
            upgrade: true,
            order: 0,
        };
        let mut off: Vec<Span> = Vec::new();
        let parser = syn::meta::parser(|meta| options.read(cx, &meta, &mut off));
        if let Err(error) = parser.parse2(args) {
            cx.push(error);
        }
        if let (false, false, Some(span)) = (options.http, options.upgrade, off.first()) {
            cx.error(
                *span,
                "this middleware runs neither for HTTP (`http = false`) nor for upgrades (`upgrade = false`); remove one of the two",
            );
        }
        options
    }

    /// Reads one `key = value`.
    fn read(&mut self, cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, off: &mut Vec<Span>) -> syn::Result<()> {
        let key = key_name(&meta.path);
        if !KEYS.iter().any(|known| meta.path.is_ident(known)) {
            let hint = did_you_mean(&key, &KEYS);
            cx.error_spanned_by(
                &meta.path,
                format!("unknown option `{key}`; {hint}`#[primus::middleware(..)]` accepts `name = \"...\"`, `http = bool`, `upgrade = bool`, `order = <integer>`"),
            );
            return skip_value(meta);
        }
        let Ok(value) = meta.value() else {
            cx.error_spanned_by(&meta.path, format!("write `{key} = value`"));
            return skip_value(meta);
        };
        let parsed = match key.as_str() {
            "name" => value.parse::<LitStr>().map(|name| self.name = Some(name)),
            "http" | "upgrade" => value.parse::<LitBool>().map(|flag| {
                if !flag.value {
                    off.push(flag.span());
                }
                if key == "http" {
                    self.http = flag.value;
                } else {
                    self.upgrade = flag.value;
                }
            }),
            _ => value
                .parse::<LitInt>()
                .and_then(|order| order.base10_parse())
                .map(|order| self.order = order),
        };
        if let Err(error) = parsed {
            let expected = match key.as_str() {
                "name" => "a string, e.g. `name = \"rate-limit\"`",
                "http" | "upgrade" => "`true` or `false`",
                _ => "an integer that fits in an `i32`, e.g. `order = 10`",
            };
            cx.error(error.span(), format!("`{key}` takes {expected}"));
            return skip_to_comma(value);
        }
        Ok(())
    }
}

impl Middleware {
    fn parse(cx: &mut Ctxt, args: TokenStream, mut function: ItemFn) -> Option<Middleware> {
        let options = Options::parse(cx, args);
        let krate = take_crate_option(cx, &mut function.attrs, ItemKind::Function);
        let signature = &function.sig;
        if signature.asyncness.is_none() {
            cx.error(
                signature.fn_token.span,
                format!("middleware must be `async fn`: write `async fn` here ({SHAPE})"),
            );
        }
        let argument = match signature.inputs.iter().collect::<Vec<_>>().as_slice() {
            [FnArg::Typed(argument)] => Some((*argument.ty).clone()),
            [] => {
                cx.error(
                    signature.paren_token.span.join(),
                    format!("this middleware takes no request: {SHAPE}"),
                );
                None
            }
            [_, extra, ..] => {
                cx.error(
                    extra.span(),
                    format!("a middleware takes exactly one argument: {SHAPE}"),
                );
                None
            }
            [FnArg::Receiver(receiver)] => {
                cx.error(
                    receiver.span(),
                    format!("a middleware is a free function: {SHAPE}"),
                );
                None
            }
        };
        Some(Middleware {
            glue: Glue::resolve(Runtime::Primus, krate),
            options,
            argument: argument?,
            function,
        })
    }

    fn generate(&self) -> TokenStream {
        let Middleware {
            glue,
            options,
            function,
            argument,
        } = self;
        let name = &function.sig.ident;
        let name_text = options
            .name
            .as_ref()
            .map_or_else(|| name.to_string(), LitStr::value);
        let (http, upgrade, order) = (options.http, options.upgrade, options.order);
        // Spanned on the argument type: a wrong type is reported there. The
        // request's own type is never named: `MiddlewareFnBox::new` gives it.
        let convert = quote_spanned! {argument.span()=>
            <#argument as __primus::MiddlewareArgument>::from_request
        };
        // Spanned on the function name: a wrong return type is reported there.
        let make = quote_spanned! {name.span()=>
            || __primus::MiddlewareFnBox::new(|request| #name(#convert(request)))
        };
        let import = glue.import();
        quote! {
            #function

            #[doc(hidden)]
            const _: () = {
                #import

                __primus::inventory::submit! {
                    __primus::MiddlewareRegistration {
                        name: #name_text,
                        runs: __primus::Runs { http: #http, upgrade: #upgrade },
                        order: #order,
                        make: #make,
                    }
                }
            };
        }
    }
}
