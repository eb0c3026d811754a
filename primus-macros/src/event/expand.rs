//! Code generation for `#[primus::event]`.

use super::model::{EventEnum, EventVariant, Shape};
use crate::case::snake_case;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

pub(crate) fn generate(model: &EventEnum) -> TokenStream {
    let glue = &model.glue;
    let item = &model.item;
    let ident = &item.ident;
    let vis = &item.vis;
    let (impl_generics, type_generics, where_clause) = item.generics.split_for_impl();
    let type_name = ident.to_string();

    let variants: Vec<_> = item
        .variants
        .iter()
        .zip(&model.variants)
        .map(|(syntax, event)| {
            let wire = &event.wire_name;
            let attrs = &syntax.attrs;
            let name = &syntax.ident;
            let fields = &syntax.fields;
            let rename = quote_spanned!(name.span()=> #[serde(rename = #wire)]);
            quote!(#(#attrs)* #rename #name #fields)
        })
        .collect();
    let enum_attrs = &item.attrs;
    let enum_token = &item.enum_token;
    let generics = &item.generics;
    // The body keeps the user's braces, so that the enum's span (e.g. in
    // "variant `X` not found here") is the user's enum, not the attribute.
    let mut body = TokenStream::new();
    item.brace_token
        .surround(&mut body, |tokens| tokens.extend(quote!(#(#variants,)*)));

    let infos = model.variants.iter().map(|v| {
        let name = &v.wire_name;
        let variant = v.ident.to_string();
        let payload = payload_type(model, v).to_token_stream().to_string();
        let reply = match &v.reply {
            Some(ty) => {
                let text = ty.to_token_stream().to_string();
                quote!(::core::option::Option::Some(#text))
            }
            None => quote!(::core::option::Option::None),
        };
        quote!(__primus::EventInfo { name: #name, variant: #variant, payload: #payload, reply: #reply })
    });
    let name_arms = model.variants.iter().map(|v| {
        let variant = &v.ident;
        let wire = &v.wire_name;
        quote!(Self::#variant { .. } => #wire)
    });

    let payload_structs = model.variants.iter().filter_map(|v| payload_struct(model, v));
    let variant_impls = model.variants.iter().map(|v| variant_impl(model, v));
    let constructors: Vec<_> = model
        .variants
        .iter()
        .filter_map(|v| request_constructor(model, v))
        .collect();
    let event_bounds = event_where_clause(model);
    let constructors = (!constructors.is_empty()).then(|| {
        quote! {
            impl #impl_generics #ident #type_generics #event_bounds {
                #(#constructors)*
            }
        }
    });
    let registration = item.generics.params.is_empty().then(|| {
        let typescript = typescript_fn(model);
        quote! {
            #typescript

            __primus::inventory::submit! {
                __primus::EventRegistration {
                    type_name: #type_name,
                    module: ::core::module_path!(),
                    events: <#ident as __primus::Event>::EVENTS,
                    typescript: __primus_typescript,
                }
            }
        }
    });
    let event_impl = quote! {
        impl #impl_generics __primus::Event for #ident #type_generics #event_bounds {
            const TYPE_NAME: &'static str = #type_name;
            const EVENTS: &'static [__primus::EventInfo] = &[#(#infos),*];

            fn event_name(&self) -> &'static str {
                match self {
                    #(#name_arms,)*
                }
            }
        }
    };

    // `Deserialize` first: when a field's type implements neither, its error
    // is reported first, on the field's type. The derives are spanned on the
    // enum's name: errors serde reports on its own generated code (e.g. a
    // newtype field that is not `Serialize`) point there, not at the attribute.
    let serde_path = glue.serde_path();
    let glue_at_name = glue.at(ident.span());
    // `remote = "Self"`: the derives give inherent `serialize` and
    // `deserialize` functions (the wire shape above); the trait impls
    // (`positional_impls`) call them, or write the positional form.
    let derives = quote_spanned! {ident.span()=>
        #[derive(#glue_at_name::serde::Deserialize, #glue_at_name::serde::Serialize)]
        #[serde(crate = #serde_path, tag = "event", content = "data", remote = "Self")]
    };
    let positional = positional_impls(model);
    let import = glue.import();

    quote! {
        #derives
        #(#enum_attrs)*
        #vis #enum_token #ident #generics #where_clause #body

        #(#payload_structs)*

        // Everything that names the runtime, in one block that imports it.
        const _: () = {
            #import

            #constructors

            #event_impl

            #positional

            #(#variant_impls)*

            #registration
        };
    }
}

/// `fn __primus_typescript(..) -> Vec<EventTypes>`: the TypeScript of each
/// event's payload (and reply), in declaration order. Types that implement
/// `ts_rs::TS` are mapped by it; others become `unknown` (autoref probe).
fn typescript_fn(model: &EventEnum) -> TokenStream {
    let probe = |ty: &dyn ToTokens| quote!((&&__primus::TsProbe::<#ty>::new()).describe(__collector));
    let entries = model.variants.iter().map(|variant| {
        let payload = match &variant.shape {
            Shape::Unit => quote!(::std::string::String::from("undefined")),
            Shape::Tuple(types) if types.len() == 1 => probe(&types[0]),
            Shape::Tuple(types) => {
                let parts = types.iter().map(|ty| probe(ty));
                quote!(::std::format!("[{}]", [#(#parts),*].join(", ")))
            }
            Shape::Struct(fields) => {
                let parts = fields.iter().map(|(name, ty, _)| {
                    let key = name.to_string().trim_start_matches("r#").to_owned();
                    let value = probe(ty);
                    quote!(::std::format!("{}: {}", #key, #value))
                });
                quote!(::std::format!("{{ {} }}", [#(#parts),*].join(", ")))
            }
        };
        let reply = match &variant.reply {
            Some(ty) => {
                let reply = probe(ty);
                quote!(::core::option::Option::Some(#reply))
            }
            None => quote!(::core::option::Option::None),
        };
        quote!(__primus::EventTypes { payload: #payload, reply: #reply })
    });
    quote! {
        fn __primus_typescript(
            __collector: &mut __primus::TsCollector,
        ) -> ::std::vec::Vec<__primus::EventTypes> {
            #[allow(unused_imports)]
            use __primus::{TsProbeTyped as _, TsProbeUntyped as _};
            ::std::vec![#(#entries),*]
        }
    }
}

/// `Serialize` and `Deserialize` for the enum: the derived wire shape
/// (`{"event":…,"data":…}`), or, while a parser that is not
/// self-describing works, the positional form (`primus::event::positional`):
/// the marker, `0`, the event name, then each field in order. An enum with
/// serde attributes on variants or fields (`skip`, `with`, `default`, …)
/// has no positional form (those attributes would not be honoured there):
/// encoding or decoding it with such a parser is an error that says so.
fn positional_impls(model: &EventEnum) -> TokenStream {
    let ident = &model.item.ident;
    let (impl_generics, type_generics, _) = model.item.generics.split_for_impl();
    let bounds = event_where_clause(model);
    let mut with_de = model.item.generics.clone();
    with_de.params.insert(0, syn::parse_quote!('__de));
    let (de_impl_generics, _, _) = with_de.split_for_impl();
    let is_serde = |attr: &syn::Attribute| attr.path().is_ident("serde");
    let serde_attributes = model.item.variants.iter().any(|variant| {
        variant.attrs.iter().any(is_serde)
            || variant
                .fields
                .iter()
                .any(|field| field.attrs.iter().any(is_serde))
    });
    let unsupported = format!(
        "`{ident}` has serde attributes on its variants or fields, which the positional form of typed events (bincode) cannot honour; use a self-describing parser (JSON, MessagePack) for it"
    );
    // Fields are bound by position (`__primus_field0`…), whatever their
    // names, so no field name can meet a local of this code.
    let bindings = |count: usize, spans: &mut dyn Iterator<Item = proc_macro2::Span>| -> Vec<syn::Ident> {
        (0..count)
            .map(|i| {
                format_ident!(
                    "__primus_field{}",
                    i,
                    span = spans.next().unwrap_or_else(proc_macro2::Span::call_site)
                )
            })
            .collect()
    };
    let serialize_arms = model.variants.iter().map(|v| {
        let name = &v.ident;
        let wire = &v.wire_name;
        let (pattern, fields): (TokenStream, Vec<(syn::Ident, proc_macro2::Span)>) = match &v.shape {
            Shape::Unit => (quote!(Self::#name), Vec::new()),
            Shape::Tuple(types) => {
                let fields = bindings(types.len(), &mut types.iter().map(|t| t.span()));
                let pattern = quote!(Self::#name(#(#fields),*));
                (pattern, fields.into_iter().zip(types.iter().map(|t| t.span())).collect())
            }
            Shape::Struct(named) => {
                let fields = bindings(named.len(), &mut named.iter().map(|(_, t, _)| t.span()));
                let names = named.iter().map(|(n, _, _)| n);
                let pattern = quote!(Self::#name { #(#names: #fields),* });
                (pattern, fields.into_iter().zip(named.iter().map(|(_, t, _)| t.span())).collect())
            }
        };
        // Each field is its own element, spanned on its type: a field that
        // is not `Serialize` is reported there.
        let count = 4 + fields.len();
        let elements = fields.iter().map(|(field, span)| {
            quote_spanned!(*span=> __primus::serde::ser::SerializeTuple::serialize_element(&mut __tuple, #field)?;)
        });
        quote! {
            #pattern => {
                let mut __tuple = __primus::serde::Serializer::serialize_tuple(__serializer, #count)?;
                __primus::serde::ser::SerializeTuple::serialize_element(&mut __tuple, &__primus::positional::MARKER)?;
                __primus::serde::ser::SerializeTuple::serialize_element(&mut __tuple, &__primus::positional::EVENT)?;
                __primus::serde::ser::SerializeTuple::serialize_element(&mut __tuple, #wire)?;
                #(#elements)*
                __primus::serde::ser::SerializeTuple::end(__tuple)
            }
        }
    });
    let deserialize_arms = model.variants.iter().map(|v| {
        let name = &v.ident;
        let wire = &v.wire_name;
        let spans: Vec<proc_macro2::Span> = match &v.shape {
            Shape::Unit => Vec::new(),
            Shape::Tuple(types) => types.iter().map(|t| t.span()).collect(),
            Shape::Struct(named) => named.iter().map(|(_, t, _)| t.span()).collect(),
        };
        let fields = bindings(spans.len(), &mut spans.iter().copied());
        // Read by position, each spanned on its field's type; the types
        // come from the constructor below (a field may name `Self`).
        let reads = fields.iter().zip(&spans).enumerate().map(|(i, (field, span))| {
            let index = 3 + i;
            quote_spanned!(*span=> let #field = __primus::positional::next(&mut __seq, #index)?;)
        });
        let value = match &v.shape {
            Shape::Unit => quote!(#ident::#name),
            Shape::Tuple(_) => quote!(#ident::#name(#(#fields),*)),
            Shape::Struct(named) => {
                let names = named.iter().map(|(n, _, _)| n);
                quote!(#ident::#name { #(#names: #fields),* })
            }
        };
        quote! {
            #wire => {
                #(#reads)*
                ::core::result::Result::Ok(#value)
            }
        }
    });
    let wires: Vec<_> = model.variants.iter().map(|v| &v.wire_name).collect();
    let expecting = format!("a `{ident}` event");
    let serialize_positional = if serde_attributes {
        quote!(::core::result::Result::Err(<__S::Error as __primus::serde::ser::Error>::custom(#unsupported)))
    } else {
        quote!(match self { #(#serialize_arms)* })
    };
    let deserialize_positional = if serde_attributes {
        quote!(::core::result::Result::Err(<__D::Error as __primus::serde::de::Error>::custom(#unsupported)))
    } else {
        quote! {
            struct __Positional #impl_generics (::core::marker::PhantomData<fn() -> #ident #type_generics>) #bounds;
            impl #de_impl_generics __primus::serde::de::Visitor<'__de> for __Positional #type_generics #bounds {
                type Value = #ident #type_generics;

                fn expecting(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    __formatter.write_str(#expecting)
                }

                fn visit_seq<__A: __primus::serde::de::SeqAccess<'__de>>(
                    self,
                    mut __seq: __A,
                ) -> ::core::result::Result<Self::Value, __A::Error> {
                    let __name = __primus::positional::event_name(&mut __seq)?;
                    match __name.as_str() {
                        #(#deserialize_arms)*
                        __other => ::core::result::Result::Err(
                            <__A::Error as __primus::serde::de::Error>::unknown_variant(__other, &[#(#wires),*]),
                        ),
                    }
                }
            }
            __deserializer.deserialize_tuple(
                __primus::positional::MAX_FIELDS,
                __Positional(::core::marker::PhantomData),
            )
        }
    };
    quote! {
        impl #impl_generics __primus::serde::Serialize for #ident #type_generics #bounds {
            fn serialize<__S: __primus::serde::Serializer>(
                &self,
                __serializer: __S,
            ) -> ::core::result::Result<__S::Ok, __S::Error> {
                if !__primus::positional::active() {
                    return <#ident #type_generics>::serialize(self, __serializer);
                }
                #serialize_positional
            }
        }

        impl #de_impl_generics __primus::serde::Deserialize<'__de> for #ident #type_generics #bounds {
            fn deserialize<__D: __primus::serde::Deserializer<'__de>>(
                __deserializer: __D,
            ) -> ::core::result::Result<Self, __D::Error> {
                if !__primus::positional::active() {
                    return <#ident #type_generics>::deserialize(__deserializer);
                }
                #deserialize_positional
            }
        }
    }
}

/// `T: Serialize + DeserializeOwned + Send + Sync + 'static` for every type
/// parameter, plus the enum's own where clause.
fn event_where_clause(model: &EventEnum) -> TokenStream {
    let existing = model.item.generics.where_clause.as_ref().map(|w| {
        let predicates = &w.predicates;
        quote!(#predicates,)
    });
    let bounds = model.item.generics.type_params().map(|param| {
        let ident = &param.ident;
        quote! {
            #ident: __primus::serde::Serialize
                + __primus::serde::de::DeserializeOwned
                + ::core::marker::Send + ::core::marker::Sync + 'static,
        }
    });
    quote!(where #existing #(#bounds)*)
}

fn payload_struct_ident(model: &EventEnum, variant: &EventVariant) -> syn::Ident {
    format_ident!("{}{}", model.item.ident, variant.ident)
}

fn payload_type(model: &EventEnum, variant: &EventVariant) -> TokenStream {
    match &variant.shape {
        Shape::Unit => quote!(()),
        Shape::Tuple(types) if types.len() == 1 => types[0].to_token_stream(),
        Shape::Tuple(types) => quote!((#(#types,)*)),
        Shape::Struct(_) => {
            let ident = payload_struct_ident(model, variant);
            let (_, type_generics, _) = model.item.generics.split_for_impl();
            quote!(#ident #type_generics)
        }
    }
}

/// For a struct variant: `pub struct ClientEventJoin { pub room: String }`.
fn payload_struct(model: &EventEnum, variant: &EventVariant) -> Option<TokenStream> {
    let Shape::Struct(fields) = &variant.shape else {
        return None;
    };
    let ident = payload_struct_ident(model, variant);
    let vis = &model.item.vis;
    let generics = &model.item.generics;
    let where_clause = &generics.where_clause;
    let doc = format!(
        "The payload of [`{0}::{1}`], for handlers (`Payload<{2}>`).",
        model.item.ident, variant.ident, ident
    );
    let fields = fields.iter().map(|(name, ty, _)| quote!(#vis #name: #ty)); // variant fields take the enum's visibility
    Some(quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        #vis struct #ident #generics #where_clause {
            #(#fields,)*
        }
    })
}

fn variant_impl(model: &EventEnum, variant: &EventVariant) -> TokenStream {
    let ident = &model.item.ident;
    let (impl_generics, type_generics, _) = model.item.generics.split_for_impl();
    let bounds = event_where_clause(model);
    let name = &variant.ident;
    let name_text = name.to_string();
    let wire = &variant.wire_name;
    let payload = payload_type(model, variant);
    let (reply, is_request) = match &variant.reply {
        Some(ty) => (ty.to_token_stream(), true),
        None => (quote!(__primus::NoReply), false),
    };
    let extract = match &variant.shape {
        Shape::Unit => quote!(Self::#name => ::core::option::Option::Some(())),
        Shape::Tuple(types) => {
            let bindings: Vec<_> = (0..types.len()).map(|i| format_ident!("__field{}", i)).collect();
            let value = if types.len() == 1 {
                quote!(#(#bindings)*)
            } else {
                quote!((#(#bindings,)*))
            };
            quote!(Self::#name(#(#bindings),*) => ::core::option::Option::Some(#value))
        }
        Shape::Struct(fields) => {
            let struct_ident = payload_struct_ident(model, variant);
            let names: Vec<_> = fields.iter().map(|(n, _, _)| n).collect();
            quote!(Self::#name { #(#names),* } => ::core::option::Option::Some(#struct_ident { #(#names),* }))
        }
    };
    quote! {
        impl #impl_generics __primus::Variant<{ __primus::variant_id(#name_text) }>
            for #ident #type_generics #bounds
        {
            type Payload = #payload;
            type Reply = #reply;
            const NAME: &'static str = #wire;
            const IS_REQUEST: bool = #is_request;

            #[allow(unreachable_patterns)]
            fn into_payload(self) -> ::core::option::Option<Self::Payload> {
                match self {
                    #extract,
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}

/// For a request variant: `pub fn list_rooms(..) -> Request<Enum, Reply>`.
fn request_constructor(model: &EventEnum, variant: &EventVariant) -> Option<TokenStream> {
    let reply = variant.reply.as_ref()?;
    let ident = &model.item.ident;
    let (_, type_generics, _) = model.item.generics.split_for_impl();
    let vis = &model.item.vis;
    let name = &variant.ident;
    let function = format_ident!("{}", snake_case(&name.to_string()));
    let doc = format!(
        "A `{}` request (wire name `{}`); the reply is a `{}`.",
        name,
        variant.wire_name,
        reply.to_token_stream()
    );
    let (params, value) = match &variant.shape {
        Shape::Unit => (quote!(), quote!(Self::#name)),
        Shape::Tuple(types) => {
            let bindings: Vec<_> = (0..types.len()).map(|i| format_ident!("field{}", i)).collect();
            (
                quote!(#(#bindings: #types),*),
                quote!(Self::#name(#(#bindings),*)),
            )
        }
        Shape::Struct(fields) => {
            let names: Vec<_> = fields.iter().map(|(n, _, _)| n).collect();
            let types = fields.iter().map(|(_, t, _)| t);
            (quote!(#(#names: #types),*), quote!(Self::#name { #(#names),* }))
        }
    };
    Some(quote! {
        #[doc = #doc]
        #vis fn #function(#params) -> __primus::Request<#ident #type_generics, #reply> {
            __primus::Request::new(#value)
        }
    })
}
