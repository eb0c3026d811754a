//! Checks on the expansions themselves: every path they name goes through
//! the glue module, and every mistake of an item is reported.

use crate::on::Side;
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::quote;

/// Crates generated code must reach only through `<crate>::__private`.
const THROUGH_GLUE: [&str; 4] = ["primus", "primus_client", "serde", "inventory"];

/// Paths that may start with `::`: the language's own crates.
const ABSOLUTE: [&str; 2] = ["core", "std"];

/// Keywords after which `::` starts a path.
const KEYWORDS: [&str; 16] = [
    "impl", "for", "as", "dyn", "where", "in", "use", "return", "let", "mut", "ref", "const", "static",
    "type", "pub", "move",
];

/// Every place where `tokens` names a crate other than through the glue.
fn leaks(tokens: TokenStream) -> Vec<String> {
    let mut found = Vec::new();
    scan(tokens, false, &mut found);
    found
}

fn scan(tokens: TokenStream, in_attribute: bool, found: &mut Vec<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        let before = |back: usize| i.checked_sub(back).and_then(|j| tokens.get(j));
        let is_punct = |token: Option<&TokenTree>, ch: char| matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == ch);
        match token {
            TokenTree::Group(group) => {
                let attribute = group.delimiter() == Delimiter::Bracket && is_punct(before(1), '#');
                scan(group.stream(), attribute, found);
            }
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                let after_colons = is_punct(before(1), ':') && is_punct(before(2), ':');
                let after_glue = after_colons
                    && matches!(before(3), Some(TokenTree::Ident(g)) if g == "__private" || g == "__primus");
                // `#[serde(..)]`: the derive's helper attribute, not a path.
                let helper = in_attribute && i == 0 && name == "serde";
                if THROUGH_GLUE.contains(&name.as_str()) && !after_glue && !helper {
                    found.push(format!("`{name}` named directly"));
                }
                // `a::b` continues a path; after a keyword (`impl ::x`) or
                // a punctuation mark, `::b` starts one.
                let continues = matches!(before(3), Some(TokenTree::Ident(previous)) if !KEYWORDS.contains(&previous.to_string().as_str()))
                    || is_punct(before(3), '>');
                let path_start = after_colons && !continues;
                if path_start && !ABSOLUTE.contains(&name.as_str()) {
                    found.push(format!("`::{name}`"));
                }
            }
            _ => {}
        }
    }
}

fn event() -> TokenStream {
    crate::event::expand(
        TokenStream::new(),
        quote! {
            #[primus(crate = "my_root")]
            pub enum ToServer<T> {
                Say(T),
                Join { room: String },
                #[primus(reply = Vec<String>)]
                List,
                Leave,
            }
        },
    )
}

fn handler(side: Side, args: TokenStream, arguments: TokenStream) -> TokenStream {
    let root = match side {
        Side::Server => "my_root",
        Side::Client => "my_client",
    };
    crate::on::expand(
        side,
        args,
        quote! {
            #[primus(crate = #root)]
            async fn say(#arguments) -> Result<(), String> { Ok(()) }
        },
    )
}

#[test]
fn expansions_name_crates_only_through_the_glue() {
    let expansions = [
        ("event", event()),
        (
            "on typed",
            handler(
                Side::Server,
                quote!(ToServer::Say, order = 2),
                quote!(spark: Spark, Payload(text): Payload<String>),
            ),
        ),
        (
            "on connection",
            handler(Side::Server, quote!("connection"), quote!(spark: Spark)),
        ),
        (
            "client on",
            handler(
                Side::Client,
                quote!(ToClient::Said),
                quote!(client: Client, Payload(text): Payload<String>),
            ),
        ),
        (
            "middleware",
            crate::middleware::expand(
                quote!(name = "check"),
                quote! {
                    #[primus(crate = "my_root")]
                    async fn check(request: Request) -> Outcome { Outcome::Continue }
                },
            ),
        ),
        (
            "plugin",
            crate::plugin::expand(
                TokenStream::new(),
                quote! {
                    #[primus(crate = "my_root")]
                    impl Plugin for Audit { fn browser(&self) -> Option<&'static str> { None } }
                },
            ),
        ),
    ];
    for (name, tokens) in expansions {
        let text = tokens.to_string();
        assert!(!text.contains("compile_error"), "{name} failed: {text}");
        assert!(
            text.contains("use my_") && text.contains(":: __private as __primus"),
            "{name} imports no glue: {text}"
        );
        assert_eq!(leaks(tokens), Vec::<String>::new(), "{name}: {text}");
    }
    assert!(event().to_string().contains("\"my_root::__private::serde\""));
}

#[test]
fn every_mistake_of_an_item_is_reported() {
    let count = |tokens: TokenStream| tokens.to_string().matches("compile_error").count();
    let event = crate::event::expand(
        TokenStream::new(),
        quote! {
            #[serde(tag = "t")]
            pub enum ToServer {
                #[primus(rnme = "x")]
                Say(String),
                #[primus(rename = "say")]
                Speak = 1,
            }
        },
    );
    // serde tag, unknown option, discriminant, duplicate wire name.
    assert_eq!(count(event), 4);

    let handler = crate::on::expand(
        Side::Server,
        quote!("connection", ordr = 1, order = "x"),
        quote!(
            fn hello<T>(spark: Spark, Payload(p): Payload<u8>) {}
        ),
    );
    // unknown option, order not an integer, not async, generic, payload.
    assert_eq!(count(handler), 5);
}

#[test]
fn the_scan_sees_leaks() {
    assert_eq!(leaks(quote!(impl ::primus::Plugin for X {})).len(), 2);
    assert_eq!(
        leaks(quote!(
            #[derive(serde::Serialize)]
            struct X;
        ))
        .len(),
        1
    );
    assert!(leaks(quote!(
        #[serde(crate = "x")]
        struct X(::core::marker::PhantomData<x::__private::serde::de::IgnoredAny>);
    ))
    .is_empty());
}
