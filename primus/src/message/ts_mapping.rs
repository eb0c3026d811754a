//! The TypeScript of payload types: what generated code calls to describe
//! each event's payload and reply with [`ts_rs`], collecting the
//! declarations they need. The typings themselves are written by
//! [`crate::typescript`], from the registry.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use ts_rs::{Config, TypeVisitor, TS};

/// The TypeScript side of one event (made by generated code).
#[derive(Debug, Clone)]
pub struct EventTypes {
    /// The payload type.
    pub payload: String,
    /// The reply type of a request.
    pub reply: Option<String>,
}

/// Collects TypeScript for payload types and the declarations they need.
pub struct Collector {
    config: Config,
    declarations: BTreeMap<String, String>,
    untyped: BTreeSet<String>,
}

impl Collector {
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn new() -> Collector {
        Collector {
            config: Config::new().with_large_int("number"),
            declarations: BTreeMap::new(),
            untyped: BTreeSet::new(),
        }
    }

    /// The TypeScript of `T`: its name for a declared type (struct, enum),
    /// recording the declaration and those it refers to; the inline type
    /// otherwise (`string`, `Array<number>`, …).
    pub fn typed<T: TS + 'static + ?Sized>(&mut self) -> String {
        if T::output_path().is_some() {
            Declarations(self).visit::<T>();
            return T::name(&self.config);
        }
        T::visit_dependencies(&mut Declarations(self));
        T::inline(&self.config)
    }

    /// The declarations collected so far, by name.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn declarations(&self) -> impl Iterator<Item = &String> {
        self.declarations.values()
    }

    /// The Rust types that were typed `unknown`, sorted.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn untyped_types(&self) -> &BTreeSet<String> {
        &self.untyped
    }

    /// `unknown`, for a payload type that does not implement `ts_rs::TS`.
    pub fn untyped(&mut self, rust_type: &str) -> String {
        self.untyped.insert(rust_type.to_owned());
        "unknown".to_owned()
    }
}

struct Declarations<'a>(&'a mut Collector);

impl TypeVisitor for Declarations<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if T::output_path().is_none() {
            // Built-in types have no declaration.
            T::visit_dependencies(self);
            return;
        }
        let name = T::ident(&self.0.config);
        if self.0.declarations.contains_key(&name) {
            return;
        }
        let declaration = T::decl(&self.0.config);
        self.0.declarations.insert(name, declaration);
        T::visit_dependencies(self);
    }
}

/// Picks `ts_rs` when the type implements it (autoref specialization; used
/// by generated code on concrete types).
#[doc(hidden)]
pub struct Probe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> Probe<T> {
    #[doc(hidden)]
    pub fn new() -> Probe<T> {
        Probe(PhantomData)
    }
}

impl<T: ?Sized> Default for Probe<T> {
    fn default() -> Probe<T> {
        Probe::new()
    }
}

#[doc(hidden)]
pub trait ProbeTyped {
    fn describe(&self, collector: &mut Collector) -> String;
}

impl<T: TS + 'static + ?Sized> ProbeTyped for &Probe<T> {
    fn describe(&self, collector: &mut Collector) -> String {
        collector.typed::<T>()
    }
}

#[doc(hidden)]
pub trait ProbeUntyped {
    fn describe(&self, collector: &mut Collector) -> String;
}

impl<T: ?Sized> ProbeUntyped for Probe<T> {
    fn describe(&self, collector: &mut Collector) -> String {
        collector.untyped(std::any::type_name::<T>())
    }
}
