extern crate realtime as primus;

#[primus::event]
pub enum ToServer {
    Foo,
    #[primus(rename = "foo")]
    Bar,
}

fn main() {}
