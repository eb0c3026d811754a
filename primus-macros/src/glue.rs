//! Where generated code finds the runtime.
//!
//! Everything the macros emit is reached through one hidden module of the
//! runtime crate, `<crate>::__private`: the runtime's items, and the crates it
//! depends on (`serde`, `inventory`), so that a user crate needs neither in
//! its own `Cargo.toml`. Only `::core` and `::std` are named directly (the
//! runtime needs `std`, and neither can be renamed).
//!
//! The crate path is, in this order:
//! 1. the item's `#[primus(crate = "path")]` (or `crate = path`), as written;
//! 2. the name the user's `Cargo.toml` gives the runtime, read with
//!    `proc-macro-crate` (`realtime = { package = "primus", .. }` gives
//!    `::realtime`). For primus, a crate that depends only on `primus-client`
//!    gets primus through the client's re-export (`::primus_client::primus`);
//! 3. `::primus` or `::primus_client` when the manifest cannot be read.
//!
//! Inside the `primus` package itself (its doctests and examples) the path is
//! `::primus`; the library itself does not use its own macros.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use proc_macro_crate::FoundCrate;
use quote::{quote, ToTokens};
use syn::{Ident, Path};

/// The runtime crate a macro generates code for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Runtime {
    /// `primus`: events, server handlers, middleware, plugins.
    Primus,
    /// `primus-client`: client handlers.
    Client,
}

impl Runtime {
    /// The path used when nothing better is known.
    fn fallback(self) -> Path {
        match self {
            Runtime::Primus => absolute(&["primus"]),
            Runtime::Client => absolute(&["primus_client"]),
        }
    }
}

/// The runtime's glue module, `<crate>::__private`.
///
/// Generated code imports it once per anonymous `const _: () = { .. }` block
/// ([`Glue::import`]) under the name `__primus`, and names items as
/// `__primus::Item` with the span of the user's token the item is about: a
/// wrong crate path is then reported once, on the import, and every other
/// error keeps its span.
pub(crate) struct Glue {
    root: Path,
}

impl Glue {
    /// The glue of `runtime`: `explicit` (from `#[primus(crate = "..")]`)
    /// when given, else what the user's `Cargo.toml` says.
    pub(crate) fn resolve(runtime: Runtime, explicit: Option<Path>) -> Glue {
        let root =
            explicit.unwrap_or_else(|| detect(runtime, |name| proc_macro_crate::crate_name(name).ok()));
        Glue { root }
    }

    /// `use <crate>::__private as __primus;`, at the top of a block.
    pub(crate) fn import(&self) -> TokenStream {
        let root = &self.root;
        quote! {
            #[allow(unused_imports)]
            use #root::__private as __primus;
        }
    }

    /// `<crate>::__private` with every token at `span`, where no import can
    /// be used (the derive attributes on the user's enum): errors the derive
    /// reports then land on `span`.
    pub(crate) fn at(&self, span: Span) -> TokenStream {
        let root = &self.root;
        respan(quote!(#root::__private), span)
    }

    /// The crate path as text, for attributes that take a string
    /// (`#[serde(crate = "..")]`).
    pub(crate) fn serde_path(&self) -> String {
        format!("{}::__private::serde", self.root.to_token_stream())
    }
}

/// `tokens` with every token (groups included) at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// Finds the crate path of `runtime` with `lookup`, which answers how the
/// current package names a package of the given name (`proc-macro-crate`).
fn detect(runtime: Runtime, lookup: impl Fn(&str) -> Option<FoundCrate>) -> Path {
    let named = |found: FoundCrate, itself: &str| match found {
        FoundCrate::Itself => Some(absolute(&[itself])),
        FoundCrate::Name(name) => syn::parse_str::<Ident>(&name)
            .ok()
            .map(|ident| absolute(&[&ident.to_string()])),
    };
    let found = match runtime {
        Runtime::Primus => lookup("primus")
            .and_then(|found| named(found, "primus"))
            .or_else(|| {
                let client = lookup("primus-client").and_then(|found| named(found, "primus_client"))?;
                Some(child(client, "primus"))
            }),
        Runtime::Client => lookup("primus-client").and_then(|found| named(found, "primus_client")),
    };
    found.unwrap_or_else(|| runtime.fallback())
}

/// `::a::b` from `["a", "b"]`.
fn absolute(segments: &[&str]) -> Path {
    let mut path = Path {
        leading_colon: Some(Default::default()),
        segments: Default::default(),
    };
    for segment in segments {
        path.segments.push(Ident::new(segment, Span::call_site()).into());
    }
    path
}

/// `path::name`.
fn child(mut path: Path, name: &str) -> Path {
    path.segments.push(Ident::new(name, Span::call_site()).into());
    path
}

#[cfg(test)]
mod tests {
    use super::{detect, FoundCrate, Glue, Runtime};
    use quote::ToTokens;

    fn text(path: syn::Path) -> String {
        path.to_token_stream().to_string().replace(' ', "")
    }

    /// A manifest that names `primus` and `primus-client` as given.
    fn manifest(primus: Option<&str>, client: Option<&str>) -> impl Fn(&str) -> Option<FoundCrate> {
        let (primus, client) = (primus.map(str::to_owned), client.map(str::to_owned));
        move |name| {
            let found = match name {
                "primus" => primus.clone(),
                "primus-client" => client.clone(),
                _ => None,
            };
            found.map(|name| {
                if name == "self" {
                    FoundCrate::Itself
                } else {
                    FoundCrate::Name(name)
                }
            })
        }
    }

    #[test]
    fn primus_under_its_own_or_a_new_name() {
        assert_eq!(
            text(detect(Runtime::Primus, manifest(Some("primus"), None))),
            "::primus"
        );
        assert_eq!(
            text(detect(Runtime::Primus, manifest(Some("realtime"), None))),
            "::realtime"
        );
        // A direct dependency wins over the client's re-export.
        assert_eq!(
            text(detect(
                Runtime::Primus,
                manifest(Some("realtime"), Some("primus_client"))
            )),
            "::realtime"
        );
        // Doctests and examples of the primus package itself.
        assert_eq!(
            text(detect(Runtime::Primus, manifest(Some("self"), None))),
            "::primus"
        );
    }

    #[test]
    fn primus_through_the_client_when_only_the_client_is_a_dependency() {
        assert_eq!(
            text(detect(Runtime::Primus, manifest(None, Some("primus_client")))),
            "::primus_client::primus"
        );
        assert_eq!(
            text(detect(Runtime::Primus, manifest(None, Some("client")))),
            "::client::primus"
        );
        assert_eq!(
            text(detect(Runtime::Primus, manifest(None, Some("self")))),
            "::primus_client::primus"
        );
    }

    #[test]
    fn client_under_its_own_or_a_new_name() {
        assert_eq!(
            text(detect(Runtime::Client, manifest(None, Some("primus_client")))),
            "::primus_client"
        );
        assert_eq!(
            text(detect(Runtime::Client, manifest(Some("primus"), Some("client")))),
            "::client"
        );
        assert_eq!(
            text(detect(Runtime::Client, manifest(None, Some("self")))),
            "::primus_client"
        );
    }

    #[test]
    fn fallbacks_when_the_manifest_says_nothing() {
        assert_eq!(text(detect(Runtime::Primus, manifest(None, None))), "::primus");
        assert_eq!(
            text(detect(Runtime::Client, manifest(Some("primus"), None))),
            "::primus_client"
        );
        // A name that is not an identifier cannot be used: fall back.
        assert_eq!(
            text(detect(Runtime::Primus, manifest(Some("not an ident"), None))),
            "::primus"
        );
    }

    #[test]
    fn glue_and_serde_paths() {
        let glue = Glue::resolve(Runtime::Primus, Some(syn::parse_quote!(realtime)));
        let text = |tokens: proc_macro2::TokenStream| tokens.to_string().replace(' ', "");
        assert_eq!(
            text(glue.import()),
            "#[allow(unused_imports)]userealtime::__privateas__primus;"
        );
        assert_eq!(
            text(glue.at(proc_macro2::Span::call_site())),
            "realtime::__private"
        );
        assert_eq!(glue.serde_path().replace(' ', ""), "realtime::__private::serde");
    }

    /// The whole way, through `proc-macro-crate` and real manifests: how a
    /// user's `Cargo.toml` names the runtime decides the path.
    #[test]
    fn resolve_reads_the_users_manifest() {
        let root = std::env::temp_dir().join(format!("primus-macros-glue-{}", std::process::id()));
        let cases = [
            (
                "renamed",
                "realtime = { package = \"primus\", version = \"0.1\" }",
                Runtime::Primus,
                "::realtime",
            ),
            ("plain", "primus = \"0.1\"", Runtime::Primus, "::primus"),
            (
                "client-only",
                "primus-client = \"0.1\"",
                Runtime::Primus,
                "::primus_client::primus",
            ),
            (
                "client-renamed",
                "rt = { package = \"primus-client\", version = \"0.1\" }",
                Runtime::Client,
                "::rt",
            ),
            ("neither", "", Runtime::Primus, "::primus"),
        ];
        let previous = std::env::var_os("CARGO_MANIFEST_DIR");
        for (name, dependencies, runtime, expected) in cases {
            let dir = root.join(name);
            std::fs::create_dir_all(&dir).expect("temporary directory");
            let manifest = format!(
                "[package]\nname = \"user-app\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\n{dependencies}\n"
            );
            std::fs::write(dir.join("Cargo.toml"), manifest).expect("write the manifest");
            // Only this test reads the variable (the others give the path).
            std::env::set_var("CARGO_MANIFEST_DIR", &dir);
            let glue = Glue::resolve(runtime, None);
            let path = glue
                .at(proc_macro2::Span::call_site())
                .to_string()
                .replace(' ', "");
            assert_eq!(path, format!("{expected}::__private"), "{name}");
        }
        match previous {
            Some(value) => std::env::set_var("CARGO_MANIFEST_DIR", value),
            None => std::env::remove_var("CARGO_MANIFEST_DIR"),
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
