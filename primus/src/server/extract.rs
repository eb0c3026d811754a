//! The extractors that need the server: [`Server`] and [`State<T>`].

use super::Server;
use crate::pipeline::extract::{FromHandlerContext, HandlerContext, Rejection, State, StateMapView};

impl<P> FromHandlerContext<P> for Server {
    fn from_context(context: &mut HandlerContext<P>) -> Result<Server, Rejection> {
        Ok(context.spark().server())
    }
}

impl<P, T: Clone + Send + Sync + 'static> FromHandlerContext<P> for State<T> {
    fn from_context(context: &mut HandlerContext<P>) -> Result<State<T>, Rejection> {
        context.spark().server().state::<T>().map(State).ok_or_else(|| {
            Rejection::new(format!(
                "no state of type `{}`: add it with `ServerBuilder::state`",
                std::any::type_name::<T>()
            ))
        })
    }

    fn check(state: &StateMapView<'_>) -> Result<(), String> {
        if state.contains::<T>() {
            Ok(())
        } else {
            Err(format!(
                "a handler takes `State<{0}>` but no state of type `{0}` was added; call `.state(value)` on the builder",
                std::any::type_name::<T>()
            ))
        }
    }
}
