//! A generic event enum: bounds are added for its type parameters, and a
//! handler names it with its arguments or through a type alias.

extern crate realtime as primus;

use primus::{Payload, Spark};

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
pub enum Wrapper<T> {
    Item(T),
    Empty,
}

pub type Numbers = Wrapper<u32>;

#[primus::on(Numbers::Item)]
async fn item(spark: Spark, Payload(value): Payload<u32>) {
    let _ = spark.write(&Wrapper::Item(value + 1));
}

mod by_arguments {
    use primus::{Payload, Server};

    #[primus::on(super::Wrapper<String>::Item)]
    async fn text(server: Server, Payload(text): Payload<String>) {
        let _ = server.write(&super::Wrapper::Item(text));
    }

    #[primus::on(super::Wrapper::<u8>::Empty)]
    async fn empty(_payload: Payload<()>) {}
}

fn main() {
    use primus::Event;

    let wire = serde_json::to_value(Wrapper::Item("x".to_owned())).unwrap();
    assert_eq!(wire, serde_json::json!({ "event": "item", "data": "x" }));
    let back: Wrapper<String> = serde_json::from_value(wire).unwrap();
    assert_eq!(back, Wrapper::Item("x".to_owned()));
    assert_eq!(Wrapper::<u8>::Empty.event_name(), "empty");
}
