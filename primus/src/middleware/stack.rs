//! The middleware stack: named layers, built-ins first, changed at run time.

use super::{HttpRequest, IntoOutcome, MiddlewareFn, MiddlewareFnBox, Runs};
use crate::lock;
use std::future::Future;
use std::sync::{Arc, RwLock};

/// The built-in layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    Origin,
    Cors,
    ClientLibrary,
    Spec,
    XssProtection,
    NoCache,
    Authorization,
}

#[derive(Clone)]
pub(crate) enum Kind {
    Builtin(Builtin),
    User(MiddlewareFn),
}

/// One layer of the stack.
#[derive(Clone)]
pub(crate) struct Layer {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) runs: Runs,
    pub(crate) enabled: bool,
}

impl Layer {
    fn builtin(name: &str, builtin: Builtin, upgrade: bool) -> Layer {
        Layer {
            name: name.to_owned(),
            kind: Kind::Builtin(builtin),
            runs: Runs { http: true, upgrade },
            enabled: true,
        }
    }

    pub(crate) fn user<F, Fut, O>(name: &str, runs: Runs, function: F) -> Layer
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoOutcome,
    {
        Layer::boxed(name, runs, MiddlewareFnBox::new(function))
    }

    /// A layer from an already boxed function (a registered middleware).
    pub(crate) fn boxed(name: &str, runs: Runs, function: MiddlewareFnBox) -> Layer {
        Layer {
            name: name.to_owned(),
            kind: Kind::User(function.0),
            runs,
            enabled: true,
        }
    }
}

/// The default stack: Primus' built-ins in Primus' order.
pub(crate) fn builtins() -> Vec<Layer> {
    vec![
        Layer {
            name: "origin".to_owned(),
            kind: Kind::Builtin(Builtin::Origin),
            runs: Runs {
                http: false,
                upgrade: true,
            },
            enabled: true,
        },
        Layer::builtin("cors", Builtin::Cors, false),
        Layer::builtin("primus.js", Builtin::ClientLibrary, false),
        Layer::builtin("spec", Builtin::Spec, false),
        Layer::builtin("x-xss", Builtin::XssProtection, false),
        Layer::builtin("no-cache", Builtin::NoCache, false),
        Layer::builtin("authorization", Builtin::Authorization, true),
    ]
}

/// Why a stack change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MiddlewareError {
    /// A layer with this name exists.
    #[error("a middleware named `{0}` is already in the stack; remove it first to replace it")]
    Duplicate(String),
    /// No layer has this name.
    #[error("no middleware named `{0}`")]
    Unknown(String),
}

/// The middleware stack of a running server (from [`Server::middleware`](crate::Server::middleware)).
#[derive(Clone)]
pub struct Stack {
    pub(crate) layers: Arc<RwLock<Arc<Vec<Layer>>>>,
}

impl Stack {
    pub(crate) fn new(layers: Vec<Layer>) -> Stack {
        Stack {
            layers: Arc::new(RwLock::new(Arc::new(layers))),
        }
    }

    /// A snapshot for one request.
    pub(crate) fn snapshot(&self) -> Arc<Vec<Layer>> {
        lock::read(&self.layers).clone()
    }

    fn change<T>(&self, edit: impl FnOnce(&mut Vec<Layer>) -> T) -> T {
        let mut guard = lock::write(&self.layers);
        let mut next = Vec::clone(&guard);
        let result = edit(&mut next);
        *guard = Arc::new(next);
        result
    }

    /// Appends a layer (Primus' `primus.use(name, fn)`).
    pub fn use_layer<F, Fut, O>(&self, name: &str, runs: Runs, function: F) -> Result<(), MiddlewareError>
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoOutcome,
    {
        self.insert_layer(usize::MAX, Layer::user(name, runs, function))
    }

    /// Inserts a layer at `index` (Primus' `primus.use(name, fn, options, index)`);
    /// an index past the end appends.
    pub fn insert<F, Fut, O>(
        &self,
        index: usize,
        name: &str,
        runs: Runs,
        function: F,
    ) -> Result<(), MiddlewareError>
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoOutcome,
    {
        self.insert_layer(index, Layer::user(name, runs, function))
    }

    pub(crate) fn insert_layer(&self, index: usize, layer: Layer) -> Result<(), MiddlewareError> {
        self.change(|layers| {
            if layers.iter().any(|l| l.name == layer.name) {
                return Err(MiddlewareError::Duplicate(layer.name));
            }
            let index = index.min(layers.len());
            layers.insert(index, layer);
            Ok(())
        })
    }

    /// Removes a layer (built-ins too).
    pub fn remove(&self, name: &str) -> Result<(), MiddlewareError> {
        self.change(|layers| {
            let before = layers.len();
            layers.retain(|l| l.name != name);
            match layers.len() == before {
                true => Err(MiddlewareError::Unknown(name.to_owned())),
                false => Ok(()),
            }
        })
    }

    /// Skips a layer until it is enabled again.
    pub fn disable(&self, name: &str) -> Result<(), MiddlewareError> {
        self.set_enabled(name, false)
    }

    /// Runs a disabled layer again.
    pub fn enable(&self, name: &str) -> Result<(), MiddlewareError> {
        self.set_enabled(name, true)
    }

    fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), MiddlewareError> {
        self.change(|layers| match layers.iter_mut().find(|l| l.name == name) {
            Some(layer) => {
                layer.enabled = enabled;
                Ok(())
            }
            None => Err(MiddlewareError::Unknown(name.to_owned())),
        })
    }

    /// The layer names, in order (disabled ones included).
    pub fn names(&self) -> Vec<String> {
        self.snapshot().iter().map(|l| l.name.clone()).collect()
    }

    /// True when the layer exists and is enabled.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.snapshot().iter().any(|l| l.name == name && l.enabled)
    }
}
